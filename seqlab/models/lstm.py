"""LSTM with a forget gate (Gers et al. 2000), gate order i, f, g, o as in torch and flax.

    i, f, g, o = split(W x_t + R h_{t-1} + b)
    c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g),   h_t = σ(o) ⊙ tanh(c_t)

One bias vector (torch has two: b_ih + b_hh). Initialisation follows flax's
OptimizedLSTMCell (LeCun-normal input kernel, orthogonal recurrent kernel, zero bias), except
the forget-gate bias, which is a config option (+1 by default, Jozefowicz et al. 2015), or the
chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?"):
b_f ~ log U[1, T_max - 1], b_i = -b_f, which spreads the cells' memory time scales up to T_max.

The LSTM of Arjovsky, Shah & Bengio 2016 ("Unitary Evolution Recurrent Neural Networks"; the
authors' models.py, github amarshah/complex_RNN) is this cell with three options:
`model.output_peephole=full`, where the output gate also reads the NEW cell state through a
full matrix V_o [H, H],

    o = σ(õ + c_t V_o)                       (LSTM_OUTPUT_PEEPHOLE_CELL)

`model.init=glorot_uniform` (their initialize_matrix, each gate's matrices with the bound of
one gate; V_o bound sqrt(6/(H+H))) and `model.learn_initial_state=true` (their learned h_0 and
state_0); with `model.embed_dim=0` and the default forget bias 1 it is their model exactly.
With the default init V_o starts at zero: a fresh layer is then `lstm` with the same weights
(and the parameter stream of `lstm`, no key drawn for V_o), as `peephole_lstm`'s diagonal
peepholes start at zero; a random V_o would add noise of the cell state's size to every
output gate from the first step. The output-peephole cell has no hand-written backward.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.cell_layer import INITS, CellLayer, gate_kernel
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


def lstm_output_peephole_recur(params: Params, carry, xp_BG: jax.Array):
    c_BH, h_BH = carry
    gates_BG = xp_BG + h_BH @ params["w_hh"]
    i, f, g, o = jnp.split(gates_BG, 4, axis=-1)
    c_BH = jax.nn.sigmoid(f) * c_BH + jax.nn.sigmoid(i) * jnp.tanh(g)
    h_BH = jax.nn.sigmoid(o + c_BH @ params["v_o"]) * jnp.tanh(c_BH)
    return (c_BH, h_BH), h_BH


LSTM_CELL = Cell(lstm_project, lstm_recur, lstm_initial_carry, lstm_sequence)
LSTM_OUTPUT_PEEPHOLE_CELL = Cell(lstm_project, lstm_output_peephole_recur, lstm_initial_carry)
OUTPUT_PEEPHOLES = ("none", "full")


class LSTMLayer(CellLayer):
    """One LSTM layer: [T, B, D] -> [T, B, H], driven by `scan_cell`; `output_peephole="full"`
    adds V_o and runs LSTM_OUTPUT_PEEPHOLE_CELL."""

    cell = LSTM_CELL

    def __init__(
        self,
        in_features: int,
        hidden: int,
        *,
        rngs: nnx.Rngs,
        forget_bias: float = 1.0,
        chrono_tmax: int = 0,
        init: str = "default",
        output_peephole: str = "none",
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        if output_peephole not in OUTPUT_PEEPHOLES:
            raise ValueError(
                f"model.output_peephole is {output_peephole!r}; valid choices: "
                f"{', '.join(OUTPUT_PEEPHOLES)}"
            )
        self.out_features = hidden
        self.options = options
        lecun, orthogonal = nnx.initializers.lecun_normal(), nnx.initializers.orthogonal()
        self.w_ih = nnx.Param(gate_kernel(init, lecun, rngs.params(), in_features, hidden, 4))
        self.w_hh = nnx.Param(gate_kernel(init, orthogonal, rngs.params(), hidden, hidden, 4))
        if output_peephole == "full":
            self.cell = LSTM_OUTPUT_PEEPHOLE_CELL  # static: the layer's graphdef records it
            zeros = lambda key, shape: jnp.zeros(shape)  # noqa: E731  (see the docstring)
            key = rngs.params() if init != "default" else None
            self.v_o = nnx.Param(gate_kernel(init, zeros, key, hidden, hidden))
        # Only chrono draws a key: the default initialisation keeps the parameter stream as is.
        key = rngs.params() if chrono_tmax else None
        self.b = nnx.Param(lstm_bias(key, hidden, forget_bias, chrono_tmax))


def lstm_layers(cfg, layer: type[LSTMLayer] = LSTMLayer):
    """Layers of `layer` (LSTMLayer or a subclass) from the model config."""
    if cfg.backward == "hand" and cfg.output_peephole != "none":
        raise ValueError(
            "model.backward=hand has no hand-written backward for model.output_peephole="
            f"{cfg.output_peephole}; use model.backward=autodiff"
        )

    def direction(in_features: int, rngs: nnx.Rngs) -> LSTMLayer:
        return layer(
            in_features,
            cfg.hidden,
            rngs=rngs,
            forget_bias=cfg.forget_bias,
            chrono_tmax=cfg.chrono_tmax,
            init=cfg.init,
            output_peephole=cfg.output_peephole,
            options=scan_options(cfg),
        )

    return recurrent(cfg, direction)


@MODELS.register(
    "lstm",
    "LSTM with forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000)",
    sizes=CELL_SIZES,
    recurrent=True,
    hand_backward=True,
    inits=INITS,
    learns_initial_state=True,
    output_peepholes=OUTPUT_PEEPHOLES,
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
    inits=INITS,
    learns_initial_state=True,
    output_peepholes=OUTPUT_PEEPHOLES,
)
def make_bilstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    cfg = with_fields(cfg, bidirectional=True)
    return SequenceModel(cfg, spec, lstm_layers(cfg), rngs=rngs)
