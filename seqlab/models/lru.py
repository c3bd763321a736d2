"""LRU: the Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks
for Long Sequences"), a complex diagonal linear recurrence.

    λ = exp(−exp(ν_log) + i·exp(θ_log))                      (exponential parametrisation)
    h_t = λ ⊙ h_{t−1} + exp(γ_log) ⊙ (B x_t)                 (h complex, N wide)
    y_t = Re(C h_t) + D x_t

As the paper's own code (its appendix, `init_lru_parameters` and `forward`): ring initialisation,
|λ|² uniform on [r_min², r_max²] (ν_log = log(−½ log(u₁(r_max² − r_min²) + r_min²))) and
arg λ uniform on [0, max_phase] (θ_log = log(max_phase·u₂)); the γ normalisation a trained
parameter, initialised to log √(1 − |λ|²); B = B_re + i B_im with both parts ~ N(0, 1/(2·in)),
C = C_re + i C_im ~ N(0, 1/N), D ~ N(0, 1). Defaults r_min 0, r_max 1, max_phase 6.28 (the
paper's `init_lru_parameters` defaults; `model.r_min`, `model.r_max`, `model.max_phase`).

Two departures, each where the paper's setting cannot apply:
- D is the paper's diagonal (a vector, D ⊙ x) when the layer's input is as wide as its output;
  a layer that changes width (the first layer after a narrower encoder, or after a
  bidirectional concat) has a matrix D [in, H] ~ N(0, 1/in), as the lru-pytorch package's LRU.
- u₁ is drawn from [tiny, 1), not [0, 1): u₁ = 0 would give ν = ∞ and a NaN gradient.

Weights are stored as real arrays (the parts of B and C apart, kernels [in, out]): the
parameter count is the count of real numbers, and optimisers never see complex leaves. The state
is complex64 in float32 (complex128 in float64). `model.state_dim` is N (0: model.hidden); the
layer's output width is model.hidden. The recurrence runs by `model.scan_form` (scan,
associative or chunked; linear_recurrence.py); it has no log-space form (λ is complex).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.linear_recurrence import (
    AFFINE_FORMS,
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


def lru_lambda(params: Params) -> jax.Array:
    """The diagonal λ [N] from (ν_log, θ_log): modulus exp(−exp(ν_log)), phase exp(θ_log)."""
    modulus = jnp.exp(-jnp.exp(params["nu_log"]))
    phase = jnp.exp(params["theta_log"])
    return jax.lax.complex(modulus * jnp.cos(phase), modulus * jnp.sin(phase))


def lru_coefficients(params: Params, x: jax.Array):
    gamma = jnp.exp(params["gamma_log"])
    b = jax.lax.complex(x @ params["b_re"], x @ params["b_im"]) * gamma
    return lru_lambda(params), b, x  # the output's D term reads the input


def lru_output(params: Params, h: jax.Array, x: jax.Array) -> jax.Array:
    # Re(C h) without forming the complex product: C_re h_re − C_im h_im
    y = h.real @ params["c_re"] - h.imag @ params["c_im"]
    d = params["d"]
    return y + (x * d if d.ndim == 1 else x @ d)


def lru_initial_state(params: Params, batch_size: int) -> jax.Array:
    dtype = jnp.result_type(params["nu_log"].dtype, jnp.complex64)  # complex128 in float64
    return jnp.zeros((batch_size, params["nu_log"].shape[0]), dtype)


LRU = LinearCell(lru_coefficients, lru_output, lru_initial_state)


def ring_init(
    key: jax.Array, state_dim: int, r_min: float, r_max: float, max_phase: float
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(ν_log, θ_log, γ_log) [N]: λ uniform by area on the ring r_min ≤ |λ| ≤ r_max, phases
    uniform on [0, max_phase] (Orvieto et al. 2023, appendix `init_lru_parameters`)."""
    if not 0.0 <= r_min < r_max <= 1.0:
        raise ValueError(f"LRU: need 0 <= model.r_min < model.r_max <= 1, got {r_min}, {r_max}")
    if not max_phase > 0:
        raise ValueError(f"LRU: model.max_phase must be > 0, got {max_phase}")
    k1, k2 = jax.random.split(key)
    tiny = float(jnp.finfo(jnp.float32).tiny)  # u₁ = 0 would make ν infinite (module docstring)
    u1 = jax.random.uniform(k1, (state_dim,), minval=tiny)
    u2 = jax.random.uniform(k2, (state_dim,))
    nu_log = jnp.log(-0.5 * jnp.log(u1 * (r_max**2 - r_min**2) + r_min**2))
    theta_log = jnp.log(max_phase * u2)
    modulus = jnp.exp(-jnp.exp(nu_log))
    gamma_log = jnp.log(jnp.sqrt(1.0 - modulus**2))
    return nu_log, theta_log, gamma_log


class LRULayer(LinearCellLayer):
    """One LRU layer: [T, B, in] -> [T, B, H] with a complex state of `state_dim` (N)."""

    linear = LRU
    cell = as_cell(LRU)

    def __init__(
        self,
        in_features: int,
        hidden: int,
        *,
        rngs: nnx.Rngs,
        state_dim: int = 0,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 6.28,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        check_form(form, LRU, "lru")
        if state_dim < 0:
            raise ValueError(f"model.state_dim must be >= 0 (0 = model.hidden), got {state_dim}")
        N = state_dim or hidden
        self.out_features, self.options = hidden, options
        self.form, self.chunk_size = form, chunk_size
        nu_log, theta_log, gamma_log = ring_init(rngs.params(), N, r_min, r_max, max_phase)
        self.nu_log, self.theta_log = nnx.Param(nu_log), nnx.Param(theta_log)
        self.gamma_log = nnx.Param(gamma_log)
        normal = lambda shape, std: std * jax.random.normal(rngs.params(), shape)  # noqa: E731
        self.b_re = nnx.Param(normal((in_features, N), 1 / math.sqrt(2 * in_features)))
        self.b_im = nnx.Param(normal((in_features, N), 1 / math.sqrt(2 * in_features)))
        self.c_re = nnx.Param(normal((N, hidden), 1 / math.sqrt(N)))
        self.c_im = nnx.Param(normal((N, hidden), 1 / math.sqrt(N)))
        if in_features == hidden:
            self.d = nnx.Param(normal((hidden,), 1.0))
        else:
            self.d = nnx.Param(normal((in_features, hidden), 1 / math.sqrt(in_features)))


def lru_layers(cfg):
    def direction(in_features: int, rngs: nnx.Rngs) -> LRULayer:
        return LRULayer(
            in_features,
            cfg.hidden,
            rngs=rngs,
            state_dim=cfg.state_dim,
            r_min=cfg.r_min,
            r_max=cfg.r_max,
            max_phase=cfg.max_phase,
            form=scan_form(cfg),
            chunk_size=cfg.chunk_size,
            options=scan_options(cfg),
        )

    return recurrent(cfg, direction)


@MODELS.register(
    "lru",
    "LRU, complex diagonal linear recurrence with ring init (Orvieto et al. 2023); "
    "model.scan_form picks scan, associative or chunked",
    sizes=CELL_SIZES,
    recurrent=True,
    scan_forms=AFFINE_FORMS,
)
def make_lru(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, lru_layers(cfg), rngs=rngs)
