"""sLSTM: the cell and SLSTMLayer against NX-AI's sLSTMCell (backend="vanilla", CPU, float32),
SLSTMBlock against NX-AI's sLSTMBlock, the exponential forget gate against an independent
NumPy (float64, unstabilised) implementation of eqs. 8-17, check_grads in float64, streaming
== scan, causality via gradients, and the stabiliser under huge gate pre-activations.

Tolerances: forward 1e-5, gradients 1e-4 against outside references; 1e-6 between forms of
our own code (float32 throughout except the float64 checks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from jax.test_util import check_grads
from xlstm.blocks.slstm.block import sLSTMBlock, sLSTMBlockConfig
from xlstm.blocks.slstm.cell import sLSTMCell, sLSTMCellConfig
from xlstm.blocks.slstm.layer import sLSTMLayerConfig
from xlstm.components.feedforward import FeedForwardConfig

from seqlab.models.recurrence import scan_cell, step
from seqlab.models.slstm import (
    SLSTM_CELLS,
    SLSTMBlock,
    SLSTMLayer,
    slstm_bias,
    slstm_pointwise,
)
from seqlab.registry import MODELS
from tests.models.common import (
    FWD,
    GRAD,
    TIGHT,
    apply,
    assert_module_causal,
    build,
    model_cfg,
    random_array,
    sample,
    set_param,
    stream,
    task,
    value_and_grads,
)

T, B, D, H, K = 6, 2, 5, 8, 2  # heads K = 2: the block-diagonal recurrence matters
tnp = lambda p: p.detach().numpy()  # noqa: E731


# ---------------------------------------------------------------- helpers


def nxai_cell(seed: int, hidden: int = H, heads: int = K, scale: float = 0.5):
    """NX-AI's vanilla sLSTM cell in float32 with random (nonzero) recurrent weights and bias."""
    torch.manual_seed(seed)
    cell = sLSTMCell(
        sLSTMCellConfig(hidden_size=hidden, num_heads=heads, backend="vanilla", dtype="float32")
    )
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0.0, scale)
    return cell


def nxai_r(cell) -> np.ndarray:
    """The recurrent kernel in NX-AI's external layout [K, hd_in, 4, hd_out] (= ours)."""
    return tnp(cell._recurrent_kernel_int2ext(cell._recurrent_kernel_))


def make_layer(w, b, r, forget_gate: str = "sigmoid") -> SLSTMLayer:
    layer = SLSTMLayer(
        w.shape[0], r.shape[0] * r.shape[1], heads=r.shape[0], rngs=nnx.Rngs(0),
        forget_gate=forget_gate,
    )  # fmt: skip
    for name, value in dict(w=w, b=b, r=r).items():
        set_param(getattr(layer, name), value)
    return layer


def to_torch_order(y_BKSd) -> np.ndarray:
    """NX-AI's cell output [B, K, S, hd] -> [S, B, H]."""
    b, k, s, hd = y_BKSd.shape
    return tnp(y_BKSd.permute(2, 0, 1, 3).reshape(s, b, k * hd))


def random_layer_weights(seed: int, d: int = D, h: int = H, heads: int = K, scale=0.5):
    rng = np.random.default_rng(seed)
    f = lambda *shape: (scale * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    return f(d, 4 * h), f(4 * h), f(heads, h // heads, 4, h // heads)


# ---------------------------------------------------------------- 1. NX-AI's sLSTMCell


def test_layer_matches_nxai_cell_outputs_state_and_gradients():
    cell = nxai_cell(1)
    w = random_array(2, D, 4 * H, scale=0.5)
    x_np, r_np = random_array(3, T, B, D), random_array(4, T, B, H)

    # NX-AI: x @ w (no bias) -> cell (adds its bias); input batch-first [B, S, 4H].
    x_t = torch.from_numpy(x_np).requires_grad_(True)
    w_t = torch.from_numpy(w).requires_grad_(True)
    y_t, state_t = cell((x_t @ w_t).transpose(0, 1))
    y_seq = y_t.permute(2, 0, 1, 3).reshape(T, B, H)
    (y_seq * torch.from_numpy(r_np)).sum().backward()
    y_ref = tnp(y_seq)

    layer = make_layer(w, tnp(cell._bias_), nxai_r(cell))
    x, r = jnp.asarray(x_np), jnp.asarray(r_np)
    y, (g_layer, g_x) = value_and_grads(layer, x, r)

    np.testing.assert_allclose(y, y_ref, **FWD)
    # The final state (h, c, n, m): the same stabiliser, so c, n, m match too, not only h.
    carry, _ = jax.jit(lambda p, x: scan_cell(SLSTM_CELLS["sigmoid"], p, x))(layer.params(), x)
    for ours, ref in zip(carry, state_t, strict=True):
        np.testing.assert_allclose(ours, tnp(ref), **FWD)
    assert np.abs(tnp(state_t[3])).max() > 0.1  # m moved away from its zero start

    np.testing.assert_allclose(g_x, x_t.grad.numpy(), **GRAD)
    np.testing.assert_allclose(g_layer.w[...], w_t.grad.numpy(), **GRAD)
    np.testing.assert_allclose(g_layer.b[...], cell._bias_.grad.numpy(), **GRAD)
    g_r_ref = tnp(cell._recurrent_kernel_int2ext(cell._recurrent_kernel_.grad))
    np.testing.assert_allclose(g_layer.r[...], g_r_ref, **GRAD)
    assert np.abs(g_r_ref).max() > 1e-2 and np.abs(g_x).max() > 1e-2


def test_streaming_steps_match_nxai_cell_state_by_state():
    """A few single steps, each from the previous state: the whole (h, c, n, m) each time."""
    cell = nxai_cell(5)
    w, _, _ = random_layer_weights(6)
    layer = make_layer(w, tnp(cell._bias_), nxai_r(cell))
    x_np = random_array(7, 3, B, D)
    state_t = None
    carry = layer.initial_state(B)
    for t in range(3):
        xp = torch.from_numpy(x_np[t] @ w)[:, None]  # [B, 1, 4H]
        with torch.no_grad():
            y_t, state_t = cell(xp, state=state_t)
        carry, y = layer.step(carry, jnp.asarray(x_np[t]))
        np.testing.assert_allclose(y, to_torch_order(y_t)[0], **FWD)
        for ours, ref in zip(carry, state_t, strict=True):
            np.testing.assert_allclose(ours, tnp(ref), **FWD)


def test_a_dense_recurrent_matrix_is_detected():
    """NX-AI's recurrence is block-diagonal per head: filling the off-diagonal blocks breaks
    the match (so the equivalence test above would catch a dense R)."""
    cell = nxai_cell(8)
    r_heads = nxai_r(cell)  # [K, hd, 4, hd]
    hd = H // K
    dense = np.asarray(random_array(9, H, 4, K, hd, scale=0.5))  # rows: input unit
    for k in range(K):  # the diagonal blocks as NX-AI's; the rest random
        dense[k * hd : (k + 1) * hd, :, k, :] = r_heads[k]
    dense = dense.reshape(H, 4 * H)  # columns in the (gate, head, unit) layout
    bias = jnp.asarray(tnp(cell._bias_))
    xp_np = random_array(10, T, B, 4 * H)

    def run(recurrence):
        carry = tuple(jnp.zeros((B, H)) for _ in range(4))
        ys = []
        for t in range(T):
            raw = jnp.asarray(xp_np[t]) + bias + recurrence(carry[0])
            carry, y = slstm_pointwise(carry, raw, "sigmoid")
            ys.append(y)
        return np.stack(ys)

    with torch.no_grad():
        y_ref = to_torch_order(cell(torch.from_numpy(xp_np).transpose(0, 1))[0])
    block_diag = np.zeros((H, 4, K, hd), np.float32)
    for k in range(K):
        block_diag[k * hd : (k + 1) * hd, :, k, :] = r_heads[k]
    np.testing.assert_allclose(run(lambda h: h @ block_diag.reshape(H, 4 * H)), y_ref, **FWD)
    assert np.abs(run(lambda h: h @ dense) - y_ref).max() > 1e-2


def test_bias_init_is_nxai_powerlaw_blockdependent():
    for block_idx, num_blocks in ((0, 1), (1, 3), (2, 3)):
        cfg = sLSTMCellConfig(
            hidden_size=H, num_heads=K, backend="vanilla", dtype="float32",
            _block_idx=block_idx, _num_blocks=num_blocks,
        )  # fmt: skip
        ref = tnp(sLSTMCell(cfg)._bias_)
        ours = slstm_bias(H, K, "sigmoid", block_idx, num_blocks)
        np.testing.assert_allclose(ours, ref, **TIGHT)
        assert np.abs(ref).max() > 4  # the forget slice: +5 ... -7 in each head
    exp_bias = slstm_bias(H, K, "exponential")  # log σ(b_f): the same initial forget factors
    np.testing.assert_allclose(
        jnp.exp(exp_bias[H : 2 * H]),
        jax.nn.sigmoid(slstm_bias(H, K, "sigmoid")[H : 2 * H]),
        **TIGHT,
    )
    # The model stack passes each layer its index (NX-AI's block-dependent exponent).
    model = build("slstm", task("copy", 2).spec, layers=3, heads=K)
    for index, layer in enumerate(model.layers):
        np.testing.assert_allclose(layer.b[...], slstm_bias(H, K, "sigmoid", index, 3), **TIGHT)


# ---------------------------------------------------------------- 2. NX-AI's sLSTMBlock


def nxai_block(seed: int, width: int, heads: int, conv_kernel: int):
    torch.manual_seed(seed)
    cfg = sLSTMBlockConfig(
        slstm=sLSTMLayerConfig(
            embedding_dim=width, num_heads=heads, conv1d_kernel_size=conv_kernel,
            backend="vanilla", dtype="float32",
        ),
        feedforward=FeedForwardConfig(proj_factor=1.3, act_fn="gelu"),
        _num_blocks=1, _block_idx=0,
    )  # fmt: skip
    block = sLSTMBlock(cfg)
    with torch.no_grad():  # every weight nonzero (NX-AI's norms and R start at zero)
        for p in block.parameters():
            p.normal_(0.0, 0.4)
    return block


def copy_block_weights(ours: SLSTMBlock, ref) -> None:
    layer = ref.xlstm
    set_param(ours.xlstm_norm.scale, 1 + tnp(ref.xlstm_norm.weight))  # NX-AI: weight = 1 + w
    if ours.conv_kernel:
        set_param(ours.conv_w, tnp(layer.conv1d.conv.weight)[:, 0, :].T)
        set_param(ours.conv_b, tnp(layer.conv1d.conv.bias))
    # NX-AI computes i with its `fgate` module and f with `igate` (layer.py): by role here.
    by_role = dict(w_i="fgate", w_f="igate", w_z="zgate", w_o="ogate")
    for ours_name, ref_name in by_role.items():
        set_param(getattr(ours, ours_name), tnp(getattr(layer, ref_name).weight).transpose(0, 2, 1))
    set_param(ours.r, nxai_r(layer.slstm_cell))
    set_param(ours.b, tnp(layer.slstm_cell._bias_))
    set_param(ours.group_norm_scale, 1 + tnp(layer.group_norm.weight))
    set_param(ours.ffn_norm.scale, 1 + tnp(ref.ffn_norm.weight))
    set_param(ours.ffn_up.kernel, tnp(ref.ffn.proj_up.weight).T)
    set_param(ours.ffn_down.kernel, tnp(ref.ffn.proj_down.weight).T)


def test_block_matches_nxai_slstm_block():
    width = 8
    ref = nxai_block(20, width, K, 3)
    cfg = model_cfg("xlstm", heads=K, conv_kernel=3, ffn_factor=1.3)
    block = SLSTMBlock(cfg, width, rngs=nnx.Rngs(0))
    assert block.out_features == width
    assert block.ffn_up.kernel[...].shape == (width, 2 * 64)  # 1.3 * 8 rounded up to 64
    copy_block_weights(block, ref)
    x_np, r_np = random_array(21, T, B, width), random_array(22, T, B, width)

    x_t = torch.from_numpy(x_np.transpose(1, 0, 2).copy()).requires_grad_(True)
    y_t = ref(x_t)
    (y_t * torch.from_numpy(r_np.transpose(1, 0, 2).copy())).sum().backward()

    y, (g_block, g_x) = value_and_grads(block, jnp.asarray(x_np), jnp.asarray(r_np))
    np.testing.assert_allclose(y, tnp(y_t).transpose(1, 0, 2), **FWD)
    np.testing.assert_allclose(g_x, x_t.grad.numpy().transpose(1, 0, 2), **GRAD)
    g_r = ref.xlstm.slstm_cell._recurrent_kernel_.grad
    np.testing.assert_allclose(
        g_block.r[...], tnp(ref.xlstm.slstm_cell._recurrent_kernel_int2ext(g_r)), **GRAD
    )
    np.testing.assert_allclose(
        g_block.w_i[...], ref.xlstm.fgate.weight.grad.numpy().transpose(0, 2, 1), **GRAD
    )
    g_conv = ref.xlstm.conv1d.conv.weight.grad.numpy()[:, 0, :].T
    np.testing.assert_allclose(g_block.conv_w[...], g_conv, **GRAD)
    assert np.abs(g_conv).max() > 1e-2
    # The residual stream dominates y: the mixer's part must match as well, not only x.
    assert np.abs(np.asarray(y) - x_np).max() > 0.1


def test_block_without_conv_matches_nxai():
    """conv_kernel = 0: no conv and no swish; i and f read the normed input directly."""
    ref = nxai_block(23, 8, K, 0)
    block = SLSTMBlock(model_cfg("xlstm", heads=K, conv_kernel=0), 8, rngs=nnx.Rngs(0))
    assert not hasattr(block, "conv_w") and block.initial_state(B)[0].shape == (0, B, 8)
    copy_block_weights(block, ref)
    x_np = random_array(24, T, B, 8)
    with torch.no_grad():
        y_ref = tnp(ref(torch.from_numpy(x_np.transpose(1, 0, 2).copy()))).transpose(1, 0, 2)
    np.testing.assert_allclose(block(jnp.asarray(x_np)), y_ref, **FWD)


# ---------------------------------------------------------------- 3. NumPy reference (float64)


def numpy_slstm(x, w, b, r, forget_gate: str):
    """Eqs. 8-17 unstabilised in float64, loops per head: i = exp(ĩ), f = σ(f̃) or exp(f̃)."""
    x, w, b, r = (np.asarray(a, np.float64) for a in (x, w, b, r))
    heads, hd = r.shape[:2]
    hidden = heads * hd
    h = c = n = np.zeros((x.shape[1], hidden))
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    ys = []
    for t in range(x.shape[0]):
        rec = np.zeros((x.shape[1], 4, heads, hd))
        for k in range(heads):
            rec[:, :, k, :] = np.einsum("bd,dge->bge", h[:, k * hd : (k + 1) * hd], r[k])
        pre = (x[t] @ w + b + rec.reshape(x.shape[1], -1)).reshape(x.shape[1], 4, hidden)
        i, f, z, o = np.exp(pre[:, 0]), pre[:, 1], np.tanh(pre[:, 2]), sigmoid(pre[:, 3])
        f = sigmoid(f) if forget_gate == "sigmoid" else np.exp(f)
        c, n = f * c + i * z, f * n + i
        h = o * c / n
        ys.append(h)
    return np.stack(ys)


@pytest.mark.parametrize("forget_gate", ["exponential", "sigmoid"])
def test_layer_matches_numpy_eqs_8_to_17(forget_gate):
    w, b, r = random_layer_weights(30)
    x = random_array(31, T, B, D)
    y = nnx.jit(lambda m, x: m(x))(make_layer(w, b, r, forget_gate), jnp.asarray(x))
    np.testing.assert_allclose(y, numpy_slstm(x, w, b, r, forget_gate), **FWD)


def test_exponential_and_sigmoid_forget_gates_differ():
    w, b, r = random_layer_weights(30)
    x = jnp.asarray(random_array(31, T, B, D))
    y_exp = make_layer(w, b, r, "exponential")(x)
    y_sig = make_layer(w, b, r, "sigmoid")(x)
    assert np.abs(np.asarray(y_exp) - np.asarray(y_sig)).max() > 1e-2


@pytest.mark.parametrize("forget_gate", ["exponential", "sigmoid"])
def test_stabiliser_keeps_huge_preactivations_finite_and_exact(forget_gate):
    """Gate pre-activations of ±50 (exp(50·T) overflows float32 unstabilised): outputs and
    gradients stay finite and match the float64 unstabilised reference."""
    w, b, r = random_layer_weights(40, scale=0.05)
    b = (50.0 * np.sign(random_array(41, 4 * H))).astype(np.float32)
    x = random_array(42, T, B, D)
    layer = make_layer(w, b, r, forget_gate)
    y, (g_layer, g_x) = value_and_grads(layer, jnp.asarray(x), jnp.ones((T, B, H)))
    assert np.isfinite(np.asarray(y)).all() and np.isfinite(np.asarray(g_x)).all()
    assert all(np.isfinite(np.asarray(v[...])).all() for v in jax.tree.leaves(g_layer))
    np.testing.assert_allclose(y, numpy_slstm(x, w, b, r, forget_gate), rtol=1e-4, atol=1e-5)
    assert np.abs(np.asarray(y)).max() > 0.1
    carry, _ = scan_cell(SLSTM_CELLS[forget_gate], layer.params(), jnp.asarray(x))
    assert np.abs(np.asarray(carry[3])).max() >= 49  # the stabiliser absorbed the scale


def test_no_gradient_through_the_stabiliser():
    """m_t is stop_gradient'ed (NX-AI's CUDA backward): d m_T / d anything is zero, while the
    output gradient is not."""
    w, b, r = random_layer_weights(45)
    params = {k: jnp.asarray(v) for k, v in dict(w=w, b=b, r=r).items()}
    x = jnp.asarray(random_array(46, T, B, D))
    (carry, y), vjp = jax.vjp(lambda p, x: scan_cell(SLSTM_CELLS["sigmoid"], p, x), params, x)
    zeros = [jnp.zeros_like(c) for c in carry]
    g_m = vjp(((*zeros[:3], jnp.ones_like(carry[3])), jnp.zeros_like(y)))  # d sum(m_T)
    g_h = vjp(((jnp.ones_like(carry[0]), *zeros[1:]), jnp.zeros_like(y)))  # d sum(h_T)
    assert all(np.abs(np.asarray(g)).max() == 0 for g in jax.tree.leaves(g_m))
    assert np.abs(np.asarray(g_h[1])).max() > 1e-3


# ---------------------------------------------------------------- 4. check_grads (float64)


@pytest.mark.parametrize("forget_gate", ["sigmoid", "exponential"])
def test_check_grads_float64_two_steps(forget_gate):
    """Two cell steps from a nonzero state. Checked outputs: h and c/n, which do not depend on
    the stabiliser (so finite differences and stop_gradient autodiff must agree)."""
    with jax.enable_x64(True):
        w, b, r = random_layer_weights(50, d=3, h=4, heads=2)
        params = {k: jnp.asarray(v, jnp.float64) for k, v in dict(w=w, b=b, r=r).items()}
        f64 = lambda seed, *s: jnp.asarray(random_array(seed, *s), jnp.float64)  # noqa: E731
        n0 = 1.0 + jnp.abs(f64(52, 2, 4))
        carry = (f64(51, 2, 4), f64(53, 2, 4) * n0 / 2, n0, f64(54, 2, 4))
        x = f64(55, 2, 2, 3)
        cell = SLSTM_CELLS[forget_gate]

        def two_steps(p, carry, x):
            carry, h1 = step(cell, p, carry, x[0])
            carry, h2 = step(cell, p, carry, x[1])
            return h1, h2, carry[1] / carry[2]

        assert two_steps(params, carry, x)[1].dtype == jnp.float64
        # First order (second order costs ~30 s more on 2 cores for little).
        check_grads(two_steps, (params, carry, x), order=1, modes=("fwd", "rev"))
    assert jnp.zeros(()).dtype == jnp.float32


# ---------------------------------------------------------------- 5. streaming == scan


def randomise_recurrence(model, seed: int) -> None:
    """R starts at zero (NX-AI's init): make it nonzero so the recurrence is exercised."""
    for i, layer in enumerate(model.layers):
        layer = getattr(layer, "inner", layer)  # residual stacks wrap a layer of other width
        set_param(layer.r, random_array(seed + i, *layer.r[...].shape, scale=0.5))


def test_model_streaming_equals_scan():
    copy = task("copy", 2)
    overrides = dict(layers=2, residual=True, norm="layer", forget_gate="exponential")
    model = build("slstm", copy.spec, heads=K, **overrides)
    randomise_recurrence(model, 60)
    tokens = sample(copy, 1, B).inputs
    expected = apply(model, tokens)
    assert expected.shape == (copy.spec.seq_len, B, 10)
    np.testing.assert_allclose(stream(model, tokens), expected, **FWD)


def test_block_streaming_equals_scan():
    ref = nxai_block(70, 8, K, 3)  # random weights everywhere, copied in
    block = SLSTMBlock(model_cfg("xlstm", heads=K, conv_kernel=3), 8, rngs=nnx.Rngs(0))
    copy_block_weights(block, ref)
    x = jnp.asarray(random_array(71, T, B, 8))
    carry = block.initial_state(B)
    assert carry[0].shape == (2, B, 8)  # the conv buffer: the last kernel - 1 normed inputs
    block_step = nnx.jit(lambda m, c, x: m.step(c, x))
    ys = []
    for t in range(T):
        carry, y = block_step(block, carry, x[t])
        ys.append(y)
    np.testing.assert_allclose(jnp.stack(ys), nnx.jit(lambda m, x: m(x))(block, x), **FWD)


# ---------------------------------------------------------------- 6. causality via gradients


def test_layer_and_block_are_causal():
    layer = make_layer(*random_layer_weights(80))
    x = jnp.asarray(random_array(81, T, B, D))
    assert_module_causal(layer, x)
    block = SLSTMBlock(model_cfg("xlstm", heads=K, conv_kernel=3), 8, rngs=nnx.Rngs(1))
    set_param(block.r, random_array(82, *block.r[...].shape, scale=0.5))
    x = jnp.asarray(random_array(83, T, B, 8))
    assert_module_causal(block, x)


# ---------------------------------------------------------------- 7. registry and config errors


def test_registration_and_config_errors():
    entry = MODELS.entry("slstm")
    assert entry.recurrent and entry.width_multiple(model_cfg("slstm", heads=4)) == 4
    spec = task("adding", 3).spec
    with pytest.raises(ValueError, match=r"model\.heads"):
        build("slstm", spec, hidden=6, heads=4)
    with pytest.raises(ValueError, match=r"model\.forget_gate"):
        build("slstm", spec, forget_gate="tanh")
    with pytest.raises(ValueError, match=r"model\.heads"):
        SLSTMBlock(model_cfg("xlstm", heads=3), 8, rngs=nnx.Rngs(0))
    model = build("slstm", spec, heads=K, bidirectional=True)
    out = apply(model, sample(task("adding", 3), 0, B).inputs)
    assert out.shape == (B, 1) and np.isfinite(np.asarray(out)).all()
    assert model.layers[0].out_features == 2 * H
