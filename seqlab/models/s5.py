"""S5 (Smith, Warrington & Linderman 2023, "Simplified State Space Layers for Sequence
Modeling"): a MIMO diagonal state space model, HiPPO-initialised, in residual blocks.

The SSM, as the paper's eqs. (2)-(4) and its code (github lindermanlab/S5, s5/ssm.py `S5SSM`,
`discretize_zoh`, `apply_ssm`; s5/ssm_init.py; s5/train.py builds Λ and V):

    Λ̄ = exp(Λ Δ),  B̄ = ((Λ̄ − 1) / Λ) ⊙ B̃          (zero-order hold; Δ = exp(log_step))
    h_t = Λ̄ ⊙ h_{t−1} + B̄ u_t                         (h complex, P/2 states)
    y_t = 2 Re(C̃ h_t) + D ⊙ u_t

Conjugate symmetry (the code's default `conj_sym=True`): P states whose eigenvalues come in
conjugate pairs, of which P/2 are kept, the output taking 2·Re. `model.state_dim` is that P
(the code's `ssm_size_base`); 0 is model.hidden rounded up to a multiple of 2·model.heads.

Initialisation as the code's defaults:
- Λ: HiPPO-N, the eigenvalues of the normal part S = A + p pᵀ of HiPPO-LegS (p_n = √(n + ½)),
  −½ + iω, from `eigh` of −i(S + ½); the half with ω < 0 (the first half, ascending), repeated
  on the J = model.heads diagonal blocks of size P/J (the code's `--blocks`, 8 there; here the
  block size P/J must be even);
- B̃ = V⁻¹ B with B ~ lecun_normal over [P, H] (JAX's: truncated normal, fan-in axis −2, so
  variance 1/P) and V⁻¹ = blockdiag(V_halfᴴ) [P/2, P];
- C̃ = C V with C ∈ ℂ^{H×P}, both parts truncated normal of variance 1/P (`trunc_standard_normal`,
  the default C_init), V = blockdiag(V_half) [P, P/2];
- D ~ N(0, 1) [H]; log Δ ~ U[log 0.001, log 0.1] per state (dt_min, dt_max defaults).
Eigenvalues are not clipped to the left half-plane (`clip_eigs=False`, the default).

The block is the code's `SequenceLayer` (s5/layers.py) with prenorm and the default activation
`half_glu1`: x + g ⊙ σ(W g + b), g = GELU(S5(LayerNorm(x))), GELU the tanh form (flax's
default); dropout 0. The code's default norm is BatchNorm; here LayerNorm (its `batchnorm=False`
choice): a batch norm mixes the sequences of a batch, so a model would not stream one step at a
time. Complex weights are stored as their real and imaginary parts (the count of real numbers is
the parameter count). `model.scan_form` runs the recurrence as scan, associative or chunked
(linear_recurrence.py); the state is complex64 (complex128 in float64).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
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
from seqlab.models.sequence import SequenceModel, scan_options
from seqlab.models.sizing import BLOCK_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

DT_MIN, DT_MAX = 0.001, 0.1  # s5/ssm_init.py `log_step_initializer` defaults (run_train.py)


# ---------------------------------------------------------------- HiPPO-N initialisation


def normal_hippo(block: int) -> tuple[np.ndarray, np.ndarray]:
    """(Λ [block], V [block, block]): the eigen-decomposition S = V diag(Λ) Vᴴ of the normal part
    of HiPPO-LegS of size `block`, eigenvalues ordered by ascending imaginary part."""
    n = np.arange(block)
    root = np.sqrt(2 * n + 1.0)
    legs = -(np.tril(np.outer(root, root)) - np.diag(n))  # −A_LegS (Gu et al. 2020)
    p = np.sqrt(n + 0.5)
    S = legs + np.outer(p, p)  # −½ on the diagonal, skew-symmetric off it
    omega, V = np.linalg.eigh(-1j * (S - np.diag(np.diagonal(S))))
    return np.diagonal(S).mean() + 1j * omega, V


def hippo_init(state_dim: int, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """(Λ [P/2], V [P, P/2]) for P = state_dim on `blocks` diagonal blocks, conjugate-symmetric:
    each block keeps the half of its eigenvalues with negative imaginary part."""
    if blocks < 1 or state_dim % (2 * blocks):
        raise ValueError(
            f"s5: model.state_dim={state_dim} (P) must be a multiple of 2 · model.heads = "
            f"{2 * blocks} (the HiPPO blocks, each of an even size)"
        )
    size = state_dim // blocks
    lam, V = normal_hippo(size)
    lam, V = lam[: size // 2], V[:, : size // 2]
    return np.tile(lam, blocks), scipy.linalg.block_diag(*([V] * blocks))


def trunc_normal(key: jax.Array, shape: tuple[int, ...], fan_in: int) -> jax.Array:
    """JAX's lecun_normal: normal truncated at ±2σ, rescaled to variance 1/fan_in."""
    std = np.sqrt(1.0 / fan_in) / 0.87962566103423978
    return std * jax.random.truncated_normal(key, -2.0, 2.0, shape)


# ---------------------------------------------------------------- the SSM as a linear cell


def s5_discretise(params: Params) -> tuple[jax.Array, jax.Array]:
    """(Λ̄ [P/2], B̄ [H, P/2]) by zero-order hold with Δ = exp(log_step)."""
    lam = jax.lax.complex(params["lambda_re"], params["lambda_im"])
    lam_bar = jnp.exp(lam * jnp.exp(params["log_step"]))
    b_tilde = jax.lax.complex(params["b_re"], params["b_im"])
    return lam_bar, b_tilde * ((lam_bar - 1.0) / lam)


def s5_coefficients(params: Params, u: jax.Array):
    lam_bar, b_bar = s5_discretise(params)
    b = jax.lax.complex(u @ b_bar.real, u @ b_bar.imag)
    # Λ̄ with b's leading (time) axes, broadcast over the batch: model.hoist_input scans over it
    return jnp.broadcast_to(lam_bar, (*b.shape[:-2], 1, lam_bar.shape[0])), b, u


def s5_output(params: Params, h: jax.Array, u: jax.Array) -> jax.Array:
    # 2 Re(C̃ h) without the complex product: 2 (C_re h_re − C_im h_im)
    return 2.0 * (h.real @ params["c_re"] - h.imag @ params["c_im"]) + u * params["d"]


def s5_initial_state(params: Params, batch_size: int) -> jax.Array:
    dtype = jnp.result_type(params["lambda_re"].dtype, jnp.complex64)  # complex128 in float64
    return jnp.zeros((batch_size, params["lambda_re"].shape[0]), dtype)


S5_CELL = LinearCell(s5_coefficients, s5_output, s5_initial_state)


class S5SSM(LinearCellLayer):
    """The S5 SSM: [T, B, H] -> [T, B, H] with P/2 complex states."""

    linear = S5_CELL
    cell = as_cell(S5_CELL)

    def __init__(
        self,
        width: int,
        state_dim: int,
        *,
        rngs: nnx.Rngs,
        blocks: int = 1,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        check_form(form, S5_CELL, "s5")
        self.out_features, self.options = width, options
        self.form, self.chunk_size = form, chunk_size
        lam, V = hippo_init(state_dim, blocks)
        half = state_dim // 2
        self.lambda_re = nnx.Param(jnp.asarray(lam.real, jnp.float32))
        self.lambda_im = nnx.Param(jnp.asarray(lam.imag, jnp.float32))
        # B̃ = V⁻¹ B, C̃ = C V (s5/ssm_init.py init_VinvB, init_CV); stored [in, out]
        b = trunc_normal(rngs.params(), (state_dim, width), fan_in=state_dim)
        b_tilde = jnp.asarray(V.conj().T) @ b
        self.b_re, self.b_im = nnx.Param(b_tilde.real.T), nnx.Param(b_tilde.imag.T)
        c = trunc_normal(rngs.params(), (width, state_dim, 2), fan_in=state_dim)
        c_tilde = jax.lax.complex(c[..., 0], c[..., 1]) @ jnp.asarray(V)
        self.c_re, self.c_im = nnx.Param(c_tilde.real.T), nnx.Param(c_tilde.imag.T)
        self.d = nnx.Param(jax.random.normal(rngs.params(), (width,)))
        log_step = jax.random.uniform(
            rngs.params(), (half,), minval=np.log(DT_MIN), maxval=np.log(DT_MAX)
        )
        self.log_step = nnx.Param(log_step)


# ---------------------------------------------------------------- the block and the model


class S5Block(nnx.Module):
    """The code's SequenceLayer (prenorm, half_glu1): [T, B, H] -> [T, B, H]."""

    def __init__(
        self,
        width: int,
        *,
        rngs: nnx.Rngs,
        state_dim: int = 0,
        blocks: int = 1,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        P = state_dim or 2 * blocks * -(-width // (2 * blocks))  # module docstring: rounded up
        self.out_features = width
        self.norm = nnx.LayerNorm(width, rngs=rngs)  # flax's LayerNorm: eps 1e-6, scale, bias
        self.ssm = S5SSM(
            width, P, rngs=rngs, blocks=blocks, form=form, chunk_size=chunk_size, options=options
        )
        self.gate = nnx.Linear(width, width, rngs=rngs)  # the code's out2 (flax Dense defaults)

    def _glu(self, y: jax.Array) -> jax.Array:
        g = jax.nn.gelu(y, approximate=True)
        return g * jax.nn.sigmoid(self.gate(g))

    def __call__(self, x_TBD: jax.Array) -> jax.Array:
        return x_TBD + self._glu(self.ssm(self.norm(x_TBD)))

    def initial_state(self, batch_size: int) -> jax.Array:
        return self.ssm.initial_state(batch_size)

    def step(self, h: jax.Array, x_BD: jax.Array) -> tuple[jax.Array, jax.Array]:
        h, y = self.ssm.step(h, self.norm(x_BD))
        return h, x_BD + self._glu(y)


@MODELS.register(
    "s5",
    "S5 (Smith et al. 2023): MIMO diagonal SSM, HiPPO-N init, ZOH, in prenorm GELU/GLU "
    "residual blocks; model.state_dim P, model.heads HiPPO blocks; model.scan_form picks "
    "scan, associative or chunked",
    sizes=BLOCK_SIZES,
    blocks=True,
    causal=lambda cfg: True,
    size_fields=("heads",),
    scan_forms=AFFINE_FORMS,
)
def make_s5(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    if cfg.state_dim < 0:
        raise ValueError(f"model.state_dim must be >= 0 (0 = model.hidden), got {cfg.state_dim}")

    def make_block(index: int, width: int, rngs: nnx.Rngs) -> S5Block:
        return S5Block(
            width,
            rngs=rngs,
            state_dim=cfg.state_dim,
            blocks=cfg.heads,
            form=scan_form(cfg),
            chunk_size=cfg.chunk_size,
            options=scan_options(cfg),
        )

    return SequenceModel(cfg, spec, make_block, rngs=rngs, blocks=True)
