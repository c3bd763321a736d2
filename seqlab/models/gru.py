"""GRU in the torch/cuDNN/flax form: the reset gate acts after the recurrent matmul.

    r = σ(W_r x + b_ir + R_r h + b_hr)
    z = σ(W_z x + b_iz + R_z h + b_hz)
    n = tanh(W_n x + b_in + r ⊙ (R_n h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h

Gate order r, z, n along the last axis, as torch.nn.GRU and flax GRUCell. Cho et al. 2014
(arXiv v3) apply r before the matmul, R_n (r ⊙ h); that variant is not built here. The
input-side bias `b` (3H) carries b_hr and b_hz folded in (they only ever add to b_ir, b_iz);
b_hn cannot be folded, since r scales it, and stays its own parameter. flax's GRUCell has no
b_hn (its recurrent Dense has no bias): it is this cell with b_hn = 0. Initialisation as
flax's GRUCell: LeCun-normal input kernel, orthogonal recurrent kernel, zero biases; or, with
`model.init=glorot_uniform`, each gate's input and recurrent matrix Glorot-uniform with the
bound of one gate, as `initialize_matrix` in the models.py of Arjovsky, Shah & Bengio 2016
(github amarshah/complex_RNN). `model.learn_initial_state=true` learns h_0 (their option too).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.cell_layer import INITS, CellLayer, gate_kernel
from seqlab.models.recurrence import DEFAULT_OPTIONS, Cell, Params, ScanOptions
from seqlab.models.sequence import SequenceModel, recurrent, scan_options, with_fields
from seqlab.models.sizing import CELL_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec


def gru_project(params: Params, x: jax.Array) -> jax.Array:
    return x @ params["w_ih"] + params["b"]


def gru_recur(params: Params, h_BH: jax.Array, xp_BG: jax.Array):
    x_r, x_z, x_n = jnp.split(xp_BG, 3, axis=-1)
    h_r, h_z, h_n = jnp.split(h_BH @ params["w_hh"], 3, axis=-1)
    r = jax.nn.sigmoid(x_r + h_r)
    z = jax.nn.sigmoid(x_z + h_z)
    n = jnp.tanh(x_n + r * (h_n + params["b_hn"]))
    h_BH = (1.0 - z) * n + z * h_BH
    return h_BH, h_BH


def gru_initial_carry(params: Params, batch_size: int) -> jax.Array:
    return jnp.zeros((batch_size, params["w_hh"].shape[0]), params["w_hh"].dtype)


GRU_CELL = Cell(gru_project, gru_recur, gru_initial_carry)


class GRULayer(CellLayer):
    """One GRU layer: [T, B, D] -> [T, B, H], driven by `scan_cell`."""

    cell = GRU_CELL

    def __init__(
        self,
        in_features: int,
        hidden: int,
        *,
        rngs: nnx.Rngs,
        init: str = "default",
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        self.out_features = hidden
        self.options = options
        lecun, orthogonal = nnx.initializers.lecun_normal(), nnx.initializers.orthogonal()
        self.w_ih = nnx.Param(gate_kernel(init, lecun, rngs.params(), in_features, hidden, 3))
        self.w_hh = nnx.Param(gate_kernel(init, orthogonal, rngs.params(), hidden, hidden, 3))
        self.b = nnx.Param(jnp.zeros((3 * hidden,)))
        self.b_hn = nnx.Param(jnp.zeros((hidden,)))


def gru_layers(cfg):
    def direction(in_features: int, rngs: nnx.Rngs) -> GRULayer:
        return GRULayer(
            in_features, cfg.hidden, rngs=rngs, init=cfg.init, options=scan_options(cfg)
        )

    return recurrent(cfg, direction)


@MODELS.register(
    "gru",
    "GRU, reset gate after the recurrent matmul as torch/cuDNN (Cho et al. 2014)",
    sizes=CELL_SIZES,
    recurrent=True,
    inits=INITS,
    learns_initial_state=True,
)
def make_gru(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, gru_layers(cfg), rngs=rngs)


@MODELS.register(
    "bigru",
    "bidirectional GRU: each layer forward and in reverse, joined by model.merge",
    sizes=CELL_SIZES,
    recurrent=True,
    causal=lambda cfg: False,
    inits=INITS,
    learns_initial_state=True,
)
def make_bigru(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    cfg = with_fields(cfg, bidirectional=True)
    return SequenceModel(cfg, spec, gru_layers(cfg), rngs=rngs)
