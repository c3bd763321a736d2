"""Vanilla (Elman) RNN and IRNN (Le, Jaitly & Hinton 2015, "A simple way to initialize
recurrent networks of rectified linear units").

    h_t = φ(x_t W + h_{t-1} R + b),   φ = tanh (rnn)  or  ReLU (IRNN, `model.irnn=true`)

As torch.nn.RNN (nonlinearity 'tanh' / 'relu'), but with one bias vector (torch has
b_ih + b_hh). Initialisation follows flax's SimpleCell (LeCun-normal input kernel,
orthogonal recurrent kernel, zero bias). IRNN initialises R to the identity and b to zero, so
at the start each unit carries its value forward unchanged (an integrator) until the input
moves it; the input kernel keeps the LeCun-normal default.

The tanh RNN and IRNN baselines of Arjovsky, Shah & Bengio 2016 ("Unitary Evolution Recurrent
Neural Networks"; the authors' models.py, github amarshah/complex_RNN) are this cell with
`model.init=glorot_uniform` (W and R uniform in ±sqrt(6/(fan_in + fan_out)); the IRNN's R stays
the identity), `model.learn_initial_state=true` (their learned h_0) and `model.embed_dim=0`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.cell_layer import INITS, CellLayer, gate_kernel
from seqlab.models.recurrence import DEFAULT_OPTIONS, Cell, Params, ScanOptions
from seqlab.models.sequence import SequenceModel, recurrent, scan_options
from seqlab.models.sizing import CELL_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec


def rnn_project(params: Params, x: jax.Array) -> jax.Array:
    return x @ params["w_ih"] + params["b"]


def _recur(activation):
    def recur(params: Params, h_BH: jax.Array, xp_BH: jax.Array):
        h_BH = activation(xp_BH + h_BH @ params["w_hh"])
        return h_BH, h_BH

    return recur


def rnn_initial_carry(params: Params, batch_size: int) -> jax.Array:
    return jnp.zeros((batch_size, params["w_hh"].shape[0]), params["w_hh"].dtype)


TANH_RNN_CELL = Cell(rnn_project, _recur(jnp.tanh), rnn_initial_carry)
RELU_RNN_CELL = Cell(rnn_project, _recur(jax.nn.relu), rnn_initial_carry)


class RNNLayer(CellLayer):
    """One RNN layer: [T, B, D] -> [T, B, H]; `irnn=True` gives the ReLU/identity IRNN."""

    cell = TANH_RNN_CELL

    def __init__(
        self,
        in_features: int,
        hidden: int,
        *,
        rngs: nnx.Rngs,
        irnn: bool = False,
        init: str = "default",
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        self.out_features = hidden
        self.options = options
        lecun, orthogonal = nnx.initializers.lecun_normal(), nnx.initializers.orthogonal()
        self.w_ih = nnx.Param(gate_kernel(init, lecun, rngs.params(), in_features, hidden))
        if irnn:
            self.cell = RELU_RNN_CELL  # a static attribute: the layer's graphdef records it
            w_hh = jnp.eye(hidden)
        else:
            w_hh = gate_kernel(init, orthogonal, rngs.params(), hidden, hidden)
        self.w_hh = nnx.Param(w_hh)
        self.b = nnx.Param(jnp.zeros((hidden,)))


def rnn_layers(cfg):
    def direction(in_features: int, rngs: nnx.Rngs) -> RNNLayer:
        return RNNLayer(
            in_features,
            cfg.hidden,
            rngs=rngs,
            irnn=cfg.irnn,
            init=cfg.init,
            options=scan_options(cfg),
        )

    return recurrent(cfg, direction)


@MODELS.register(
    "rnn",
    "vanilla tanh RNN (Elman 1990); model.irnn=true: ReLU, identity init (Le et al. 2015)",
    sizes=CELL_SIZES,
    recurrent=True,
    inits=INITS,
    learns_initial_state=True,
)
def make_rnn(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, rnn_layers(cfg), rngs=rngs)
