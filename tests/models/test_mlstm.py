"""mLSTM: the three forms agree; each matches NX-AI's torch code (`xlstm` backends and
`mlstm_kernels`); MLSTMLayer/MLSTMBlock match NX-AI's mLSTMLayer/mLSTMBlock with weights
copied (outputs, input and parameter gradients, streaming step and states); check_grads in
float64; streaming == every form; causality via gradients; extreme gates stay finite; init.

Float32 except check_grads; tolerances: forward 1e-5, gradients 1e-4 (tests/models/common.py).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from jax.test_util import check_grads
from mlstm_kernels.torch.chunkwise.native.fw import mlstm_chunkwise_fw
from mlstm_kernels.torch.parallel.native.fw import mlstm_parallel_fw
from xlstm.blocks.mlstm.backends import (
    chunkwise_simple,
    parallel_stabilized_simple,
    recurrent_step_stabilized_simple,
)
from xlstm.blocks.mlstm.block import mLSTMBlock, mLSTMBlockConfig
from xlstm.blocks.mlstm.layer import mLSTMLayer, mLSTMLayerConfig

from seqlab.models.mlstm import MLSTMBlock, MLSTMLayer, width_multiple
from seqlab.models.mlstm_forms import (
    MLSTMState,
    mlstm_chunkwise,
    mlstm_parallel,
    mlstm_recurrent,
    mlstm_step,
)
from seqlab.models.sizing import resolve
from seqlab.registry import MODELS
from tests.models.common import FWD, GRAD, build, model_cfg, random_array, task, value_and_grads

B, NH, DH = 2, 2, 8

# ---------------------------------------------------------------- helpers


def cell_inputs(seed: int, T: int, b: int = B, nh: int = NH, dh: int = DH):
    """q, k, v [b, nh, T, dh] and gate pre-activations i ~ N(0, 1), f ~ N(3, 2) [b, nh, T]."""
    q, k, v = (random_array(seed + j, b, nh, T, dh) for j in range(3))
    i = random_array(seed + 3, b, nh, T)
    f = 3.0 + random_array(seed + 4, b, nh, T, scale=2.0)  # NX-AI's forget bias is 3..6
    return q, k, v, i, f


def random_state(seed: int, b: int = B, nh: int = NH, dh: int = DH) -> MLSTMState:
    return MLSTMState(
        random_array(seed, b, nh, dh, dh),
        random_array(seed + 1, b, nh, dh),
        random_array(seed + 2, b, nh, scale=0.5),
    )


def tt(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, np.float32)).requires_grad_(True)


def tnp(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def assert_close_tree(a, b, tol):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, **tol), a, b)


# Every cell-level test below runs these three jitted functions on [B, NH, T_CELL, DH]
# inputs: one compile per form for the whole file. Each takes (q, k, v, i, f, state) and
# returns ((h, last state or None), grads of sum(h * R_CELL) w.r.t. q, k, v, i, f, state).
T_CELL, CHUNK = 100, 32  # ragged: 100 = 3 · 32 + 4
R_CELL = random_array(11, B, NH, T_CELL, DH)
CELL_FORMS = {
    "parallel": lambda q, k, v, i, f, s: (mlstm_parallel(q, k, v, i, f), None),  # no state
    "recurrent": mlstm_recurrent,
    "chunkwise": lambda q, k, v, i, f, s: mlstm_chunkwise(q, k, v, i, f, CHUNK, s),
}


def form_value_and_grads(form):
    loss = lambda *args: jnp.sum(form(*args)[0] * R_CELL)  # noqa: E731
    return jax.jit(lambda *args: (form(*args), jax.grad(loss, argnums=tuple(range(6)))(*args)))


CELL_RUNS = {name: form_value_and_grads(form) for name, form in CELL_FORMS.items()}


def run_cell(name: str, inputs, state=None):
    state = MLSTMState(*(np.zeros_like(a) for a in random_state(0))) if state is None else state
    return CELL_RUNS[name](*map(jnp.asarray, inputs), MLSTMState(*map(jnp.asarray, state)))


# ---------------------------------------------------------------- 1. the three forms agree


def test_forms_agree_at_T256_chunk64():
    args = tuple(map(jnp.asarray, cell_inputs(0, 256)))
    h_par = jax.jit(mlstm_parallel)(*args)
    h_rec, s_rec = jax.jit(mlstm_recurrent)(*args)
    h_chk, s_chk = jax.jit(functools.partial(mlstm_chunkwise, chunk_size=64))(*args)
    np.testing.assert_allclose(h_par, h_rec, **FWD)
    np.testing.assert_allclose(h_chk, h_rec, **FWD)
    assert_close_tree(s_chk, s_rec, FWD)
    assert np.abs(np.asarray(h_rec)).mean() > 0.1 and np.abs(np.asarray(s_rec.C)).max() > 0.1
    assert np.ptp(np.asarray(s_rec.m)) > 0.1  # the stabiliser moves (not stuck at its init)


def test_forms_agree_ragged_T100_chunk32_outputs_grads_and_state():
    """T not a multiple of the chunk: padding must not leak into outputs, grads or state."""
    inputs = cell_inputs(10, T_CELL)
    (h_par, _), g_par = run_cell("parallel", inputs)
    (h_rec, s_rec), g_rec = run_cell("recurrent", inputs)
    (h_chk, s_chk), g_chk = run_cell("chunkwise", inputs)
    assert h_chk.shape == (B, NH, T_CELL, DH)
    np.testing.assert_allclose(h_par, h_rec, **FWD)
    np.testing.assert_allclose(h_chk, h_rec, **FWD)
    assert_close_tree(s_chk, s_rec, FWD)
    assert_close_tree(g_par[:5], g_rec[:5], GRAD)
    assert_close_tree(g_chk, g_rec, GRAD)
    assert min(np.abs(np.asarray(g)).max() for g in g_rec[:5]) > 1e-2

    # From a given state: chunkwise == recurrent, including d loss / d state.
    state = random_state(12)
    (h_rec, s_rec), g_rec = run_cell("recurrent", inputs, state)
    (h_chk, s_chk), g_chk = run_cell("chunkwise", inputs, state)
    np.testing.assert_allclose(h_chk, h_rec, **FWD)
    assert_close_tree(s_chk, s_rec, FWD)
    assert_close_tree(g_chk, g_rec, GRAD)
    assert np.abs(np.asarray(g_rec[5].C)).max() > 1e-2  # the initial C reaches the loss
    # ...and the state matters: the zero-state outputs differ at the first steps.
    assert np.abs(np.asarray(h_rec - h_par)[:, :, :4]).max() > 1e-2


# ---------------------------------------------------------------- 2. against NX-AI's torch code


def test_parallel_matches_nx_ai_and_mlstm_kernels_parallel():
    inputs = cell_inputs(30, T_CELL)
    (h, _), grads = run_cell("parallel", inputs)
    for name in ("xlstm", "mlstm_kernels"):
        q, k, v, i, f = (tt(a) for a in inputs)
        if name == "xlstm":
            h_ref = parallel_stabilized_simple(q, k, v, i[..., None], f[..., None])
        else:
            h_ref = mlstm_parallel_fw(q, k, v, i, f)[0]
        (h_ref * torch.from_numpy(R_CELL)).sum().backward()
        np.testing.assert_allclose(h, tnp(h_ref), **FWD)
        for g, ref in zip(grads[:5], (q, k, v, i, f), strict=True):
            np.testing.assert_allclose(g, ref.grad.numpy(), **GRAD)
    assert np.abs(np.asarray(grads[4])).max() > 1e-2  # forget-gate gradients are not zero


def test_recurrent_matches_nx_ai_recurrent_step_from_a_state():
    inputs, state = cell_inputs(40, T_CELL), random_state(41)
    (h, s), grads = run_cell("recurrent", inputs, state)

    q, k, v, i, f = (tt(a) for a in inputs)
    c0, n0, m0 = (tt(a) for a in state)
    c, n, m = c0, n0[..., None], m0[..., None, None]
    hs = []
    for t in range(T_CELL):
        h_t, (c, n, m) = recurrent_step_stabilized_simple(
            c, n, m, *(a[:, :, t : t + 1].clone() for a in (q, k, v)),  # it squeezes in place
            i[:, :, t, None, None], f[:, :, t, None, None],
        )  # fmt: skip
        hs.append(h_t)
    h_ref = torch.cat(hs, dim=2)
    (h_ref * torch.from_numpy(R_CELL)).sum().backward()

    np.testing.assert_allclose(h, tnp(h_ref), **FWD)
    np.testing.assert_allclose(s.C, tnp(c), **FWD)
    np.testing.assert_allclose(s.n, tnp(n)[..., 0], **FWD)
    np.testing.assert_allclose(s.m, tnp(m)[..., 0, 0], **FWD)
    for g, ref in zip((*grads[:5], *grads[5]), (q, k, v, i, f, c0, n0, m0), strict=True):
        np.testing.assert_allclose(g, ref.grad.numpy(), **GRAD)


def test_chunkwise_matches_nx_ai_chunkwise_and_mlstm_kernels_chunkwise():
    """Ours in chunks of 32 (ragged) against theirs in chunks of 25 and 20 (T must divide).

    Both references scale q (not k) by 1/√d: their C and n are √d times ours.
    """
    inputs, state = cell_inputs(50, T_CELL), random_state(51)
    root_d = math.sqrt(DH)

    # xlstm's chunkwise_simple from the zero state (its initial m is 0, as ours): with grads.
    (h, s), grads = run_cell("chunkwise", inputs)
    q, k, v, i, f = (tt(a) for a in inputs)
    h_ref, (c, n, m) = chunkwise_simple(q, k, v, i, f, chunk_size=25, return_last_state=True)
    (h_ref * torch.from_numpy(R_CELL)).sum().backward()
    np.testing.assert_allclose(h, tnp(h_ref), **FWD)
    np.testing.assert_allclose(s.C * root_d, tnp(c), **FWD)
    np.testing.assert_allclose(s.n * root_d, tnp(n), **FWD)
    np.testing.assert_allclose(s.m, tnp(m).reshape(B, NH), **FWD)
    for g, ref in zip(grads[:5], (q, k, v, i, f), strict=True):
        np.testing.assert_allclose(g, ref.grad.numpy(), **GRAD)

    # mlstm_kernels' native chunkwise from a given state.
    (h, s), _ = run_cell("chunkwise", inputs, state)
    c0, n0, m0 = (torch.from_numpy(a) for a in state)
    out = mlstm_chunkwise_fw(
        *(torch.from_numpy(a) for a in inputs),
        matC_initial=c0 * root_d, vecN_initial=n0 * root_d, scaM_initial=m0[..., None],
        chunk_size=20, return_last_states=True,
    )  # fmt: skip
    h_ref, (c, n, m) = out[0], out[3]
    np.testing.assert_allclose(h, tnp(h_ref), **FWD)
    np.testing.assert_allclose(s.C * root_d, tnp(c), **FWD)
    np.testing.assert_allclose(s.n * root_d, tnp(n), **FWD)
    np.testing.assert_allclose(s.m, tnp(m).reshape(B, NH), **FWD)


# ---------------------------------------------------------------- 3. check_grads, extreme gates


def test_check_grads_float64_recurrent_step():
    with jax.enable_x64(True):
        f64 = lambda a: jnp.asarray(a, jnp.float64)  # noqa: E731
        q, k, v, i, f = (f64(a[:, :, 0]) for a in cell_inputs(60, 1, b=2, nh=2, dh=3))
        state = MLSTMState(*map(f64, random_state(61, b=2, nh=2, dh=3)))
        new_state, h = mlstm_step(state, q, k, v, i, f)
        assert h.dtype == jnp.float64 and np.ptp(np.asarray(new_state.m)) > 0.1
        # Second order in reverse mode (forward-over-forward is slow and adds little here).
        check_grads(mlstm_step, (state, q, k, v, i, f), order=2, modes=("rev",))
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


@pytest.mark.parametrize("scale", [30.0, 300.0])
def test_large_gate_preactivations_stay_finite(scale):
    """Gates of ±scale (and i = f = −scale throughout, where e^{−m} would overflow)."""
    q, k, v, i, f = cell_inputs(70, T_CELL)
    cases = [
        (scale * np.sign(i), scale * np.sign(f - 3)),
        (np.full_like(i, -scale), np.full_like(f, -scale)),
    ]
    for i_big, f_big in cases:
        outs = {}
        for name in CELL_RUNS:
            (h, _), grads = run_cell(name, (q, k, v, i_big, f_big))
            assert np.isfinite(np.asarray(h)).all(), name
            assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree.leaves(grads)), name
            outs[name] = np.asarray(h)
        np.testing.assert_allclose(outs["parallel"], outs["recurrent"], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(outs["chunkwise"], outs["recurrent"], rtol=1e-4, atol=1e-4)
    assert np.abs(outs["recurrent"]).max() < 1e-9  # i = −scale: h ~ e^{−scale}


# ---------------------------------------------------------------- 4. layer and block vs NX-AI

D, HEADS, T_LAYER = 8, 2, 12  # inner width 16, head dim 8, four q/k/v blocks of 4
FORMS = ("parallel", "recurrent", "chunkwise")


def nx_layer_config(**overrides) -> mLSTMLayerConfig:
    fields = dict(
        embedding_dim=D,
        num_heads=HEADS,
        proj_factor=2.0,
        conv1d_kernel_size=4,
        qkv_proj_blocksize=4,
        context_length=T_LAYER,
        round_proj_up_to_multiple_of=4,  # NX-AI rounds the inner width up to this multiple
    )
    fields.update(overrides)
    return mLSTMLayerConfig(**fields)


def perturbed(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """NX-AI's init has zero gate weights and unit scales: perturb every parameter."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return module


def layer_pairs(layer: MLSTMLayer, ref: mLSTMLayer):
    """(our parameter, the NX-AI tensor, torch -> ours) for every parameter."""
    cell = ref.mlstm_cell
    T_, same = (lambda a: a.T), (lambda a: a)
    heads = lambda a: a.transpose(0, 2, 1)  # noqa: E731  [N, out, in] -> [N, in, out]
    return [
        (layer.proj_up.kernel, ref.proj_up.weight, T_),
        (layer.proj_down.kernel, ref.proj_down.weight, T_),
        (layer.conv_kernel, ref.conv1d.conv.weight, lambda a: a[:, 0, :].T),
        (layer.conv_bias, ref.conv1d.conv.bias, same),
        (layer.q_proj, ref.q_proj.weight, heads),
        (layer.k_proj, ref.k_proj.weight, heads),
        (layer.v_proj, ref.v_proj.weight, heads),
        (layer.igate.kernel, cell.igate.weight, T_),
        (layer.igate.bias, cell.igate.bias, same),
        (layer.fgate.kernel, cell.fgate.weight, T_),
        (layer.fgate.bias, cell.fgate.bias, same),
        (layer.norm_scale, cell.outnorm.weight, same),  # NX-AI stores scale − 1: +1 on copy
        (layer.skip, ref.learnable_skip, same),
    ]


def copy_weights(layer: MLSTMLayer, ref: mLSTMLayer) -> None:
    for ours, theirs, convert in layer_pairs(layer, ref):
        value = np.asarray(convert(tnp(theirs))) + (1.0 if ours is layer.norm_scale else 0.0)
        assert ours[...].shape == value.shape, (ours[...].shape, value.shape)
        ours[...] = jnp.asarray(value)


def check_param_grads(g_layer: MLSTMLayer, ref: mLSTMLayer) -> None:
    for ours, theirs, convert in layer_pairs(g_layer, ref):
        np.testing.assert_allclose(ours[...], convert(theirs.grad.numpy()), **GRAD)


def torch_value_and_grads(ref, x_TBD, r_TBD):
    """ref is batch-major: returns y [T, B, D] and x's grad; param grads are left on ref."""
    x = tt(x_TBD.transpose(1, 0, 2))
    y = ref(x)
    (y * torch.from_numpy(r_TBD.transpose(1, 0, 2))).sum().backward()
    return tnp(y).transpose(1, 0, 2), x.grad.numpy().transpose(1, 0, 2)


def layer_case(form: str = "parallel"):
    """A fresh perturbed NX-AI layer, our layer with its weights, inputs x and weights r."""
    torch.manual_seed(80)  # NX-AI's init draws from torch's global generator
    ref = perturbed(mLSTMLayer(nx_layer_config()), 80)
    layer = MLSTMLayer(D, heads=HEADS, rngs=nnx.Rngs(params=0), form=form, chunk_size=5)
    copy_weights(layer, ref)
    return ref, layer, random_array(81, T_LAYER, B, D), random_array(82, T_LAYER, B, D)


def stream(module, x_TBD, return_carry: bool = False):
    """module.step fed one step at a time from module.initial_state: outputs [T, B, D]."""
    step = nnx.jit(lambda m, c, x: m.step(c, x))
    carry, ys = module.initial_state(x_TBD.shape[1]), []
    for t in range(x_TBD.shape[0]):
        carry, y = step(module, carry, x_TBD[t])
        ys.append(np.asarray(y))
    return (np.stack(ys), carry) if return_carry else np.stack(ys)


@functools.cache
def streamed():
    """Our layer of `layer_case` streamed (one compile for the file): outputs, last carry."""
    _, layer, x, _ = layer_case()
    return stream(layer, jnp.asarray(x), return_carry=True)


@pytest.mark.parametrize("form", FORMS)
def test_layer_matches_nx_ai_mlstm_layer_and_streaming_and_is_causal(form):
    ref, layer, x, r = layer_case(form)
    y_ref, gx_ref = torch_value_and_grads(ref, x, r)
    y, (g_layer, g_x) = value_and_grads(layer, jnp.asarray(x), jnp.asarray(r))
    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, gx_ref, **GRAD)
    check_param_grads(g_layer, ref)
    assert np.abs(y_ref).max() > 0.1 and np.abs(tnp(ref.mlstm_cell.fgate.weight.grad)).max() > 1e-3
    # Streaming (from C = n = 0, m = 0) == this form (which for parallel has no state).
    np.testing.assert_allclose(streamed()[0], y, **FWD)
    # Causality via gradients (the same compiled function): d y[t, b=0] / d x[s, b'] is zero
    # exactly for s > t and for b' ≠ 0, nonzero for every s ≤ t.
    for t in range(T_LAYER):
        r_t = np.zeros_like(r)
        r_t[t, 0] = r[t, 0]
        g = np.abs(np.asarray(value_and_grads(layer, jnp.asarray(x), jnp.asarray(r_t))[1][1]))
        np.testing.assert_array_equal(g[t + 1 :], 0.0)
        np.testing.assert_array_equal(g[:, 1], 0.0)
        assert (g[: t + 1, 0].max(-1) > 1e-7).all(), t


def test_layer_step_matches_nx_ai_step_and_state():
    """Streaming from the initial state (conv buffer 0, C = n = 0, m = 0) == NX-AI's step."""
    ref, _, x, _ = layer_case()
    ys, (conv, cell) = streamed()
    state, ys_ref = {}, []
    with torch.no_grad():
        for t in range(T_LAYER):
            y_ref, state = ref.step(torch.from_numpy(x[t][:, None]), **state)
            ys_ref.append(tnp(y_ref)[:, 0])
    np.testing.assert_allclose(ys, np.stack(ys_ref), **FWD)
    c, n, m = state["mlstm_state"]
    np.testing.assert_allclose(cell.C, tnp(c), **FWD)
    np.testing.assert_allclose(cell.n, tnp(n)[..., 0], **FWD)
    np.testing.assert_allclose(cell.m, tnp(m)[..., 0, 0], **FWD)
    assert np.ptp(np.asarray(cell.m)) > 1e-2
    # NX-AI's conv state holds the last K inputs; ours the last K - 1.
    np.testing.assert_allclose(conv, tnp(state["conv_state"][0])[:, 1:], **FWD)


def test_block_matches_nx_ai_mlstm_block():
    block_cfg = mLSTMBlockConfig(mlstm=nx_layer_config(), _num_blocks=2, _block_idx=0)
    torch.manual_seed(85)
    ref = perturbed(mLSTMBlock(block_cfg), 85)
    cfg = model_cfg("mlstm", hidden=D, heads=HEADS, layers=2, mlstm_form="chunkwise", chunk_size=5)
    block = MLSTMBlock(cfg, D, rngs=nnx.Rngs(params=0))
    assert block.out_features == D and block.layer.form == "chunkwise"
    copy_weights(block.layer, ref.xlstm)
    block.norm.scale[...] = jnp.asarray(1.0 + tnp(ref.xlstm_norm.weight))
    x, r = random_array(86, T_LAYER, B, D), random_array(87, T_LAYER, B, D)
    y_ref, gx_ref = torch_value_and_grads(ref, x, r)
    y, (g_block, g_x) = value_and_grads(block, jnp.asarray(x), jnp.asarray(r))
    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, gx_ref, **GRAD)
    np.testing.assert_allclose(g_block.norm.scale[...], ref.xlstm_norm.weight.grad, **GRAD)
    check_param_grads(g_block.layer, ref.xlstm)
    assert np.abs(y_ref - x).max() > 0.1  # the layer adds something to the residual
    # Streaming through the block (pre-norm, layer step, residual) == the chunkwise form.
    np.testing.assert_allclose(stream(block, jnp.asarray(x)), y, **FWD)


# ---------------------------------------------------------------- 5. init, registration


def test_init_follows_nx_ai_reset_parameters():
    width, layers = 64, 4
    cfg = model_cfg("mlstm", hidden=width, heads=4, layers=layers)
    layer = MLSTMBlock(cfg, width, rngs=nnx.Rngs(params=3)).layer
    inner = 2 * width
    std = lambda p: float(np.std(np.asarray(p[...])))  # noqa: E731
    np.testing.assert_allclose(std(layer.proj_up.kernel), math.sqrt(2 / (5 * width)), rtol=0.05)
    np.testing.assert_allclose(std(layer.q_proj), math.sqrt(2 / (5 * width)), rtol=0.1)
    np.testing.assert_allclose(
        std(layer.proj_down.kernel), 2 / layers / math.sqrt(width), rtol=0.05
    )
    assert np.abs(np.asarray(layer.conv_kernel[...])).max() <= 0.5  # U(±1/√4)
    assert std(layer.conv_kernel) > 0.2
    np.testing.assert_array_equal(layer.igate.kernel[...], 0.0)
    np.testing.assert_array_equal(layer.fgate.kernel[...], 0.0)
    np.testing.assert_allclose(layer.fgate.bias[...], [3.0, 4.0, 5.0, 6.0], rtol=1e-6)
    assert 0.02 < std(layer.igate.bias) < 0.3
    np.testing.assert_array_equal(layer.skip[...], np.ones(inner))
    np.testing.assert_array_equal(layer.norm_scale[...], np.ones(inner))
    # NX-AI's own init at this size: the same spreads and forget-gate biases.
    ref = mLSTMLayer(nx_layer_config(embedding_dim=width, num_heads=4, _num_blocks=layers))
    np.testing.assert_allclose(
        std(layer.proj_down.kernel), float(tnp(ref.proj_down.weight).std()), rtol=0.1
    )
    np.testing.assert_allclose(
        std(layer.proj_up.kernel), float(tnp(ref.proj_up.weight).std()), rtol=0.1
    )
    np.testing.assert_allclose(tnp(ref.mlstm_cell.fgate.bias), layer.fgate.bias[...], rtol=1e-6)


def test_registration_width_multiple_and_clear_errors():
    entry = MODELS.entry("mlstm")
    assert entry.blocks and entry.causal(model_cfg("mlstm"))
    assert entry.width_multiple(model_cfg("mlstm", heads=4, proj_factor=2.0)) == 2
    assert entry.width_multiple(model_cfg("mlstm", heads=8, proj_factor=2.0)) == 4
    assert width_multiple(1.3, 4) == 40  # 1.3 · 40 = 52 = 13 · 4
    spec = task("copy", 2).spec
    with pytest.raises(ValueError, match=r"model\.hidden a multiple of 4"):
        build("mlstm", spec, hidden=10, heads=8)
    with pytest.raises(ValueError, match=r"model\.mlstm_form"):
        build("mlstm", spec, mlstm_form="attention")
    built = resolve(model_cfg("mlstm", size="tiny"), spec)  # BLOCK_SIZES
    assert (built.hidden, built.layers, built.heads) == (64, 2, 4)
