"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): gates from the input
alone, so the recurrence is linear in h and runs as a parallel scan.

    minGRU:  z_t = σ(k_z),  h̃_t = g(k_h),  h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t
    minLSTM: f_t = σ(k_f), i_t = σ(k_i), h̃_t = g(k_h),
             f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t),  h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t

with [k_h, k_z] = x W (minGRU) and [k_h, k_f, k_i] = x W (minLSTM), W without bias, and
g(x) = x + ½ for x ≥ 0, σ(x) below, which keeps h̃ (hence every state from h_0 = 0) positive,
so the paper's log-space form applies: log g(x) = log(relu(x) + ½) for x ≥ 0, −softplus(−x)
below; minGRU's log a = −softplus(k_z), log z = −softplus(−k_z); minLSTM's
log f' = −softplus(d), log i' = −softplus(−d), d = softplus(−k_f) − softplus(−k_i).

All as the paper's appendix B (B.1-B.3, the sequential and log-space parallel forms) and the
mingru-pytorch package (minGRU_pytorch/minGRU.py and minLSTM.py): no bias, the gate order
[hidden, gate(s)] along W's output axis, W initialised as torch.nn.Linear's default
U(±1/√in). Each layer maps its input to model.hidden (the package's expansion_factor =
hidden/in with proj_out=False: no output projection). One difference in how, not what: the
linear-space f' is computed as σ(−d), which equals f/(f + i) but has no 0/0 when both gates
underflow. `model.scan_form` picks scan (the sequential form), associative, chunked or log (the
paper's parallel form; linear_recurrence.py); all four agree to float32 rounding.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.linear_recurrence import (
    FORMS,
    LinearCell,
    LinearCellLayer,
    as_cell,
    check_form,
)
from seqlab.models.recurrence import DEFAULT_OPTIONS, Params, ScanOptions
from seqlab.models.scan_defaults import scan_form
from seqlab.models.sequence import SequenceModel, recurrent, scan_options
from seqlab.models.sizing import CELL_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec


def g(x: jax.Array) -> jax.Array:
    """The positive activation of h̃: x + ½ for x ≥ 0, σ(x) below (continuous at 0)."""
    return jnp.where(x >= 0, x + 0.5, jax.nn.sigmoid(x))


def log_g(x: jax.Array) -> jax.Array:
    """log g(x), without forming g where it would underflow."""
    return jnp.where(x >= 0, jnp.log(jax.nn.relu(x) + 0.5), -jax.nn.softplus(-x))


def _output(params: Params, h: jax.Array, aux) -> jax.Array:
    return h


# ---------------------------------------------------------------- minGRU


def mingru_coefficients(params: Params, x: jax.Array):
    k_h, k_z = jnp.split(x @ params["w"], 2, axis=-1)
    return jax.nn.sigmoid(-k_z), jax.nn.sigmoid(k_z) * g(k_h), None  # a = 1 − z, b = z h̃


def mingru_log_coefficients(params: Params, x: jax.Array):
    k_h, k_z = jnp.split(x @ params["w"], 2, axis=-1)
    return -jax.nn.softplus(k_z), -jax.nn.softplus(-k_z) + log_g(k_h), None


def mingru_initial_state(params: Params, batch_size: int) -> jax.Array:
    return jnp.zeros((batch_size, params["w"].shape[1] // 2), params["w"].dtype)


MINGRU = LinearCell(mingru_coefficients, _output, mingru_initial_state, mingru_log_coefficients)


# ---------------------------------------------------------------- minLSTM


def _minlstm_gates(params: Params, x: jax.Array):
    k_h, k_f, k_i = jnp.split(x @ params["w"], 3, axis=-1)
    d = jax.nn.softplus(-k_f) - jax.nn.softplus(-k_i)  # log i − log f
    return k_h, d


def minlstm_coefficients(params: Params, x: jax.Array):
    k_h, d = _minlstm_gates(params, x)
    return jax.nn.sigmoid(-d), jax.nn.sigmoid(d) * g(k_h), None  # f' = σ(−d), i' = σ(d)


def minlstm_log_coefficients(params: Params, x: jax.Array):
    k_h, d = _minlstm_gates(params, x)
    return -jax.nn.softplus(d), -jax.nn.softplus(-d) + log_g(k_h), None


def minlstm_initial_state(params: Params, batch_size: int) -> jax.Array:
    return jnp.zeros((batch_size, params["w"].shape[1] // 3), params["w"].dtype)


MINLSTM = LinearCell(minlstm_coefficients, _output, minlstm_initial_state, minlstm_log_coefficients)


# ---------------------------------------------------------------- layers and models


class _MinLayer(LinearCellLayer):
    gates: int  # blocks of W: 2 (minGRU) or 3 (minLSTM)
    family: str

    def __init__(
        self,
        in_features: int,
        hidden: int,
        *,
        rngs: nnx.Rngs,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        check_form(form, self.linear, self.family)
        self.out_features, self.options = hidden, options
        self.form, self.chunk_size = form, chunk_size
        bound = 1 / math.sqrt(in_features)  # torch.nn.Linear's default (mingru-pytorch)
        shape = (in_features, self.gates * hidden)
        self.w = nnx.Param(jax.random.uniform(rngs.params(), shape, minval=-bound, maxval=bound))


class MinGRULayer(_MinLayer):
    """One minGRU layer: [T, B, in] -> [T, B, H]; W [in, 2H] as [hidden | gate]."""

    linear, cell, gates, family = MINGRU, as_cell(MINGRU), 2, "mingru"


class MinLSTMLayer(_MinLayer):
    """One minLSTM layer: [T, B, in] -> [T, B, H]; W [in, 3H] as [hidden | forget | input]."""

    linear, cell, gates, family = MINLSTM, as_cell(MINLSTM), 3, "minlstm"


def min_layers(cfg, layer: type[_MinLayer]):
    def direction(in_features: int, rngs: nnx.Rngs) -> _MinLayer:
        return layer(
            in_features,
            cfg.hidden,
            rngs=rngs,
            form=scan_form(cfg),
            chunk_size=cfg.chunk_size,
            options=scan_options(cfg),
        )

    return recurrent(cfg, direction)


@MODELS.register(
    "mingru",
    "minGRU (Feng et al. 2024): input-only gates, a linear recurrence; model.scan_form: scan "
    "(sequential), associative, chunked or log (the paper's log-space parallel form)",
    sizes=CELL_SIZES,
    recurrent=True,
    scan_forms=FORMS,
)
def make_mingru(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, min_layers(cfg, MinGRULayer), rngs=rngs)


@MODELS.register(
    "minlstm",
    "minLSTM (Feng et al. 2024): normalised input-only forget/input gates, no output gate; "
    "model.scan_form as mingru",
    sizes=CELL_SIZES,
    recurrent=True,
    scan_forms=FORMS,
)
def make_minlstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, min_layers(cfg, MinLSTMLayer), rngs=rngs)
