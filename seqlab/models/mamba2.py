"""Mamba-2 (Dao & Gu 2024, "Transformers are SSMs: Generalized Models and Efficient Algorithms
Through Structured State Space Duality"): residual blocks of the Mamba-2 block, whose SSM has
a scalar-times-identity A per head, run by its chunked SSD form or by the linear mechanism.

    z, xBC, dt = split(W_in n)                           (n = RMSNorm(x); E·D, E·D + 2N, H)
    x, B_t, C_t = split(SiLU(conv(xBC)))                 (x: H heads of P = E·D/H)
    Δ_t = softplus(dt + b_Δ)                             (per head)
    h_t = exp(Δ_t A) h_{t−1} + Δ_t x_t ⊗ B_t             (h [H, P, N]; A = −exp(A_log) [H])
    y_t = h_t C_t + D ⊙ x_t                              (D per head)
    x + W_out RMSNorm(y ⊙ SiLU(z))                       (the gated norm, over all of E·D)

As the official code (github state-spaces/mamba, mamba_ssm/modules/mamba2.py `Mamba2` with
ngroups=1, norm_before_gate=False, D per head; its pure-PyTorch listing
mamba_ssm/modules/ssd_minimal.py `ssd_minimal_discrete` for the SSD algorithm), mambapy's
mamba2.py (the same module, whose scan needs the CUDA kernels) and HuggingFace transformers'
Mamba2Mixer torch path. Settings: E = model.proj_factor (2), H = model.heads, N =
model.state_dim (0: 64, mambapy's Mamba2Config default; the official module's is 128),
d_conv = model.conv_kernel (4), eps 1e-5 for both RMSNorms. The head size is P = E·D/H
(the code names P `headdim`, 64 by default, and derives H): E·D is rounded up to a multiple of
H where it is not one, so model.hidden may be any width (model.param_budget needs that).

Initialisation (mamba2.py `Mamba2.__init__`; models/mixer_seq_simple.py `_init_weights`): W_in
U(±1/√D) (torch.nn.Linear's default), the conv as torch's (conv1d.py), b_Δ = softplus⁻¹(Δ₀) with
Δ₀ log-uniform on [0.001, 0.1] floored at 1e-4 (mamba.py's `dt_bias_init`), A ~ U[1, 16]
(A_init_range) stored as A_log, D = 1, norm scales 1, W_out U(±1/√(E·D)) / √model.layers.

Forms (model.scan_form): "scan", "associative" and "chunked" run the recurrence above as the
linear mechanism (linear_recurrence.py; a broadcast [.., H, 1, 1] against the [.., H, P, N]
states); "ssd" is the paper's chunked algorithm (its Listing 1; `ssd`): within each chunk of
model.chunk_size steps the outputs are a masked, attention-like product
Y = (C Bᵀ ∘ L) (Δ x) with the decay mask L_ts = exp(Σ_{t≥k>s} Δ_k A) (the segment sum), and the
states entering the chunks are carried by a scan over the chunks' summaries; it never forms
every step's state. All four agree to rounding. The block's streaming state is the conv's last
K − 1 inputs (of xBC) and h, kept as [H, P·N] (h [H, P, N] with its last two axes flattened: the
same numbers; with rank-5 states [T, B, H, P, N] the chunked form under jax.jit(jax.jacrev)
crashes XLA:CPU in jax 0.10.2, a segmentation fault; rank 4 does not).
"""

from __future__ import annotations

import functools
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
    linear_states,
    run_linear,
)
from seqlab.models.mamba import NORM_EPS, dt_bias_init, torch_uniform
from seqlab.models.recurrence import DEFAULT_OPTIONS, Params, ScanOptions
from seqlab.models.scan_defaults import scan_form
from seqlab.models.sequence import SequenceModel, scan_options
from seqlab.models.sizing import BLOCK_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

FORMS = (*AFFINE_FORMS, "ssd")
DEFAULT_STATE_DIM = 64  # mambapy's Mamba2Config d_state (module docstring)
A_INIT_RANGE = (1.0, 16.0)  # mamba2.py A_init_range


# ---------------------------------------------------------------- the SSM's inputs


def split_inputs(params: Params, v: jax.Array, state_dim: int):
    """The SSM's input v = [x | B | C | dt] (E·D, N, N, H wide) -> x [.., H, P], B, C [.., N],
    Δ [.., H] (softplus'd, with its bias)."""
    H, F = params["a_log"].shape[0], v.shape[-1]
    x, B, C, dt = jnp.split(v, [F - 2 * state_dim - H, F - state_dim - H, F - H], axis=-1)
    x = x.reshape(*x.shape[:-1], H, -1)
    return x, B, C, jax.nn.softplus(dt + params["dt_bias"])


def _coefficients(params: Params, v: jax.Array, state_dim: int):
    x, B, C, dt = split_inputs(params, v, state_dim)
    a = jnp.exp(dt * -jnp.exp(params["a_log"]))[..., None]  # [.., H, 1]
    b = (dt[..., None] * x)[..., None] * B[..., None, None, :]  # [.., H, P, N]
    return a, b.reshape(*b.shape[:-2], -1), (C, x)  # states flat (module docstring)


def _output(params: Params, h: jax.Array, aux) -> jax.Array:
    C, x = aux
    h = h.reshape(*x.shape, -1)  # [.., H, P, N]
    y = jnp.einsum("...hpn,...n->...hp", h, C) + params["d"][:, None] * x
    return y.reshape(*y.shape[:-2], -1)


def _initial_state(params: Params, batch_size: int, *, state_dim: int, head_dim: int):
    H = params["a_log"].shape[0]
    return jnp.zeros((batch_size, H, head_dim * state_dim), params["a_log"].dtype)


@functools.cache
def mamba2_cell(state_dim: int, head_dim: int) -> LinearCell:
    """The SSM as a linear cell (its input layout needs N; its state P): one per shape."""
    return LinearCell(
        functools.partial(_coefficients, state_dim=state_dim),
        _output,
        functools.partial(_initial_state, state_dim=state_dim, head_dim=head_dim),
    )


# ---------------------------------------------------------------- the SSD form


def segment_sum(x: jax.Array) -> jax.Array:
    """[.., Q] -> [.., Q, Q]: out[t, s] = Σ_{s<k≤t} x_k for t ≥ s, −∞ above the diagonal.
    Summed directly (not as a difference of cumulative sums, which cancels badly)."""
    Q = x.shape[-1]
    below = jnp.tril(jnp.ones((Q, Q), bool), -1)
    sums = jnp.cumsum(jnp.where(below, x[..., :, None], 0.0), axis=-2)
    return jnp.where(jnp.tril(jnp.ones((Q, Q), bool)), sums, -jnp.inf)


def ssd(
    params: Params, v_TBF: jax.Array, h0: jax.Array, *, state_dim: int, chunk_size: int
) -> tuple[jax.Array, jax.Array]:
    """The SSD chunked form (Dao & Gu 2024, Listing 1): (last state, outputs [T, B, E·D])."""
    if chunk_size < 1:
        raise ValueError(f"model.chunk_size must be >= 1, got {chunk_size}")
    x, B, C, dt = split_inputs(params, v_TBF, state_dim)
    log_a = dt * -jnp.exp(params["a_log"])  # [T, B, H]
    xdt = x * dt[..., None]
    T, Q = v_TBF.shape[0], chunk_size
    n = -(-T // Q)

    # trailing identity steps (log a = 0, no input), dropped afterwards
    def chunks(z: jax.Array) -> jax.Array:
        z = jnp.pad(z, [(0, n * Q - T)] + [(0, 0)] * (z.ndim - 1))
        return z.reshape(n, Q, *z.shape[1:])

    log_a, xdt, B, C = chunks(log_a), chunks(xdt), chunks(B), chunks(C)
    cum = jnp.cumsum(log_a, axis=1)  # [n, Q, B, H]
    # 1. within each chunk: the masked "attention" (C_t · B_s) L_ts on Δ_s x_s
    decay = jnp.exp(segment_sum(jnp.moveaxis(log_a, 1, -1)))  # [n, B, H, Q(t), Q(s)]
    scores = jnp.einsum("ctbn,csbn->cbts", C, B)
    y_diag = jnp.einsum("cbts,cbhts,csbhp->ctbhp", scores, decay, xdt)
    # 2. each chunk's own final state, from a zero state
    to_end = jnp.exp(cum[:, -1:] - cum)
    local = jnp.einsum("csbn,csbh,csbhp->cbhpn", B, to_end, xdt)
    # 3. the state entering each chunk: a scan over the chunks' summaries
    flat = local.reshape(*local.shape[:3], -1)  # [n, B, H, P·N], as the states (docstring)
    after = linear_states(jnp.exp(cum[:, -1])[..., None], flat, h0.astype(flat.dtype))
    entering = jnp.concatenate([h0[None].astype(after.dtype), after[:-1]]).reshape(local.shape)
    # 4. its contribution to each step's output, decayed to the step
    y_off = jnp.einsum("ctbn,cbhpn,ctbh->ctbhp", C, entering, jnp.exp(cum))
    y = (y_diag + y_off).reshape(n * Q, *y_diag.shape[2:])[:T]
    y = y + params["d"][:, None] * x
    return after[-1], y.reshape(*y.shape[:-2], -1)


def run_mamba2(
    params: Params,
    v_TBF: jax.Array,
    h0: jax.Array,
    *,
    state_dim: int,
    form: str = "scan",
    chunk_size: int = 64,
    options: ScanOptions = DEFAULT_OPTIONS,
) -> tuple[jax.Array, jax.Array]:
    """(last state, outputs) of the SSM by any of FORMS."""
    if form not in FORMS:
        raise ValueError(f"model.scan_form is {form!r}; valid choices for mamba2: {FORMS}")
    if form == "ssd":
        run = functools.partial(ssd, state_dim=state_dim, chunk_size=chunk_size)
        return (jax.checkpoint(run) if options.remat else run)(params, v_TBF, h0)
    cell = mamba2_cell(state_dim, h0.shape[2] // state_dim)
    return run_linear(cell, params, v_TBF, h0, form=form, chunk_size=chunk_size, options=options)


class Mamba2SSM(LinearCellLayer):
    """Mamba-2's SSM over [T, B, E·D + 2N + H] (x, B, C after the conv; dt) -> [T, B, E·D]."""

    def __init__(
        self,
        heads: int,
        head_dim: int,
        state_dim: int,
        *,
        rngs: nnx.Rngs,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        if form not in FORMS:
            raise ValueError(
                f"model.scan_form={form} does not apply to mamba2; valid: {', '.join(FORMS)}"
            )
        self.linear = mamba2_cell(state_dim, head_dim)
        self.cell = as_cell(self.linear)
        self.state_dim = state_dim
        self.out_features, self.options = heads * head_dim, options
        self.form, self.chunk_size = form, chunk_size
        self.dt_bias = nnx.Param(dt_bias_init(rngs.params(), (heads,)))
        a = jax.random.uniform(
            rngs.params(), (heads,), minval=A_INIT_RANGE[0], maxval=A_INIT_RANGE[1]
        )
        self.a_log = nnx.Param(jnp.log(a))
        self.d = nnx.Param(jnp.ones((heads,)))

    def __call__(self, v_TBF: jax.Array, *, reverse: bool = False) -> jax.Array:
        if reverse:
            raise ValueError("mamba2: a causal block; it runs forward only")
        h0 = self.initial_state(v_TBF.shape[1])
        return run_mamba2(
            self.params(),
            v_TBF,
            h0,
            state_dim=self.state_dim,
            form=self.form,
            chunk_size=self.chunk_size,
            options=self.options,
        )[1]


# ---------------------------------------------------------------- the block and the model


class Mamba2Block(nnx.Module):
    """Pre-norm residual block around the Mamba-2 block: [T, B, D] -> [T, B, D]."""

    def __init__(
        self,
        width: int,
        *,
        heads: int,
        rngs: nnx.Rngs,
        state_dim: int = DEFAULT_STATE_DIM,
        conv_kernel: int = 4,
        expand: float = 2.0,
        num_blocks: int = 1,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        inner = heads * -(-int(expand * width) // heads)  # module docstring: rounded up
        if inner < 1 or state_dim < 1:
            raise ValueError(
                f"mamba2: model.proj_factor={expand} × model.hidden={width} must be >= 1 and "
                f"the state size {state_dim} >= 1"
            )
        self.out_features, self.inner, self.state_dim = width, inner, state_dim
        self.norm = nnx.RMSNorm(width, epsilon=NORM_EPS, rngs=rngs)
        self.in_proj = nnx.Linear(
            width,
            2 * inner + 2 * state_dim + heads,  # [z, x, B, C, dt]
            use_bias=False,
            kernel_init=torch_uniform(width),
            rngs=rngs,
        )
        self.conv = CausalConv(inner + 2 * state_dim, conv_kernel, rngs=rngs)
        self.ssm = Mamba2SSM(
            heads,
            inner // heads,
            state_dim,
            rngs=rngs,
            form=form,
            chunk_size=chunk_size,
            options=options,
        )
        self.gated_norm = nnx.RMSNorm(inner, epsilon=NORM_EPS, rngs=rngs)
        out_init = torch_uniform(inner, 1.0 / math.sqrt(num_blocks))
        self.out_proj = nnx.Linear(inner, width, use_bias=False, kernel_init=out_init, rngs=rngs)

    def _split(self, x: jax.Array):
        z, xbc, dt = jnp.split(
            self.in_proj(self.norm(x)), [self.inner, 2 * self.inner + 2 * self.state_dim], axis=-1
        )
        return z, xbc, dt

    def _out(self, x: jax.Array, y: jax.Array, z: jax.Array) -> jax.Array:
        return x + self.out_proj(self.gated_norm(y * jax.nn.silu(z)))

    def __call__(self, x_TBD: jax.Array) -> jax.Array:
        z, xbc, dt = self._split(x_TBD)
        y = self.ssm(jnp.concatenate([jax.nn.silu(self.conv(xbc)), dt], axis=-1))
        return self._out(x_TBD, y, z)

    # Streaming: the conv's last K − 1 inputs (of xBC) and h [H, P·N], from zeros.
    def initial_state(self, batch_size: int) -> tuple[jax.Array, jax.Array]:
        return self.conv.initial_state(batch_size), self.ssm.initial_state(batch_size)

    def step(self, carry, x_BD: jax.Array):
        window, h = carry
        z, xbc, dt = self._split(x_BD)
        window, xbc = self.conv.step(window, xbc)
        h, y = self.ssm.step(h, jnp.concatenate([jax.nn.silu(xbc), dt], axis=-1))
        return (window, h), self._out(x_BD, y, z)


@MODELS.register(
    "mamba2",
    "Mamba-2 (Dao & Gu 2024): pre-norm residual Mamba-2 blocks, scalar A per head "
    "(model.heads), gated RMSNorm; model.state_dim N (0: 64); model.scan_form picks scan, "
    "associative, chunked or ssd (the paper's chunked SSD algorithm)",
    sizes=BLOCK_SIZES,
    blocks=True,
    causal=lambda cfg: True,
    size_fields=("heads",),
    scan_forms=FORMS,
)
def make_mamba2(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    if cfg.state_dim < 0:
        raise ValueError(f"model.state_dim must be >= 0 (0 = 64 for mamba2), got {cfg.state_dim}")

    def make_block(index: int, width: int, rngs: nnx.Rngs) -> Mamba2Block:
        return Mamba2Block(
            width,
            heads=cfg.heads,
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
