"""Hawk: the residual block against recurrentgemma's PyTorch ResidualBlock (RG-LRU recurrent
block + MLP block; outputs and every gradient), the streaming step and its state against the
package's decoding cache, the bounded-derivative square root, the RG-LRU's forms (scan,
associative, chunked) equal to the step in float32 and float64, initialisation as the package,
parameter counts, causality.

Weight map onto recurrentgemma 1.0.1 (recurrentgemma/torch/modules.py, layers.py): Linear
weights transposed; RMSNorm scale = 1 + theirs (they store scale − 1); the gates' biases
[heads, block] flattened; ffw_up.b [2, 1, 1, E] -> [2, E]; the rest as it is. The package resets
the state where segment_pos == 0 (document starts; module docstring of seqlab/models/hawk.py):
the reference is run with segment_pos = 1..T, so every step follows the paper's eq. 4, as ours.
Tolerances: common.FWD and GRAD (float32).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from jax.test_util import check_grads
from scipy import stats

from seqlab.models.hawk import RG_LRU, HawkBlock, sqrt_bounded_derivative
from seqlab.models.linear_recurrence import AFFINE_FORMS, as_cell, run_linear
from seqlab.models.recurrence import step
from seqlab.models.sizing import count_params
from tests.models.common import (
    FWD,
    GRAD,
    assert_module_causal,
    assert_streams_like_whole_sequence,
    build,
    model_cfg,
    random_array,
    set_param,
    value_and_grads,
)
from tests.models.test_lru import task

try:  # installed apart, with --no-deps (pyproject.toml's dev extra says why)
    from recurrentgemma import torch as rg
    from recurrentgemma.torch.layers import SqrtBoundDerivative
except ImportError:
    rg = None
needs_recurrentgemma = pytest.mark.skipif(
    rg is None, reason="reference: pip install --no-deps recurrentgemma==1.0.1"
)

T, B, D, W, HEADS, K, LAYERS = 7, 2, 8, 12, 3, 4, 2
F32 = dict(rtol=1e-5, atol=1e-5)
# jitted: eager parallel scans dispatch hundreds of small ops, slower than one compile
run = jax.jit(run_linear, static_argnums=0, static_argnames=("form", "chunk_size"))
F64 = dict(rtol=1e-12, atol=1e-12)


def torch_block() -> rg.ResidualBlock:
    torch.manual_seed(0)
    block = rg.ResidualBlock(
        width=D,
        mlp_expanded_width=3 * D,
        num_heads=HEADS,
        attention_window_size=T,
        temporal_block_type=rg.TemporalBlockType.RECURRENT,
        lru_width=W,
        conv1d_temporal_width=K,
        final_w_init_variance_scale=2.0 / LAYERS,
    )
    with torch.no_grad():  # every weight nonzero, of order one, so each shows up in the output
        for name, p in block.named_parameters():
            if name.endswith("a_param"):
                p.add_(0.5 * torch.randn_like(p))
            else:
                p.add_(0.3 * torch.randn_like(p))
    return block


def ours_from(ref: rg.ResidualBlock, form: str = "scan") -> HawkBlock:
    block = HawkBlock(
        D, heads=HEADS, rngs=nnx.Rngs(params=0), lru_width=W, conv_kernel=K, num_blocks=LAYERS
    )
    block.rg_lru.form = form
    for ours, theirs in weight_map(block, ref):
        set_param(ours, theirs)
    return block


def weight_map(block: HawkBlock, ref: rg.ResidualBlock):
    """(our parameter, their tensor in our layout) for every parameter of the block."""
    rec, mlp = ref.recurrent_block, ref.mlp_block
    pairs = [
        (block.temporal_norm.scale, 1 + ref.temporal_pre_norm.scale),
        (block.channel_norm.scale, 1 + ref.channel_pre_norm.scale),
        (block.conv_w, rec.conv_1d.w),
        (block.conv_b, rec.conv_1d.b),
        (block.rg_lru.a_param, rec.rg_lru.a_param),
        (block.rg_lru.input_gate, rec.rg_lru.input_gate.w),
        (block.rg_lru.input_gate_b, rec.rg_lru.input_gate.b.reshape(-1)),
        (block.rg_lru.a_gate, rec.rg_lru.a_gate.w),
        (block.rg_lru.a_gate_b, rec.rg_lru.a_gate.b.reshape(-1)),
        (block.ffw_up, mlp.ffw_up.w),
        (block.ffw_up_b, mlp.ffw_up.b.reshape(2, -1)),
    ]
    for ours, theirs in [
        (block.linear_x, rec.linear_x),
        (block.linear_y, rec.linear_y),
        (block.linear_out, rec.linear_out),
        (block.ffw_down, mlp.ffw_down),
    ]:
        pairs += [(ours.kernel, theirs.weight.T), (ours.bias, theirs.bias)]
    return pairs


def grad_map(grads: HawkBlock, ref: rg.ResidualBlock):
    """(our gradient, theirs in our layout): as weight_map, on the .grad tensors."""
    rec, mlp = ref.recurrent_block, ref.mlp_block
    pairs = [
        ("temporal_norm", grads.temporal_norm.scale, ref.temporal_pre_norm.scale.grad),
        ("channel_norm", grads.channel_norm.scale, ref.channel_pre_norm.scale.grad),
        ("conv_w", grads.conv_w, rec.conv_1d.w.grad),
        ("conv_b", grads.conv_b, rec.conv_1d.b.grad),
        ("a_param", grads.rg_lru.a_param, rec.rg_lru.a_param.grad),
        ("input_gate", grads.rg_lru.input_gate, rec.rg_lru.input_gate.w.grad),
        ("input_gate_b", grads.rg_lru.input_gate_b, rec.rg_lru.input_gate.b.grad.reshape(-1)),
        ("a_gate", grads.rg_lru.a_gate, rec.rg_lru.a_gate.w.grad),
        ("a_gate_b", grads.rg_lru.a_gate_b, rec.rg_lru.a_gate.b.grad.reshape(-1)),
        ("ffw_up", grads.ffw_up, mlp.ffw_up.w.grad),
        ("ffw_up_b", grads.ffw_up_b, mlp.ffw_up.b.grad.reshape(2, -1)),
    ]
    for name in ("linear_x", "linear_y", "linear_out", "ffw_down"):
        ours = getattr(grads, name)
        theirs = getattr(mlp if name == "ffw_down" else rec, name)
        pairs += [
            (name, ours.kernel, theirs.weight.grad.T),
            (name + "_b", ours.bias, theirs.bias.grad),
        ]
    return pairs


def batch_first(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(a, 0, 1)))


def no_resets(batch: int, steps: int) -> torch.Tensor:
    return torch.arange(1, steps + 1).repeat(batch, 1)


@needs_recurrentgemma
@pytest.mark.parametrize("form", AFFINE_FORMS)
def test_block_matches_recurrentgemma(form):
    ref = torch_block()
    block = ours_from(ref, form)
    x_np, r_np = random_array(1, T, B, D), random_array(2, T, B, D)
    x_t = batch_first(x_np).requires_grad_(True)
    y_t, _ = ref(x_t, no_resets(B, T), return_cache=False)
    (y_t * batch_first(r_np)).sum().backward()
    y, (grads, g_x) = value_and_grads(block, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, np.swapaxes(y_t.detach().numpy(), 0, 1), **FWD)
    np.testing.assert_allclose(g_x, np.swapaxes(x_t.grad.numpy(), 0, 1), **GRAD)
    for name, ours, theirs in grad_map(grads, ref):
        np.testing.assert_allclose(ours[...], theirs.detach().numpy(), **GRAD, err_msg=name)
        assert np.abs(theirs.detach().numpy()).max() > 1e-3, name  # every weight is used


@needs_recurrentgemma
def test_streaming_step_and_state_match_recurrentgemmas_decoding():
    """Our state (conv window, h) is the package's cache (conv1d_state, rg_lru_state)."""
    ref = torch_block()
    block = ours_from(ref)
    x_np = random_array(3, T, B, D)
    cache = rg.ResidualBlock.init_cache(
        B, D, HEADS, T, rg.TemporalBlockType.RECURRENT, torch.float32, W, K
    )
    state = block.initial_state(B)
    assert state[0].shape == tuple(cache.conv1d_state.shape) == (B, K - 1, W)
    assert state[1].shape == tuple(cache.rg_lru_state.shape) == (B, W)
    for t in range(T):
        y_t, cache = ref(batch_first(x_np[t : t + 1]), torch.full((B, 1), t + 1), cache)
        state, y = block.step(state, jnp.asarray(x_np[t]))
        np.testing.assert_allclose(y, y_t[:, 0].detach().numpy(), **FWD, err_msg=str(t))
        np.testing.assert_allclose(state[0], cache.conv1d_state.detach().numpy(), **FWD)
        np.testing.assert_allclose(state[1], cache.rg_lru_state.detach().numpy(), **FWD)
    assert np.abs(np.asarray(state[1])).max() > 1e-2


@needs_recurrentgemma
def test_sqrt_bounded_derivative_matches_recurrentgemma():
    x = np.array([0.0, 1e-9, 1e-7, 2.5e-7, 1e-6, 1e-3, 0.3, 0.9], np.float32)
    x_t = torch.from_numpy(x).requires_grad_(True)
    SqrtBoundDerivative.apply(x_t).sum().backward()
    value, grad = jax.value_and_grad(lambda x: sqrt_bounded_derivative(x).sum())(jnp.asarray(x))
    np.testing.assert_allclose(value, np.sqrt(x).sum(), rtol=1e-6)
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=1e-6)


def test_sqrt_bounded_derivative():
    x = jnp.asarray([0.0, 1e-9, 2.5e-7, 0.25])
    grad = jax.grad(lambda x: sqrt_bounded_derivative(x).sum())(x)
    np.testing.assert_allclose(grad, [1000.0, 1000.0, 1000.0, 1.0], rtol=1e-6)
    with jax.enable_x64(True):  # exact where the bound does not bite
        x64 = jnp.asarray([0.1, 0.5, 0.9], jnp.float64)
        check_grads(sqrt_bounded_derivative, (x64,), order=1, modes=("fwd", "rev"))


# ---------------------------------------------------------------- RG-LRU forms


def rglru_params(dtype):
    block = HawkBlock(D, heads=HEADS, rngs=nnx.Rngs(params=1), lru_width=W)
    params = block.rg_lru.params()
    params["input_gate_b"] = jnp.asarray(random_array(4, W))  # nonzero gate biases
    params["a_gate_b"] = jnp.asarray(random_array(5, W))
    return {k: jnp.asarray(v, dtype) for k, v in params.items()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rglru_forms_equal_streaming_step(dtype):
    with jax.enable_x64(dtype == "float64"):
        dt = jnp.float64 if dtype == "float64" else jnp.float32
        params, tol = rglru_params(dt), (F64 if dtype == "float64" else F32)
        u = jnp.asarray(random_array(6, 3 * T, B, W), dt)
        h = h0 = jnp.asarray(random_array(7, B, W), dt)
        ys = []
        for t in range(u.shape[0]):
            h, y = step(as_cell(RG_LRU), params, h, u[t])
            ys.append(y)
        for form in AFFINE_FORMS:
            last, y = run(RG_LRU, params, u, h0, form=form, chunk_size=4)
            assert y.dtype == dt
            np.testing.assert_allclose(y, jnp.stack(ys), **tol, err_msg=form)
            np.testing.assert_allclose(last, h, **tol, err_msg=form)
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


# ---------------------------------------------------------------- init, sizes, models


def test_init_as_recurrentgemma():
    width, lru, heads, layers = 256, 384, 4, 3
    block = HawkBlock(width, heads=heads, rngs=nnx.Rngs(params=0), lru_width=lru, num_blocks=layers)
    a = np.exp(-np.asarray(jax.nn.softplus(block.rg_lru.a_param[...]), np.float64))
    assert a.min() >= 0.9 - 1e-6 and a.max() <= 0.999 + 1e-6
    assert stats.kstest(a**2, stats.uniform(0.81, 0.998 - 0.81).cdf).pvalue > 1e-3
    std = lambda p: float(np.std(np.asarray(p[...])))  # noqa: E731
    expected = {
        "linear_x": (block.linear_x.kernel, 1 / np.sqrt(width)),
        "linear_y": (block.linear_y.kernel, 1 / np.sqrt(width)),
        "linear_out": (block.linear_out.kernel, np.sqrt(2 / layers / lru)),
        "conv_w": (block.conv_w, np.sqrt(0.01 / 4)),
        "input_gate": (block.rg_lru.input_gate, 1 / np.sqrt(lru // heads)),
        "a_gate": (block.rg_lru.a_gate, 1 / np.sqrt(lru // heads)),
        "ffw_up": (block.ffw_up, 1 / np.sqrt(width)),
        "ffw_down": (block.ffw_down.kernel, np.sqrt(2 / layers / (3 * width))),
    }
    for name, (param, want) in expected.items():
        np.testing.assert_allclose(std(param), want, rtol=0.1, err_msg=name)
    for bias in (block.conv_b, block.rg_lru.input_gate_b, block.ffw_up_b, block.linear_out.bias):
        np.testing.assert_array_equal(bias[...], 0.0)
    np.testing.assert_array_equal(block.temporal_norm.scale[...], 1.0)  # theirs: zeros (+1)


def test_parameter_count_and_state():
    block = HawkBlock(D, heads=HEADS, rngs=nnx.Rngs(params=0), lru_width=W, conv_kernel=K)
    n_params = sum(x.size for x in jax.tree.leaves(nnx.state(block, nnx.Param)))
    rg_lru = W + 2 * (HEADS * (W // HEADS) ** 2 + W)
    mlp = 2 * (D * 3 * D + 3 * D) + 3 * D * D + D
    assert n_params == 2 * D + 2 * (D * W + W) + (K * W + W) + rg_lru + (W * D + D) + mlp
    if rg is not None:
        assert n_params == sum(p.numel() for p in torch_block().parameters())
    spec = task("adding", 4).spec
    cfg = model_cfg("hawk", hidden=12, heads=3, layers=2, embed_dim=16)
    model = build("hawk", spec, hidden=12, heads=3, layers=2)
    conv, h = model.initial_state(5)[0]
    assert conv.shape == (5, 3, 12) and h.shape == (5, 12)  # model.conv_kernel 4, state_dim 0
    assert count_params(cfg, spec) == sum(
        x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))
    )


def test_rglru_width_and_heads():
    """state_dim 0: model.hidden, rounded up to a multiple of heads; a given one must be one."""
    assert HawkBlock(12, heads=4, rngs=nnx.Rngs(params=0)).rg_lru.out_features == 12
    rounded = HawkBlock(10, heads=4, rngs=nnx.Rngs(params=0))
    assert rounded.rg_lru.out_features == 12 and rounded.out_features == 10
    assert rounded.initial_state(2)[1].shape == (2, 12)
    with pytest.raises(ValueError, match=r"RG-LRU width 10 .* multiple of model\.heads=4"):
        HawkBlock(8, heads=4, rngs=nnx.Rngs(params=0), lru_width=10)
    with pytest.raises(ValueError, match="scan_form=log needs positive"):
        HawkBlock(8, heads=4, rngs=nnx.Rngs(params=0), form="log")


def test_block_is_causal():
    block = HawkBlock(D, heads=HEADS, rngs=nnx.Rngs(params=2), lru_width=W, conv_kernel=K)
    x = jnp.asarray(random_array(8, T, B, D))
    for form in AFFINE_FORMS:
        block.rg_lru.form, block.rg_lru.chunk_size = form, 3
        assert_module_causal(block, x)


@pytest.mark.parametrize("form", AFFINE_FORMS)
def test_model_streaming_equals_whole_sequence(form):
    assert_streams_like_whole_sequence("hawk", B, layers=2, heads=2, scan_form=form, chunk_size=5)
