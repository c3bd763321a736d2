"""Mamba: the residual block against mambapy's ResidualBlock (its pscan and its sequential
selective scan; outputs and every gradient), the streaming step and its state against mambapy's
`step` cache, the selective scan's forms (scan, associative, chunked) equal to the step in float32
and float64, initialisation as the official code, parameter counts, causality.

Weight map onto mambapy 1.2.0 (mambapy/mamba.py): Linear weights transposed (ours [in, out]);
conv1d.weight [E·D, 1, K] -> w [K, E·D] (the same tap order: torch's padded conv cut to the first
T outputs is our causal conv); A_log, D, dt_proj.bias, the norm's weight as they are. Its cache
(h [B, E·D, N], inputs [B, E·D, K − 1]) is our state (window [B, K − 1, E·D] transposed, h).
Tolerances: common.FWD and GRAD (float32): both sides sum the same terms in another order.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from mambapy.mamba import MambaConfig
from mambapy.mamba import ResidualBlock as TorchResidualBlock
from scipy import stats

from seqlab.models.linear_recurrence import AFFINE_FORMS, as_cell, run_linear
from seqlab.models.mamba import MAMBA_SSM, MambaBlock
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

T, B, D, N, K, E = 7, 2, 8, 4, 4, 2
INNER, RANK = E * D, math.ceil(D / 16)
F32 = dict(rtol=1e-5, atol=1e-5)
F64 = dict(rtol=1e-12, atol=1e-12)
# jitted: eager parallel scans dispatch hundreds of small ops, slower than one compile
run = jax.jit(run_linear, static_argnums=0, static_argnames=("form", "chunk_size"))


def torch_block(pscan: bool = True) -> TorchResidualBlock:
    torch.manual_seed(0)
    config = MambaConfig(d_model=D, n_layers=1, d_state=N, expand_factor=E, d_conv=K, pscan=pscan)
    block = TorchResidualBlock(config)
    with torch.no_grad():  # every weight nonzero and of order one, Δ of order one
        for p in block.parameters():
            p.add_(0.3 * torch.randn_like(p))
        block.mixer.dt_proj.bias.copy_(0.5 * torch.randn(INNER))
    return block


def ours_from(ref: TorchResidualBlock, form: str = "scan") -> MambaBlock:
    block = MambaBlock(D, rngs=nnx.Rngs(params=0), state_dim=N, conv_kernel=K, expand=E)
    block.ssm.form, block.ssm.chunk_size = form, 3
    for ours, theirs in weight_map(block, ref):
        set_param(ours, theirs)
    return block


def _pairs(block: MambaBlock, mixer, norm_weight, get):
    """(name, ours, theirs in our layout); `get` picks the tensor (.data or .grad)."""
    return [
        ("norm", block.norm.scale, get(norm_weight)),
        ("in_proj", block.in_proj.kernel, get(mixer.in_proj.weight).T),
        ("conv_w", block.conv.w, get(mixer.conv1d.weight)[:, 0, :].T),
        ("conv_b", block.conv.b, get(mixer.conv1d.bias)),
        ("x_proj", block.ssm.x_proj, get(mixer.x_proj.weight).T),
        ("dt_proj", block.ssm.dt_proj, get(mixer.dt_proj.weight).T),
        ("dt_bias", block.ssm.dt_bias, get(mixer.dt_proj.bias)),
        ("a_log", block.ssm.a_log, get(mixer.A_log)),
        ("d", block.ssm.d, get(mixer.D)),
        ("out_proj", block.out_proj.kernel, get(mixer.out_proj.weight).T),
    ]


def weight_map(block: MambaBlock, ref: TorchResidualBlock):
    data = lambda p: p.detach()  # noqa: E731
    return [(ours, theirs) for _, ours, theirs in _pairs(block, ref.mixer, ref.norm.weight, data)]


def batch_first(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(a, 0, 1)))


@pytest.mark.parametrize("form", AFFINE_FORMS)
def test_block_matches_mambapy(form):
    """Both of mambapy's selective scans (pscan, sequential) against each of our forms."""
    x_np, r_np = random_array(1, T, B, D), random_array(2, T, B, D)
    block = ours_from(torch_block(), form)
    y, (grads, g_x) = value_and_grads(block, jnp.asarray(x_np), jnp.asarray(r_np))
    for pscan in (True, False):
        ref = torch_block(pscan)
        x_t = batch_first(x_np).requires_grad_(True)
        y_t = ref(x_t)
        (y_t * batch_first(r_np)).sum().backward()
        np.testing.assert_allclose(y, np.swapaxes(y_t.detach().numpy(), 0, 1), **FWD)
        np.testing.assert_allclose(g_x, np.swapaxes(x_t.grad.numpy(), 0, 1), **GRAD)
        for name, ours, theirs in _pairs(grads, ref.mixer, ref.norm.weight, lambda p: p.grad):
            theirs = theirs.numpy()
            np.testing.assert_allclose(ours[...], theirs, **GRAD, err_msg=f"{name}/{pscan}")
            assert np.abs(theirs).max() > 1e-3, name  # every weight is used


def test_streaming_step_and_state_match_mambapys_cache():
    ref = torch_block()
    block = ours_from(ref)
    x_np = random_array(3, T, B, D)
    cache = (None, torch.zeros(B, INNER, K - 1))
    state = block.initial_state(B)
    assert state[0].shape == (B, K - 1, INNER) and state[1].shape == (B, INNER, N)
    for t in range(T):
        y_t, cache = ref.step(torch.from_numpy(x_np[t]), cache)
        state, y = block.step(state, jnp.asarray(x_np[t]))
        np.testing.assert_allclose(y, y_t.detach().numpy(), **FWD, err_msg=str(t))
        np.testing.assert_allclose(state[1], cache[0].detach().numpy(), **FWD)
        np.testing.assert_allclose(
            state[0], cache[1].detach().numpy().transpose(0, 2, 1), **FWD, err_msg=str(t)
        )
    assert np.abs(np.asarray(state[1])).max() > 1e-2


# ---------------------------------------------------------------- forms of the selective scan


def ssm_params(dtype):
    block = MambaBlock(D, rngs=nnx.Rngs(params=1), state_dim=N, conv_kernel=K, expand=E)
    params = block.ssm.params()
    params["dt_bias"] = jnp.asarray(random_array(5, INNER, scale=0.5))  # Δ of order one
    params["a_log"] = params["a_log"] + jnp.asarray(random_array(6, INNER, N, scale=0.3))
    return {k: jnp.asarray(v, dtype) for k, v in params.items()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ssm_forms_equal_streaming_step(dtype):
    with jax.enable_x64(dtype == "float64"):
        dt = jnp.float64 if dtype == "float64" else jnp.float32
        params, tol = ssm_params(dt), (F64 if dtype == "float64" else F32)
        u = jnp.asarray(random_array(7, 3 * T, B, INNER), dt)
        h = h0 = jnp.asarray(random_array(8, B, INNER, N), dt)
        ys = []
        for t in range(u.shape[0]):
            h, y = step(as_cell(MAMBA_SSM), params, h, u[t])
            ys.append(y)
        for form in AFFINE_FORMS:
            last, y = run(MAMBA_SSM, params, u, h0, form=form, chunk_size=4)
            assert y.dtype == dt
            np.testing.assert_allclose(y, jnp.stack(ys), **tol, err_msg=form)
            np.testing.assert_allclose(last, h, **tol, err_msg=form)
        assert float(jnp.abs(h - h0).max()) > 0.1  # the state moved
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


# ---------------------------------------------------------------- init, sizes, models


def test_init_as_the_official_code():
    """mamba_simple.py: Δ = softplus(b_Δ) log-uniform on [0.001, 0.1]; A_n = −n; D = 1;
    W_Δ U(±R^−½); projections U(±1/√fan_in); W_out also / √layers (mixer_seq_simple.py)."""
    width, layers = 256, 4
    block = MambaBlock(width, rngs=nnx.Rngs(params=0), num_blocks=layers)
    ssm = block.ssm
    dt = np.asarray(jax.nn.softplus(ssm.dt_bias[...]), np.float64)
    assert dt.shape == (2 * width,)
    assert dt.min() >= 0.001 * (1 - 1e-5) and dt.max() <= 0.1 * (1 + 1e-5)
    log_dt = (np.log(dt) - np.log(0.001)) / (np.log(0.1) - np.log(0.001))
    assert stats.kstest(log_dt, stats.uniform().cdf).pvalue > 1e-3
    assert stats.kstest(dt, stats.uniform(0.001, 0.099).cdf).pvalue < 1e-6  # not uniform
    np.testing.assert_allclose(
        np.exp(ssm.a_log[...]), np.tile(np.arange(1, 17), (512, 1)), rtol=1e-6
    )
    np.testing.assert_array_equal(ssm.d[...], 1.0)
    rank = math.ceil(width / 16)
    assert ssm.dt_proj.shape == (rank, 2 * width) and ssm.x_proj.shape == (2 * width, rank + 32)
    bounds = {
        "in_proj": (block.in_proj.kernel, 1 / np.sqrt(width)),
        "x_proj": (ssm.x_proj, 1 / np.sqrt(2 * width)),
        "dt_proj": (ssm.dt_proj, 1 / np.sqrt(rank)),
        "conv_w": (block.conv.w, 1 / np.sqrt(4)),
        "conv_b": (block.conv.b, 1 / np.sqrt(4)),
        "out_proj": (block.out_proj.kernel, 1 / np.sqrt(2 * width) / np.sqrt(layers)),
    }
    for name, (param, bound) in bounds.items():
        v = np.asarray(param[...]).ravel()
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.95 * bound, name
        assert stats.kstest(v, stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3, name
    np.testing.assert_array_equal(block.norm.scale[...], 1.0)


def test_parameter_count_and_state():
    block = MambaBlock(D, rngs=nnx.Rngs(params=0), state_dim=N, conv_kernel=K, expand=E)
    n_params = sum(x.size for x in jax.tree.leaves(nnx.state(block, nnx.Param)))
    ssm = INNER * (RANK + 2 * N) + RANK * INNER + INNER + INNER * N + INNER
    assert n_params == D + D * 2 * INNER + (K * INNER + INNER) + ssm + INNER * D
    assert n_params == sum(p.numel() for p in torch_block().parameters())
    spec = task("adding", 4).spec
    cfg = model_cfg("mamba", hidden=12, layers=2)
    model = build("mamba", spec, hidden=12, layers=2)
    window, h = model.initial_state(5)[0]
    assert window.shape == (5, 3, 24) and h.shape == (5, 24, 16)  # conv_kernel 4, N 16
    assert count_params(cfg, spec) == sum(
        x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))
    )
    with pytest.raises(ValueError, match="scan_form=log needs positive"):
        build("mamba", spec, scan_form="log")


def test_block_is_causal():
    block = MambaBlock(D, rngs=nnx.Rngs(params=2), state_dim=N, conv_kernel=K, expand=E)
    x = jnp.asarray(random_array(9, T, B, D))
    for form in AFFINE_FORMS:
        block.ssm.form, block.ssm.chunk_size = form, 3
        assert_module_causal(block, x)


@pytest.mark.parametrize("form", AFFINE_FORMS)
def test_model_streaming_equals_whole_sequence(form):
    assert_streams_like_whole_sequence(
        "mamba", B, layers=2, state_dim=4, scan_form=form, chunk_size=5
    )
