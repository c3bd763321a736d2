"""Mamba (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"):
residual blocks x + MambaBlock(RMSNorm(x)) of a selective state space model.

    x_in, z = split(W_in n)                              (n = RMSNorm(x); E·D wide each)
    u = SiLU(conv(x_in))                                 (causal depthwise, model.conv_kernel)
    δ, B_t, C_t = split(W_x u_t)                         (R, N, N wide; R = ⌈D/16⌉)
    Δ_t = softplus(W_Δ δ + b_Δ)                          (E·D)
    h_t = exp(Δ_t A) ⊙ h_{t−1} + (Δ_t ⊙ u_t) ⊗ B_t       (h [E·D, N]; A = −exp(A_log))
    y_t = h_t C_t + D ⊙ u_t
    x + W_out (y ⊙ SiLU(z))

Everything as the official code (github state-spaces/mamba, mamba_ssm/modules/mamba_simple.py
`Mamba`; the reference selective_scan_ref in ops/selective_scan_interface.py) and mambapy
(mambapy/mamba.py, its pscan and sequential paths): B̄ = ΔB (the code's simplified ZOH), no
biases on the projections, a conv bias. Settings: E = model.proj_factor (expand, 2; the inner
width int(E·D) as the code's), N = model.state_dim (d_state; 0: 16, the code's default),
dt_rank ⌈D/16⌉, d_conv = model.conv_kernel (4), RMSNorm eps 1e-5 (mixer_seq_simple's
norm_epsilon).

Initialisation (mamba_simple.py `Mamba.__init__`; models/mixer_seq_simple.py `_init_weights`):
W_in, W_x as torch.nn.Linear's default U(±1/√fan_in); the conv as torch's (conv1d.py);
W_Δ ~ U(±R^−½) (dt_init "random", dt_scale 1); b_Δ = softplus⁻¹(Δ₀) with Δ₀ log-uniform on
[dt_min, dt_max] = [0.001, 0.1], floored at 1e-4; A_log = log n (S4D-real: A_n = −n, n = 1..N,
every channel); D = 1; W_out U(±1/√(E·D)) / √model.layers (the GPT-2-style rescaling of
`_init_weights`, rescale_prenorm_residual with one residual per layer). Not mambapy's lm.py
(a llama2.c-style normal 0.02 init): the official code's is the one the paper trained with.

The block's streaming state is its true recurrent state: the conv's last K − 1 inputs and h
[E·D, N]. `model.scan_form` runs the selective scan as scan, associative or chunked
(linear_recurrence.py). The encoder, readout and final norm are SequenceModel's, as every block
model's (the final norm a LayerNorm, where the code's MambaLMHeadModel has an RMSNorm).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.conv1d import CausalConv
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

DEFAULT_STATE_DIM = 16  # mamba_simple.py d_state
NORM_EPS = 1e-5  # mixer_seq_simple.py norm_epsilon; mambapy's rms_norm_eps
DT_MIN, DT_MAX, DT_FLOOR = 0.001, 0.1, 1e-4  # mamba_simple.py dt_min, dt_max, dt_init_floor


def torch_uniform(fan_in: int, scale: float = 1.0):
    """torch.nn.Linear's default weight init, U(±1/√fan_in), times `scale`."""
    bound = scale / math.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(
        key, shape, dtype, minval=-bound, maxval=bound
    )


def dt_bias_init(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """softplus⁻¹(Δ₀), Δ₀ log-uniform on [DT_MIN, DT_MAX], floored at DT_FLOOR (mamba_simple.py
    and mamba2.py: inv_dt = dt + log(−expm1(−dt)))."""
    u = jax.random.uniform(key, shape)
    dt = jnp.maximum(
        jnp.exp(u * (math.log(DT_MAX) - math.log(DT_MIN)) + math.log(DT_MIN)), DT_FLOOR
    )
    return dt + jnp.log(-jnp.expm1(-dt))


# ---------------------------------------------------------------- the selective scan


def mamba_coefficients(params: Params, u: jax.Array):
    rank, N = params["dt_proj"].shape[0], params["a_log"].shape[1]
    delta, B, C = jnp.split(u @ params["x_proj"], [rank, rank + N], axis=-1)
    dt = jax.nn.softplus(delta @ params["dt_proj"] + params["dt_bias"])  # [..., E·D]
    a = jnp.exp(dt[..., None] * -jnp.exp(params["a_log"]))  # [..., E·D, N]
    b = (dt * u)[..., None] * B[..., None, :]
    return a, b, (C, u)


def mamba_output(params: Params, h: jax.Array, aux) -> jax.Array:
    C, u = aux
    return jnp.einsum("...dn,...n->...d", h, C) + params["d"] * u


def mamba_initial_state(params: Params, batch_size: int) -> jax.Array:
    return jnp.zeros((batch_size, *params["a_log"].shape), params["a_log"].dtype)


MAMBA_SSM = LinearCell(mamba_coefficients, mamba_output, mamba_initial_state)


class SelectiveSSM(LinearCellLayer):
    """Mamba's selective SSM over [T, B, E·D] (the conv's activations) -> [T, B, E·D]."""

    linear = MAMBA_SSM
    cell = as_cell(MAMBA_SSM)

    def __init__(
        self,
        inner: int,
        state_dim: int,
        dt_rank: int,
        *,
        rngs: nnx.Rngs,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        check_form(form, MAMBA_SSM, "mamba")
        self.out_features, self.options = inner, options
        self.form, self.chunk_size = form, chunk_size
        x_proj = torch_uniform(inner)(rngs.params(), (inner, dt_rank + 2 * state_dim))
        self.x_proj = nnx.Param(x_proj)
        self.dt_proj = nnx.Param(torch_uniform(dt_rank)(rngs.params(), (dt_rank, inner)))
        self.dt_bias = nnx.Param(dt_bias_init(rngs.params(), (inner,)))
        n = jnp.arange(1, state_dim + 1, dtype=jnp.float32)
        self.a_log = nnx.Param(jnp.log(jnp.broadcast_to(n, (inner, state_dim))))
        self.d = nnx.Param(jnp.ones((inner,)))


# ---------------------------------------------------------------- the block and the model


class MambaBlock(nnx.Module):
    """mambapy's ResidualBlock (pre-norm RMSNorm + MambaBlock): [T, B, D] -> [T, B, D]."""

    def __init__(
        self,
        width: int,
        *,
        rngs: nnx.Rngs,
        state_dim: int = DEFAULT_STATE_DIM,
        conv_kernel: int = 4,
        expand: float = 2.0,
        num_blocks: int = 1,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        inner = int(expand * width)
        if inner < 1 or state_dim < 1:
            raise ValueError(
                f"mamba: model.proj_factor={expand} × model.hidden={width} must be >= 1 and "
                f"the state size {state_dim} >= 1"
            )
        self.out_features = width
        self.norm = nnx.RMSNorm(width, epsilon=NORM_EPS, rngs=rngs)
        self.in_proj = nnx.Linear(
            width, 2 * inner, use_bias=False, kernel_init=torch_uniform(width), rngs=rngs
        )
        self.conv = CausalConv(inner, conv_kernel, rngs=rngs)
        self.ssm = SelectiveSSM(
            inner,
            state_dim,
            math.ceil(width / 16),
            rngs=rngs,
            form=form,
            chunk_size=chunk_size,
            options=options,
        )
        out_init = torch_uniform(inner, 1.0 / math.sqrt(num_blocks))
        self.out_proj = nnx.Linear(inner, width, use_bias=False, kernel_init=out_init, rngs=rngs)

    def __call__(self, x_TBD: jax.Array) -> jax.Array:
        x_in, z = jnp.split(self.in_proj(self.norm(x_TBD)), 2, axis=-1)
        y = self.ssm(jax.nn.silu(self.conv(x_in)))
        return x_TBD + self.out_proj(y * jax.nn.silu(z))

    # Streaming: the conv's last K − 1 inputs and h, from zeros.
    def initial_state(self, batch_size: int) -> tuple[jax.Array, jax.Array]:
        return self.conv.initial_state(batch_size), self.ssm.initial_state(batch_size)

    def step(self, carry, x_BD: jax.Array):
        window, h = carry
        x_in, z = jnp.split(self.in_proj(self.norm(x_BD)), 2, axis=-1)
        window, u = self.conv.step(window, x_in)
        h, y = self.ssm.step(h, jax.nn.silu(u))
        return (window, h), x_BD + self.out_proj(y * jax.nn.silu(z))


@MODELS.register(
    "mamba",
    "Mamba (Gu & Dao 2023): pre-norm residual blocks of a conv + selective SSM gated by SiLU; "
    "model.state_dim N (0: 16), model.proj_factor expansion; model.scan_form picks scan, "
    "associative or chunked",
    sizes=BLOCK_SIZES,
    blocks=True,
    causal=lambda cfg: True,
    scan_forms=AFFINE_FORMS,
)
def make_mamba(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    if cfg.state_dim < 0:
        raise ValueError(f"model.state_dim must be >= 0 (0 = 16 for mamba), got {cfg.state_dim}")

    def make_block(index: int, width: int, rngs: nnx.Rngs) -> MambaBlock:
        return MambaBlock(
            width,
            rngs=rngs,
            state_dim=cfg.state_dim or DEFAULT_STATE_DIM,
            conv_kernel=cfg.conv_kernel,
            expand=cfg.proj_factor,
            num_blocks=cfg.layers,
            form=scan_form(cfg),
            chunk_size=cfg.chunk_size,
            options=scan_options(cfg),
        )

    return SequenceModel(cfg, spec, make_block, rngs=rngs, blocks=True)
