"""LSTM with a forget gate (Gers et al. 2000), gate order i, f, g, o as in torch and flax.

    i, f, g, o = split(W x_t + R h_{t-1} + b)
    c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g),   h_t = σ(o) ⊙ tanh(c_t)

One bias vector (torch has two: b_ih + b_hh). Initialisation follows flax's
OptimizedLSTMCell (LeCun-normal input kernel, orthogonal recurrent kernel, zero bias), except
the forget-gate bias, which is a config option (+1 by default, Jozefowicz et al. 2015), or the
chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?"):
b_f ~ log U[1, T_max - 1], b_i = -b_f, which spreads the cells' memory time scales up to T_max.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.cell_layer import CellLayer
from seqlab.models.lstm_vjp import lstm_sequence
from seqlab.models.recurrence import DEFAULT_OPTIONS, Cell, Params, ScanOptions
from seqlab.models.sequence import SequenceModel, recurrent, scan_options, with_fields
from seqlab.models.sizing import CELL_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec


def lstm_bias(
    key: jax.Array | None, hidden: int, forget_bias: float, chrono_tmax: int
) -> jax.Array:
    b = jnp.zeros((4 * hidden,))
    if chrono_tmax:
        b_f = jnp.log(jax.random.uniform(key, (hidden,), minval=1.0, maxval=chrono_tmax - 1.0))
        return b.at[:hidden].set(-b_f).at[hidden : 2 * hidden].set(b_f)
    return b.at[hidden : 2 * hidden].set(forget_bias)


def lstm_project(params: Params, x: jax.Array) -> jax.Array:
    return x @ params["w_ih"] + params["b"]


def lstm_recur(params: Params, carry, xp_BG: jax.Array):
    c_BH, h_BH = carry
    gates_BG = xp_BG + h_BH @ params["w_hh"]
    i, f, g, o = jnp.split(gates_BG, 4, axis=-1)
    c_BH = jax.nn.sigmoid(f) * c_BH + jax.nn.sigmoid(i) * jnp.tanh(g)
    h_BH = jax.nn.sigmoid(o) * jnp.tanh(c_BH)
    return (c_BH, h_BH), h_BH


def lstm_initial_carry(params: Params, batch_size: int):
    zeros = jnp.zeros((batch_size, params["w_hh"].shape[0]), params["w_hh"].dtype)
    return zeros, zeros


LSTM_CELL = Cell(lstm_project, lstm_recur, lstm_initial_carry, lstm_sequence)


class LSTMLayer(CellLayer):
    """One LSTM layer: [T, B, D] -> [T, B, H], driven by `scan_cell`."""

    cell = LSTM_CELL

    def __init__(
        self,
        in_features: int,
        hidden: int,
        *,
        rngs: nnx.Rngs,
        forget_bias: float = 1.0,
        chrono_tmax: int = 0,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        self.out_features = hidden
        self.options = options
        self.w_ih = nnx.Param(
            nnx.initializers.lecun_normal()(rngs.params(), (in_features, 4 * hidden))
        )
        self.w_hh = nnx.Param(nnx.initializers.orthogonal()(rngs.params(), (hidden, 4 * hidden)))
        # Only chrono draws a key: the default initialisation keeps the parameter stream as is.
        key = rngs.params() if chrono_tmax else None
        self.b = nnx.Param(lstm_bias(key, hidden, forget_bias, chrono_tmax))


def lstm_layers(cfg, layer: type[LSTMLayer] = LSTMLayer):
    """Layers of `layer` (LSTMLayer or a subclass) from the model config."""

    def direction(in_features: int, rngs: nnx.Rngs) -> LSTMLayer:
        return layer(
            in_features,
            cfg.hidden,
            rngs=rngs,
            forget_bias=cfg.forget_bias,
            chrono_tmax=cfg.chrono_tmax,
            options=scan_options(cfg),
        )

    return recurrent(cfg, direction)


@MODELS.register(
    "lstm",
    "LSTM with forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000)",
    sizes=CELL_SIZES,
    recurrent=True,
    hand_backward=True,
)
def make_lstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, lstm_layers(cfg), rngs=rngs)


@MODELS.register(
    "bilstm",
    "bidirectional LSTM: each layer forward and in reverse, joined by model.merge",
    sizes=CELL_SIZES,
    recurrent=True,
    causal=lambda cfg: False,
    hand_backward=True,
)
def make_bilstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    cfg = with_fields(cfg, bidirectional=True)
    return SequenceModel(cfg, spec, lstm_layers(cfg), rngs=rngs)
