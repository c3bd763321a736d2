"""Hawk (De et al. 2024, "Griffin: Mixing Gated Linear Recurrences with Local Attention for
Efficient Language Models"): residual blocks of the RG-LRU recurrent block and a gated MLP.

    x = x + W_out (RG-LRU(conv(W_x n)) ⊙ GeLU(W_y n)),   n = RMSNorm(x)      (recurrent block)
    x = x + W_down (GeLU(W_up,0 m) ⊙ W_up,1 m),          m = RMSNorm(x)      (MLP block)

The RG-LRU (Real-Gated Linear Recurrent Unit, the paper's eqs. 1-4), on the conv's output u:

    r_t = σ(W_a u_t + b_a),  i_t = σ(W_x u_t + b_x)           (block-diagonal, model.heads blocks)
    log a_t = −c · r_t · softplus(Λ),  c = 8                   (a_t = σ(−Λ)^(c r_t))
    h_t = a_t ⊙ h_{t−1} + √(1 − a_t²) ⊙ (i_t ⊙ u_t)

Everything as recurrentgemma's code (the `recurrentgemma` package 1.0.1, torch/layers.py and
torch/modules.py, whose JAX twin is jax/layers.py, jax/modules.py): RG-LRU, Conv1D (temporal
width model.conv_kernel, 4 there), RecurrentBlock, MLPBlock (expanded width 3 · width, the
presets' `mlp_expanded_width`), ResidualBlock; GeLU the tanh approximation; RMSNorm eps 1e-6.
Its initialisation: W_x, W_y ~ N(0, 1/width); the gates' blocks ~ N(0, 1/block width); conv
weights ~ N(0, 0.01/kernel); W_up ~ N(0, 1/width); W_out ~ N(0, s/lru_width) and
W_down ~ N(0, s/(3·width)) with s = 2/model.layers (Griffin's final_w_init_variance_scale);
biases 0; Λ with σ(−Λ)² uniform on [0.9², 0.999²] (`rnn_param_init(min_rad=0.9, max_rad=0.999)`:
the code puts the base a = σ(−Λ) in [0.9, 0.999]; the paper's text says a^c). √(1 − a²) has
the code's derivative bound: 1/√max(4x, 10⁻⁶), at most 1000, where a → 1.

Differences, all of form rather than function: our RMSNorm's scale is the scale itself (theirs
stores scale − 1); the bias of the gates is [lru_width] (theirs [heads, block width]). Not
built: recurrentgemma's document resets (segment_pos == 0 zeroes a and skips the √(1 − a²)
factor, for packed documents): here every step follows eq. 4, the first step too. Griffin
(local-attention blocks between these) is not built.

The block's streaming state is the true recurrent state: the conv's last kernel − 1 inputs and
h. `model.state_dim` is the RG-LRU width; 0 (the default) is model.hidden, rounded up to a
multiple of model.heads where it is not one (the gates' blocks must tile it): so model.hidden
may be any width, which `model.param_budget` needs (in steps of model.heads = 4 the 5% window
can fall between two widths below ~80 wide). `model.scan_form` runs the RG-LRU as scan,
associative or chunked (linear_recurrence.py).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.block_diagonal import block_diagonal
from seqlab.models.linear_recurrence import (
    AFFINE_FORMS,
    LinearCell,
    LinearCellLayer,
    as_cell,
    check_form,
)
from seqlab.models.mlstm import causal_conv
from seqlab.models.recurrence import DEFAULT_OPTIONS, Params, ScanOptions
from seqlab.models.scan_defaults import scan_form
from seqlab.models.sequence import SequenceModel, scan_options
from seqlab.models.sizing import BLOCK_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

C = 8.0  # the RG-LRU's fixed scalar c (recurrentgemma: log_a = -8.0 * gate_a * softplus(a))
MAX_SQRT_GRADIENT = 1000.0  # recurrentgemma's _MAX_SQRT_GRADIENT
MLP_EXPANSION = 3  # recurrentgemma's presets: mlp_expanded_width = 3 · width
NORM_EPS = 1e-6  # recurrentgemma's RMSNorm


@jax.custom_jvp
def sqrt_bounded_derivative(x: jax.Array) -> jax.Array:
    """√x whose derivative is clipped at MAX_SQRT_GRADIENT (as recurrentgemma's
    SqrtBoundDerivative): √(1 − a²) at a → 1 would otherwise give infinite gradients."""
    return jnp.sqrt(x)


@sqrt_bounded_derivative.defjvp
def _sqrt_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return jnp.sqrt(x), dx / jnp.sqrt(jnp.maximum(4.0 * x, 1.0 / MAX_SQRT_GRADIENT**2))


def rglru_coefficients(params: Params, u: jax.Array):
    gate_x = jax.nn.sigmoid(block_diagonal(u, params["input_gate"]) + params["input_gate_b"])
    gate_a = jax.nn.sigmoid(block_diagonal(u, params["a_gate"]) + params["a_gate_b"])
    log_a = -C * gate_a * jax.nn.softplus(params["a_param"])
    multiplier = sqrt_bounded_derivative(1.0 - jnp.exp(2.0 * log_a))
    return jnp.exp(log_a), u * gate_x * multiplier, None


def rglru_output(params: Params, h: jax.Array, aux) -> jax.Array:
    return h


def rglru_initial_state(params: Params, batch_size: int) -> jax.Array:
    return jnp.zeros((batch_size, params["a_param"].shape[0]), params["a_param"].dtype)


RG_LRU = LinearCell(rglru_coefficients, rglru_output, rglru_initial_state)


def a_param_init(key: jax.Array, width: int, min_rad: float = 0.9, max_rad: float = 0.999):
    """Λ with a = σ(−Λ) = exp(−softplus(Λ)) and a² uniform on [min_rad², max_rad²]
    (recurrentgemma's rnn_param_init, softplus transform, its eps 1e-8 included)."""
    unif = jax.random.uniform(key, (width,), minval=min_rad**2 + 1e-8, maxval=max_rad**2 + 1e-8)
    log_a = 0.5 * jnp.log(unif)
    return jnp.log(jnp.exp(-log_a) - 1.0)  # softplus⁻¹(−log a)


class RGLRU(LinearCellLayer):
    """The RG-LRU over [T, B, W] (W = lru_width, `heads` gate blocks), by `form`."""

    linear = RG_LRU
    cell = as_cell(RG_LRU)

    def __init__(
        self,
        width: int,
        heads: int,
        *,
        rngs: nnx.Rngs,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        check_form(form, RG_LRU, "hawk")
        if width % heads:
            raise ValueError(
                f"hawk: the RG-LRU width {width} (model.state_dim, or model.hidden when 0) must "
                f"be a multiple of model.heads={heads}"
            )
        self.out_features, self.options = width, options
        self.form, self.chunk_size = form, chunk_size
        block = width // heads
        blocks = lambda: jax.random.normal(rngs.params(), (heads, block, block)) / math.sqrt(block)  # noqa: E731
        self.a_param = nnx.Param(a_param_init(rngs.params(), width))
        self.input_gate = nnx.Param(blocks())
        self.input_gate_b = nnx.Param(jnp.zeros((width,)))
        self.a_gate = nnx.Param(blocks())
        self.a_gate_b = nnx.Param(jnp.zeros((width,)))


def _normal(std: float):
    return nnx.initializers.normal(std)


class HawkBlock(nnx.Module):
    """recurrentgemma's ResidualBlock with a RecurrentBlock: [T, B, D] -> [T, B, D]."""

    def __init__(
        self,
        width: int,
        *,
        heads: int,
        rngs: nnx.Rngs,
        lru_width: int = 0,
        conv_kernel: int = 4,
        num_blocks: int = 1,
        form: str = "scan",
        chunk_size: int = 64,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        if conv_kernel < 1:
            raise ValueError(f"hawk: model.conv_kernel must be >= 1, got {conv_kernel}")
        W = lru_width or heads * -(-width // heads)  # module docstring: rounded up
        final = 2.0 / num_blocks  # Griffin's final_w_init_variance_scale
        expanded = MLP_EXPANSION * width
        self.out_features = width
        self.temporal_norm = nnx.RMSNorm(width, epsilon=NORM_EPS, rngs=rngs)
        inner = _normal(math.sqrt(1.0 / width))
        self.linear_y = nnx.Linear(width, W, kernel_init=inner, rngs=rngs)
        self.linear_x = nnx.Linear(width, W, kernel_init=inner, rngs=rngs)
        self.conv_w = nnx.Param(
            _normal(math.sqrt(0.01 / conv_kernel))(rngs.params(), (conv_kernel, W))
        )
        self.conv_b = nnx.Param(jnp.zeros((W,)))
        self.rg_lru = RGLRU(W, heads, rngs=rngs, form=form, chunk_size=chunk_size, options=options)
        self.linear_out = nnx.Linear(W, width, kernel_init=_normal(math.sqrt(final / W)), rngs=rngs)
        self.channel_norm = nnx.RMSNorm(width, epsilon=NORM_EPS, rngs=rngs)
        self.ffw_up = nnx.Param(inner(rngs.params(), (2, width, expanded)))
        self.ffw_up_b = nnx.Param(jnp.zeros((2, expanded)))
        down = _normal(math.sqrt(final / expanded))
        self.ffw_down = nnx.Linear(expanded, width, kernel_init=down, rngs=rngs)

    def _mlp(self, x: jax.Array) -> jax.Array:
        m = self.channel_norm(x)
        gate = jax.nn.gelu(m @ self.ffw_up[0] + self.ffw_up_b[0], approximate=True)
        return self.ffw_down(gate * (m @ self.ffw_up[1] + self.ffw_up_b[1]))

    def __call__(self, x_TBD: jax.Array) -> jax.Array:
        n = self.temporal_norm(x_TBD)
        y = jax.nn.gelu(self.linear_y(n), approximate=True)
        u = causal_conv(self.linear_x(n), self.conv_w[...], self.conv_b[...])
        x_TBD = x_TBD + self.linear_out(self.rg_lru(u) * y)
        return x_TBD + self._mlp(x_TBD)

    # Streaming: the conv's last kernel − 1 inputs and the RG-LRU state, from zeros.
    def initial_state(self, batch_size: int) -> tuple[jax.Array, jax.Array]:
        K, W = self.conv_w.shape
        return jnp.zeros((batch_size, K - 1, W)), self.rg_lru.initial_state(batch_size)

    def step(self, carry, x_BD: jax.Array):
        conv_BKW, h_BW = carry
        n = self.temporal_norm(x_BD)
        y = jax.nn.gelu(self.linear_y(n), approximate=True)
        window_BKW = jnp.concatenate([conv_BKW, self.linear_x(n)[:, None]], axis=1)
        u = jnp.einsum("bkw,kw->bw", window_BKW, self.conv_w[...]) + self.conv_b[...]
        h_BW, r_BW = self.rg_lru.step(h_BW, u)
        x_BD = x_BD + self.linear_out(r_BW * y)
        return (window_BKW[:, 1:], h_BW), x_BD + self._mlp(x_BD)


@MODELS.register(
    "hawk",
    "Hawk (De et al. 2024): residual blocks of conv + RG-LRU gated by a GeLU branch, then a "
    "gated MLP; model.scan_form picks scan, associative or chunked",
    sizes=BLOCK_SIZES,
    blocks=True,
    causal=lambda cfg: True,
    size_fields=("heads",),
    scan_forms=AFFINE_FORMS,
)
def make_hawk(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    if cfg.state_dim < 0:
        raise ValueError(f"model.state_dim must be >= 0 (0 = model.hidden), got {cfg.state_dim}")

    def make_block(index: int, width: int, rngs: nnx.Rngs) -> HawkBlock:
        return HawkBlock(
            width,
            heads=cfg.heads,
            rngs=rngs,
            lru_width=cfg.state_dim,
            conv_kernel=cfg.conv_kernel,
            num_blocks=cfg.layers,
            form=scan_form(cfg),
            chunk_size=cfg.chunk_size,
            options=scan_options(cfg),
        )

    return SequenceModel(cfg, spec, make_block, rngs=rngs, blocks=True)
