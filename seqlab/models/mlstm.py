"""mLSTM layer and block (Beck et al. 2024, xLSTM, §2.3 and Fig. 11): NX-AI's mLSTMLayer.

    x_in, z = split(W_up x)                         (up-projection by model.proj_factor)
    x_c = swish(causal depthwise conv(x_in))        (kernel model.conv_kernel, with bias)
    q, k = headwise(x_c), v = headwise(x_in)        (block-diagonal, blocks of 4: block_diagonal)
    ĩ, f̃ = W_i [q; k; v] + b_i, W_f [q; k; v] + b_f   (one scalar per head)
    h = multi-head-norm(mLSTM cell(q, k, v, ĩ, f̃))  (mlstm_forms; model.mlstm_form)
    y = W_down ((h + skip ⊙ x_c) ⊙ swish(z))

The block is pre-LayerNorm → layer → residual (NX-AI's mLSTMBlock without feed-forward).
Weights map one to one onto NX-AI's `xlstm` (2.0.6) modules; kernels are stored [in, out]
(torch's transposed) and the headwise weights [blocks, in, out] (NX-AI's [blocks, out, in]).
Two parametrisation differences, same function: our norm scales are the scale itself, where
NX-AI stores scale − 1 (its "residual weight"); and the inner width is exactly
proj_factor · width, where NX-AI rounds it up to a multiple of 64 (set its
`round_proj_up_to_multiple_of` to match).

Initialisation is NX-AI's `reset_parameters` (mLSTMLayer, mLSTMCell, xLSTMBlock): W_up and the
q/k/v blocks ~ N(0, 2/(5·width)) ("small init", Nguyen & Salazar 2019, with the outer width as
NX-AI does); W_down ~ N(0, (2 / (layers·√width))²) ("Wang init"); conv as torch's Conv1d
default, U(±1/√kernel) for weight and bias; gate weights 0, input-gate bias ~ N(0, 0.1²),
forget-gate bias linspace(3, 6) over the heads; norm scales and skip 1. Dropout is omitted
(NX-AI's default is 0).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models import mlstm_forms
from seqlab.models.block_diagonal import block_diagonal
from seqlab.models.mlstm_forms import FORMS, MLSTMState, mlstm_sequence, mlstm_step
from seqlab.models.sequence import SequenceModel
from seqlab.models.sizing import BLOCK_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

QKV_BLOCK = 4  # NX-AI's qkv_proj_blocksize: the q/k/v maps are block-diagonal in blocks of 4
NORM_EPS = 1e-5  # NX-AI's LayerNorm and MultiHeadLayerNorm


def inner_width(width: int, proj_factor: float, heads: int) -> int:
    """proj_factor · width; it must be a whole multiple of lcm(heads, QKV_BLOCK)."""
    inner = round(proj_factor * width)
    multiple = math.lcm(heads, QKV_BLOCK)
    if proj_factor <= 0 or abs(proj_factor * width - inner) > 1e-6 or inner % multiple:
        raise ValueError(
            f"mLSTM: model.proj_factor={proj_factor} × model.hidden={width} must be a whole "
            f"multiple of lcm(model.heads={heads}, {QKV_BLOCK})={multiple}; "
            f"use model.hidden a multiple of {width_multiple(proj_factor, heads)}"
        )
    return inner


def width_multiple(proj_factor: float, heads: int) -> int:
    """The smallest width w with proj_factor · w a whole multiple of lcm(heads, 4).

    The valid widths are the multiples of it (they form a subgroup of the integers).
    """
    multiple = math.lcm(heads, QKV_BLOCK)
    for w in range(1, 100_001):
        inner = round(proj_factor * w)
        if inner > 0 and abs(proj_factor * w - inner) <= 1e-6 and inner % multiple == 0:
            return w
    raise ValueError(f"mLSTM: model.proj_factor={proj_factor} gives no whole inner width")


def causal_conv(x_TBF: jax.Array, w_KF: jax.Array, b_F: jax.Array) -> jax.Array:
    """Depthwise causal convolution over time: y_t = Σ_j w_j x_{t-K+1+j} + b (torch's order)."""
    K, T = w_KF.shape[0], x_TBF.shape[0]
    x_pad = jnp.pad(x_TBF, [(K - 1, 0)] + [(0, 0)] * (x_TBF.ndim - 1))
    return sum(w_KF[j] * x_pad[j : j + T] for j in range(K)) + b_F


def head_norm(h: jax.Array, scale: jax.Array) -> jax.Array:
    """Layer norm of each head's features (NX-AI's MultiHeadLayerNorm = group norm, no bias).

    h [..., NH, DH] -> [..., NH·DH].
    """
    mean = h.mean(-1, keepdims=True)
    var = jnp.square(h - mean).mean(-1, keepdims=True)
    normed = (h - mean) * jax.lax.rsqrt(var + NORM_EPS)
    return normed.reshape(*h.shape[:-2], -1) * scale


def _forget_bias_init(key, shape, dtype=jnp.float32):
    return jnp.linspace(3.0, 6.0, shape[0], dtype=dtype)


class MLSTMLayer(nnx.Module):
    """[T, B, width] -> [T, B, width]; NX-AI's mLSTMLayer (module docstring)."""

    def __init__(
        self,
        width: int,
        *,
        heads: int,
        rngs: nnx.Rngs,
        proj_factor: float = 2.0,
        conv_kernel: int = 4,
        form: str = "parallel",
        chunk_size: int = 64,
        num_blocks: int = 1,
    ):
        if form not in FORMS:
            raise ValueError(f"model.mlstm_form is {form!r}; valid choices: {', '.join(FORMS)}")
        if conv_kernel < 1 or chunk_size < 1:
            raise ValueError("mLSTM: model.conv_kernel and model.chunk_size must be >= 1")
        inner = inner_width(width, proj_factor, heads)
        self.width, self.inner, self.heads = width, inner, heads
        self.form, self.chunk_size = form, chunk_size
        self.out_features = width
        normal = nnx.initializers.normal
        small = normal(math.sqrt(2 / (5 * width)))
        self.proj_up = nnx.Linear(width, 2 * inner, use_bias=False, kernel_init=small, rngs=rngs)
        bound = 1 / math.sqrt(conv_kernel)
        uniform = lambda shape: jax.random.uniform(  # noqa: E731
            rngs.params(), shape, minval=-bound, maxval=bound
        )
        self.conv_kernel = nnx.Param(uniform((conv_kernel, inner)))
        self.conv_bias = nnx.Param(uniform((inner,)))
        blocks = (inner // QKV_BLOCK, QKV_BLOCK, QKV_BLOCK)
        self.q_proj = nnx.Param(small(rngs.params(), blocks))
        self.k_proj = nnx.Param(small(rngs.params(), blocks))
        self.v_proj = nnx.Param(small(rngs.params(), blocks))
        zeros = nnx.initializers.zeros
        self.igate = nnx.Linear(
            3 * inner, heads, kernel_init=zeros, bias_init=normal(0.1), rngs=rngs
        )
        self.fgate = nnx.Linear(
            3 * inner, heads, kernel_init=zeros, bias_init=_forget_bias_init, rngs=rngs
        )
        self.norm_scale = nnx.Param(jnp.ones((inner,)))
        self.skip = nnx.Param(jnp.ones((inner,)))
        wang = normal(2 / num_blocks / math.sqrt(width))
        self.proj_down = nnx.Linear(inner, width, use_bias=False, kernel_init=wang, rngs=rngs)

    # The parts shared by the sequence form and the streaming step: [..., F] in any layout.
    def _qkv_gates(self, x_in: jax.Array, x_conv: jax.Array):
        q = block_diagonal(x_conv, self.q_proj[...])
        k = block_diagonal(x_conv, self.k_proj[...])
        v = block_diagonal(x_in, self.v_proj[...])
        qkv = jnp.concatenate([q, k, v], -1)
        i, f = self.igate(qkv), self.fgate(qkv)  # [..., NH]
        heads = lambda a: a.reshape(*a.shape[:-1], self.heads, -1)  # noqa: E731
        return heads(q), heads(k), heads(v), i, f

    def _output(self, h: jax.Array, x_conv: jax.Array, z: jax.Array) -> jax.Array:
        h = head_norm(h, self.norm_scale[...]) + self.skip[...] * x_conv
        return self.proj_down(h * jax.nn.silu(z))

    def __call__(self, x_TBD: jax.Array) -> jax.Array:
        x_in, z = jnp.split(self.proj_up(x_TBD), 2, axis=-1)
        x_conv = jax.nn.silu(causal_conv(x_in, self.conv_kernel[...], self.conv_bias[...]))
        q, k, v, i, f = self._qkv_gates(x_in, x_conv)  # [T, B, NH(, DH)]
        cell_layout = lambda a: jnp.moveaxis(a, 0, 2)  # noqa: E731  -> [B, NH, T(, DH)]
        h = mlstm_sequence(self.form, *map(cell_layout, (q, k, v, i, f)), self.chunk_size)
        return self._output(jnp.moveaxis(h, 2, 0), x_conv, z)

    # Streaming: the conv's last K-1 inputs and the cell state (C, n, m), from zeros.
    def initial_state(self, batch_size: int) -> tuple[jax.Array, MLSTMState]:
        K = self.conv_kernel.shape[0]
        conv_BKF = jnp.zeros((batch_size, K - 1, self.inner))
        cell = mlstm_forms.initial_state(batch_size, self.heads, self.inner // self.heads)
        return conv_BKF, cell

    def step(self, carry, x_BD: jax.Array):
        conv_BKF, cell = carry
        x_in, z = jnp.split(self.proj_up(x_BD), 2, axis=-1)
        window_BKF = jnp.concatenate([conv_BKF, x_in[:, None]], axis=1)
        x_conv = jnp.einsum("bkf,kf->bf", window_BKF, self.conv_kernel[...])
        x_conv = jax.nn.silu(x_conv + self.conv_bias[...])
        cell, h_BND = mlstm_step(cell, *self._qkv_gates(x_in, x_conv))
        return (window_BKF[:, 1:], cell), self._output(h_BND, x_conv, z)


class MLSTMBlock(nnx.Module):
    """x + MLSTMLayer(LayerNorm(x)), time-major, `out_features = width` (NX-AI's mLSTMBlock)."""

    def __init__(self, cfg, width: int, *, rngs: nnx.Rngs):
        self.out_features = width
        # NX-AI's LayerNorm: no bias, eps 1e-5.
        self.norm = nnx.LayerNorm(
            width, epsilon=NORM_EPS, use_bias=False, use_fast_variance=False, rngs=rngs
        )
        self.layer = MLSTMLayer(
            width,
            heads=cfg.heads,
            proj_factor=cfg.proj_factor,
            conv_kernel=cfg.conv_kernel,
            form=cfg.mlstm_form,
            chunk_size=cfg.chunk_size,
            num_blocks=cfg.layers,
            rngs=rngs,
        )

    def __call__(self, x_TBD: jax.Array) -> jax.Array:
        return x_TBD + self.layer(self.norm(x_TBD))

    def initial_state(self, batch_size: int):
        return self.layer.initial_state(batch_size)

    def step(self, carry, x_BD: jax.Array):
        carry, y_BD = self.layer.step(carry, self.norm(x_BD))
        return carry, x_BD + y_BD


@MODELS.register(
    "mlstm",
    "mLSTM block stack (Beck et al. 2024): matrix memory; model.mlstm_form picks the form",
    sizes=BLOCK_SIZES,
    blocks=True,
    causal=lambda cfg: True,
    width_multiple=lambda cfg: width_multiple(cfg.proj_factor, cfg.heads),
    size_fields=("heads",),
)
def make_mlstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(
        cfg, spec, lambda i, d, rngs: MLSTMBlock(cfg, d, rngs=rngs), rngs=rngs, blocks=True
    )
