"""sLSTM (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory", eqs. 8-17), exact against
NX-AI's `xlstm` package (2.0.6): its sLSTM cell, and its sLSTM block with post-up-projection.

Per unit, gate order i, f, z, o (NX-AI's weight and bias layout):

    ĩ, f̃, z̃, õ = W x_t + R h_{t-1} + b      R block-diagonal: one [hd, 4·hd] block per head
    log f_t = log σ(f̃)  (forget_gate="sigmoid", NX-AI's)  or  f̃  ("exponential": f = exp f̃)
    m_t = max(log f_t + m_{t-1}, ĩ)          (m_t = ĩ while n_{t-1} = 0: the first step)
    i' = exp(ĩ - m_t),   f' = exp(log f_t + m_{t-1} - m_t)
    c_t = f' c_{t-1} + i' tanh(z̃),   n_t = f' n_{t-1} + i',   h_t = σ(õ) c_t / n_t

The state is (h, c, n, m), all zeros at the start, as NX-AI's. One of i', f' is exactly 1, so
n_t >= 1 after the first step and |h_t| < 1. NX-AI tests "n == 0" for the whole tensor at once;
we test it per unit, which is the same for every state the recurrence reaches.

No gradient through the stabiliser m_t (stop_gradient), as in NX-AI's CUDA kernel, whose
backward pass treats m as a constant; NX-AI's vanilla (PyTorch) backend differentiates through
m. c_t and n_t both carry the factor exp(-m_t), so h_t does not depend on m and the gradients
of any function of the outputs agree (tested to 1e-4); only derivatives of the raw c, n carries
differ. NX-AI clamps i' and f' at 1. For i' that is a no-op (m_t >= ĩ), left out; f' needs it
at the first step, where m_1 = ĩ can lie below log f_1 + m_0 (f' multiplies c_0 = n_0 = 0 there,
but exp would overflow to inf and give nan).

Layouts: the projected gates [..., 4H] are gate-major, then head, then unit (G, K, hd), which
is NX-AI's vanilla bias layout (`cell._bias` copies as is); `r` [K, hd_in, 4, hd_out] is its
external `recurrent_kernel` layout.

Initialisation follows NX-AI's defaults: input/gate projections N(0, 2/(5·D)) ("small init"),
recurrent weights zero (`recurrent_weight_init="zeros"`), biases zero except the forget gate's
"powerlaw_blockdependent" values per head, b_f[j] = 5 - 12·(j/(hd-1))^(0.3 + 1.3·r), r = block
index / (blocks - 1). For the exponential forget gate we use log σ of those values, so the
initial forget factors equal the sigmoid gate's. `model.forget_bias`/`chrono_tmax` are unused.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.cell_layer import CellLayer
from seqlab.models.recurrence import (
    DEFAULT_OPTIONS,
    Cell,
    Params,
    ScanOptions,
    scan_cell,
    step,
)
from seqlab.models.sequence import SequenceModel, recurrent, scan_options
from seqlab.models.sizing import CELL_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

FORGET_GATES = ("sigmoid", "exponential")
LN_EPS = 1e-5  # NX-AI's LayerNorm and group-norm epsilon
FFN_ROUND = 64  # NX-AI rounds the feed-forward up-projection up to a multiple of 64


# ---------------------------------------------------------------- the cell


def slstm_pointwise(carry, raw_BG: jax.Array, forget_gate: str):
    """Eqs. 8-17 from the full gate pre-activations [B, 4H]; returns ((h, c, n, m), h)."""
    _, c_BH, n_BH, m_BH = carry
    i, f, z, o = jnp.split(raw_BG, 4, axis=-1)
    log_f = jax.nn.log_sigmoid(f) if forget_gate == "sigmoid" else f
    m_new = jax.lax.stop_gradient(jnp.where(n_BH == 0, i, jnp.maximum(log_f + m_BH, i)))
    i_gate = jnp.exp(i - m_new)
    # Clamped at 1 (NX-AI's min(f', 1)): at the first step m_t = ĩ may lie below log f + m_0,
    # and exp would overflow (inf · c_0 = nan). `where`, not `minimum`: at the common tie
    # (exponent exactly 0) minimum would halve the gradient.
    f_arg = log_f + m_BH - m_new
    f_gate = jnp.exp(jnp.where(f_arg > 0, 0.0, f_arg))
    c_BH = f_gate * c_BH + i_gate * jnp.tanh(z)
    n_BH = f_gate * n_BH + i_gate
    h_BH = jax.nn.sigmoid(o) * c_BH / n_BH
    return (h_BH, c_BH, n_BH, m_new), h_BH


def headwise_recurrence(r_KDGE: jax.Array, h_BH: jax.Array) -> jax.Array:
    """R h_{t-1} with one block per head: [..., H] -> [..., 4H] in the (gate, head, unit) layout.

    One matmul per head on its slice of h: an einsum batched over the heads makes XLA's CPU
    backend move the head axis in front of the batch, twice a step and twice again in the
    backward pass. Slices made the parity sLSTM program of experiments/length_generalisation.py
    (3 seeds, B=128, T<=40, hidden 300, 2 heads) train at 1.67 rather than 1.23 steps/s.
    """
    heads, hd = r_KDGE.shape[:2]
    per_head = [
        h_BH[..., k * hd : (k + 1) * hd] @ r_KDGE[k].reshape(hd, 4 * hd) for k in range(heads)
    ]
    ry = jnp.stack([p.reshape(*p.shape[:-1], 4, hd) for p in per_head], axis=-2)  # [..., 4, K, hd]
    return ry.reshape(*h_BH.shape[:-1], 4 * heads * hd)


def slstm_recur(params: Params, carry, xp_BG: jax.Array, *, forget_gate: str):
    return slstm_pointwise(carry, xp_BG + headwise_recurrence(params["r"], carry[0]), forget_gate)


def slstm_project(params: Params, x: jax.Array) -> jax.Array:
    return x @ params["w"] + params["b"]


def slstm_initial_carry(params: Params, batch_size: int):
    heads, hd = params["r"].shape[:2]
    zeros = jnp.zeros((batch_size, heads * hd), params["r"].dtype)
    return zeros, zeros, zeros, zeros


def _cells(project) -> dict[str, Cell]:
    return {
        g: Cell(project, functools.partial(slstm_recur, forget_gate=g), slstm_initial_carry)
        for g in FORGET_GATES
    }


SLSTM_CELLS = _cells(slstm_project)  # dense input projection (SLSTMLayer)
# The block projects its input itself (conv + headwise maps); its cell only adds the bias.
_BLOCK_CELLS = _cells(lambda params, gates: gates + params["b"])


def slstm_bias(
    hidden: int, heads: int, forget_gate: str, block_index: int = 0, num_blocks: int = 1
) -> jax.Array:
    """NX-AI's "powerlaw_blockdependent" bias [4H]: zero but for the forget gate."""
    hd = hidden // heads
    ratio = block_index / (num_blocks - 1) if num_blocks > 1 else 0.0
    # linspace, not arange/(hd-1): NX-AI's formula divides by zero for one unit per head.
    b_f = -(-5.0 + 12.0 * jnp.linspace(0.0, 1.0, hd) ** (0.3 + 1.3 * ratio))
    if forget_gate == "exponential":
        b_f = jax.nn.log_sigmoid(b_f)
    return jnp.zeros((4, heads, hd)).at[1].set(jnp.broadcast_to(b_f, (heads, hd))).reshape(-1)


def check_heads(hidden: int, heads: int, forget_gate: str) -> None:
    if heads <= 0 or hidden % heads:
        raise ValueError(f"model.hidden={hidden} must be divisible by model.heads={heads}")
    if forget_gate not in FORGET_GATES:
        raise ValueError(
            f"model.forget_gate={forget_gate!r}; valid choices: {', '.join(FORGET_GATES)}"
        )


def small_init(key: jax.Array, shape: tuple[int, ...], fan_in: int) -> jax.Array:
    """NX-AI's small_init_init_ (Nguyen & Salazar 2019): N(0, 2 / (5 · fan_in))."""
    return math.sqrt(2 / (5 * fan_in)) * jax.random.normal(key, shape)


class SLSTMLayer(CellLayer):
    """Dense input projection + the sLSTM cell: [T, B, D] -> [T, B, H], driven by scan_cell."""

    def __init__(
        self,
        in_features: int,
        hidden: int,
        *,
        heads: int,
        rngs: nnx.Rngs,
        forget_gate: str = "sigmoid",
        block_index: int = 0,
        num_blocks: int = 1,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        check_heads(hidden, heads, forget_gate)
        self.out_features = hidden
        self.options = options
        self.forget_gate = forget_gate
        self.w = nnx.Param(small_init(rngs.params(), (in_features, 4 * hidden), in_features))
        self.b = nnx.Param(slstm_bias(hidden, heads, forget_gate, block_index, num_blocks))
        hd = hidden // heads
        self.r = nnx.Param(jnp.zeros((heads, hd, 4, hd)))

    @property
    def cell(self) -> Cell:
        return SLSTM_CELLS[self.forget_gate]


def slstm_layers(cfg):
    check_heads(cfg.hidden, cfg.heads, cfg.forget_gate)
    if cfg.learn_initial_state:  # `recurrent` would make (h, c, n, m) parameters
        raise ValueError(
            "model.learn_initial_state does not apply to slstm (its normaliser n starts at 0)"
        )

    def make_layer(index: int, in_features: int, rngs: nnx.Rngs) -> nnx.Module:
        def direction(in_features: int, rngs: nnx.Rngs) -> SLSTMLayer:
            return SLSTMLayer(
                in_features,
                cfg.hidden,
                heads=cfg.heads,
                rngs=rngs,
                forget_gate=cfg.forget_gate,
                block_index=index,
                num_blocks=cfg.layers,
                options=scan_options(cfg),
            )

        return recurrent(cfg, direction)(index, in_features, rngs)

    return make_layer


@MODELS.register(
    "slstm",
    "sLSTM: exponential gating, normaliser and stabiliser states, block-diagonal heads "
    "(Beck et al. 2024)",
    sizes=CELL_SIZES,
    recurrent=True,
    width_multiple=lambda cfg: cfg.heads,
    size_fields=("heads",),
)
def make_slstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, slstm_layers(cfg), rngs=rngs)


# ---------------------------------------------------------------- the block


def _layer_norm(width: int, rngs: nnx.Rngs) -> nnx.LayerNorm:
    # NX-AI's LayerNorm: no bias, eps 1e-5, exact variance (its weight w acts as 1 + w).
    return nnx.LayerNorm(width, epsilon=LN_EPS, use_bias=False, use_fast_variance=False, rngs=rngs)


class SLSTMBlock(nnx.Module):
    """The sLSTM block with post-up-projection (paper Fig. 9; NX-AI's sLSTMBlock).

        y = x + GroupNorm_heads(sLSTM(i, f <- swish(conv(LN(x))); z, o <- LN(x)))
        out = y + W_down (gelu(W_gate LN(y)) ⊙ W_up LN(y))

    The conv is causal and depthwise (`model.conv_kernel` taps, with bias; 0: no conv and no
    swish); the four gate maps are headwise (block-diagonal, no bias); the feed-forward width
    is `model.ffn_factor`·width rounded up to a multiple of 64; gelu is the exact (erf) one.
    NX-AI's sLSTMLayer computes i with its module named `fgate` and f with `igate`: here
    `w_i` and `w_f` are named by the gate they feed.
    """

    def __init__(
        self, cfg, width: int, *, rngs: nnx.Rngs, block_index: int = 0, num_blocks: int = 1
    ):
        heads, ks = cfg.heads, cfg.conv_kernel
        check_heads(width, heads, cfg.forget_gate)
        if ks < 0:
            raise ValueError(f"model.conv_kernel={ks} must be >= 0 (0: no convolution)")
        hd = width // heads
        self.out_features = width
        self.heads, self.conv_kernel = heads, ks
        self.forget_gate = cfg.forget_gate
        self.options = scan_options(cfg)
        self.xlstm_norm = _layer_norm(width, rngs)
        if ks:
            # torch Conv1d's default init for a depthwise kernel: U(±1/√ks) for weight and bias
            bound = 1 / math.sqrt(ks)
            uniform = nnx.initializers.uniform(2 * bound)
            self.conv_w = nnx.Param(uniform(rngs.params(), (ks, width)) - bound)
            self.conv_b = nnx.Param(uniform(rngs.params(), (width,)) - bound)
        for gate in "ifzo":  # [K, hd_in, hd_out]
            setattr(self, f"w_{gate}", nnx.Param(small_init(rngs.params(), (heads, hd, hd), width)))
        self.r = nnx.Param(jnp.zeros((heads, hd, 4, hd)))
        self.b = nnx.Param(slstm_bias(width, heads, cfg.forget_gate, block_index, num_blocks))
        self.group_norm_scale = nnx.Param(jnp.ones((width,)))
        self.ffn_norm = _layer_norm(width, rngs)
        up = math.ceil(cfg.ffn_factor * width / FFN_ROUND) * FFN_ROUND
        self.ffn_up = nnx.Linear(
            width,
            2 * up,
            use_bias=False,
            kernel_init=nnx.initializers.normal(math.sqrt(2 / (5 * width))),
            rngs=rngs,
        )
        # NX-AI's wang_init: std 2 / (num_blocks · √width)
        self.ffn_down = nnx.Linear(
            up,
            width,
            use_bias=False,
            kernel_init=nnx.initializers.normal(2 / num_blocks / math.sqrt(width)),
            rngs=rngs,
        )

    def _cell_params(self) -> Params:
        return {"r": self.r[...], "b": self.b[...]}

    def _conv(self, window_KXD: jax.Array) -> jax.Array:
        """The conv output at the window's last step, swished: [ks, ..., D] -> [..., D]."""
        w_KD = self.conv_w[...].reshape((self.conv_kernel,) + (1,) * (window_KXD.ndim - 2) + (-1,))
        return jax.nn.silu(jnp.sum(window_KXD * w_KD, axis=0) + self.conv_b[...])

    def _headwise(self, name: str, x: jax.Array) -> jax.Array:
        w = getattr(self, name)[...]
        y = jnp.einsum("...kd,kde->...ke", x.reshape(x.shape[:-1] + w.shape[:2]), w)
        return y.reshape(x.shape)

    def _gates(self, x: jax.Array, x_conv: jax.Array) -> jax.Array:
        parts = (("w_i", x_conv), ("w_f", x_conv), ("w_z", x), ("w_o", x))
        return jnp.concatenate([self._headwise(name, v) for name, v in parts], axis=-1)

    def _group_norm(self, h: jax.Array) -> jax.Array:
        """Layer norm within each head (NX-AI's MultiHeadLayerNorm = group norm, K groups)."""
        h_K = h.reshape((*h.shape[:-1], self.heads, -1))
        mean = h_K.mean(-1, keepdims=True)
        var = jnp.square(h_K - mean).mean(-1, keepdims=True)
        normed = (h_K - mean) * jax.lax.rsqrt(var + LN_EPS)
        return normed.reshape(h.shape) * self.group_norm_scale[...]

    def _ffn(self, x: jax.Array) -> jax.Array:
        gate, up = jnp.split(self.ffn_up(self.ffn_norm(x)), 2, axis=-1)
        return self.ffn_down(jax.nn.gelu(gate, approximate=False) * up)

    def __call__(self, x_TBD: jax.Array) -> jax.Array:
        xn_TBD = self.xlstm_norm(x_TBD)
        x_conv = xn_TBD
        if self.conv_kernel:
            ks, n_steps = self.conv_kernel, x_TBD.shape[0]
            padded = jnp.pad(xn_TBD, ((ks - 1, 0), (0, 0), (0, 0)))
            x_conv = self._conv(jnp.stack([padded[k : k + n_steps] for k in range(ks)]))
        cell = _BLOCK_CELLS[self.forget_gate]
        _, h_TBH = scan_cell(
            cell, self._cell_params(), self._gates(xn_TBD, x_conv), options=self.options
        )
        y_TBD = x_TBD + self._group_norm(h_TBH)
        return y_TBD + self._ffn(y_TBD)

    def initial_state(self, batch_size: int):
        """(the last conv_kernel - 1 normed inputs [ks-1, B, D], the cell state (h, c, n, m))."""
        buffer = jnp.zeros((max(self.conv_kernel - 1, 0), batch_size, self.out_features))
        return buffer, _BLOCK_CELLS[self.forget_gate].initial_carry(self._cell_params(), batch_size)

    def step(self, carry, x_BD: jax.Array):
        buffer, cell_carry = carry
        xn_BD = self.xlstm_norm(x_BD)
        window = jnp.concatenate([buffer, xn_BD[None]], axis=0)
        x_conv = self._conv(window) if self.conv_kernel else xn_BD
        cell = _BLOCK_CELLS[self.forget_gate]
        cell_carry, h_BH = step(cell, self._cell_params(), cell_carry, self._gates(xn_BD, x_conv))
        y_BD = x_BD + self._group_norm(h_BH)
        return (window[1:], cell_carry), y_BD + self._ffn(y_BD)
