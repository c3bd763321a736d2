"""Mamba-2: the residual block against HuggingFace transformers' Mamba2Block (its pure-PyTorch
path; outputs and every gradient) in each of our forms, the streaming step and its state against
that block's decoding cache, the SSD chunked form equal to the recurrent form (outputs, last state
and gradients; float32 and float64; chunk sizes that divide T, that do not, and above T), every
form equal to the streaming step, initialisation as the official code, parameter counts,
causality.

Why transformers: mambapy 1.2.0's mamba2.py imports mamba_ssm's Triton kernels when it is
imported (`from mamba_ssm.ops.triton.ssd_combined import ...`, not guarded), and mamba_ssm builds
CUDA extensions: neither runs on our CPU machines. transformers 5.23.0's Mamba2Mixer falls back
to PyTorch without them: `mamba2_chunk_scan` (the official ssd_minimal.py's SSD algorithm, with
padding to whole chunks) for a sequence, `selective_state_update` (the recurrence) for one
decoding step, the official module's layout ([z, x, B, C, dt] in in_proj, the conv over xBC,
D per head, the gated RMSNorm with norm_before_gate=False) and ngroups = 1.

Weight map onto transformers' Mamba2Block: Linear weights transposed (ours [in, out]);
conv1d.weight [F, 1, K] -> w [K, F]; dt_bias, A_log, D and both norms' weights as they are. Its
cache keeps the last K conv inputs, ours the last K − 1 (the oldest it keeps no longer enters
any output): ours is its [:, :, 1:], transposed; its recurrent state [B, H, P, N] is our h,
flattened to [B, H, P·N] (seqlab/models/mamba2.py says why).
Tolerances: common.FWD and GRAD (float32): both sides sum the same terms in another order.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from scipy import stats
from transformers import DynamicCache, Mamba2Config
from transformers import logging as transformers_logging
from transformers.models.mamba2.modeling_mamba2 import Mamba2Block as TorchMamba2Block

from seqlab.models.linear_recurrence import AFFINE_FORMS, as_cell
from seqlab.models.mamba2 import FORMS, Mamba2Block, mamba2_cell, run_mamba2, segment_sum
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

transformers_logging.set_verbosity_error()  # its "falling back to PyTorch" notices

T, B, D, HEADS, N, K, E = 7, 2, 8, 4, 4, 4, 2
INNER = E * D
P = INNER // HEADS
F32 = dict(rtol=1e-5, atol=1e-5)
F64 = dict(rtol=1e-12, atol=1e-12)
run = jax.jit(run_mamba2, static_argnames=("state_dim", "form", "chunk_size"))


def torch_block() -> TorchMamba2Block:
    torch.manual_seed(0)
    config = Mamba2Config(
        num_heads=HEADS,
        head_dim=P,
        hidden_size=D,
        state_size=N,
        expand=E,
        n_groups=1,
        conv_kernel=K,
        chunk_size=3,
        num_hidden_layers=1,
        layer_norm_epsilon=1e-5,
        vocab_size=10,
    )
    block = TorchMamba2Block(config, layer_idx=0)
    mixer = block.mixer
    with torch.no_grad():  # every weight nonzero and of order one, Δ of order one
        for p in block.parameters():
            p.copy_(0.3 * torch.randn_like(p))
        block.norm.weight.add_(1.0)
        mixer.norm.weight.add_(1.0)
        mixer.A_log.copy_(torch.log(torch.empty(HEADS).uniform_(1.0, 4.0)))
        mixer.dt_bias.copy_(0.5 * torch.randn(HEADS))
        mixer.D.copy_(torch.randn(HEADS))
    return block


def _pairs(block: Mamba2Block, ref: TorchMamba2Block, get):
    """(name, ours, theirs in our layout); `get` picks the tensor (.data or .grad)."""
    m = ref.mixer
    return [
        ("norm", block.norm.scale, get(ref.norm.weight)),
        ("in_proj", block.in_proj.kernel, get(m.in_proj.weight).T),
        ("conv_w", block.conv.w, get(m.conv1d.weight)[:, 0, :].T),
        ("conv_b", block.conv.b, get(m.conv1d.bias)),
        ("dt_bias", block.ssm.dt_bias, get(m.dt_bias)),
        ("a_log", block.ssm.a_log, get(m.A_log)),
        ("d", block.ssm.d, get(m.D)),
        ("gated_norm", block.gated_norm.scale, get(m.norm.weight)),
        ("out_proj", block.out_proj.kernel, get(m.out_proj.weight).T),
    ]


def ours_from(ref: TorchMamba2Block, form: str = "scan", chunk_size: int = 3) -> Mamba2Block:
    block = Mamba2Block(
        D, heads=HEADS, rngs=nnx.Rngs(params=0), state_dim=N, conv_kernel=K, expand=E
    )
    block.ssm.form, block.ssm.chunk_size = form, chunk_size
    for _, ours, theirs in _pairs(block, ref, lambda p: p.detach()):
        set_param(ours, theirs)
    return block


def batch_first(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(a, 0, 1)))


@pytest.mark.parametrize("form", FORMS)
def test_block_matches_transformers(form):
    ref = torch_block()
    block = ours_from(ref, form, chunk_size=4)  # theirs in chunks of 3: the chunking is free
    x_np, r_np = random_array(1, T, B, D), random_array(2, T, B, D)
    x_t = batch_first(x_np).requires_grad_(True)
    y_t = ref(x_t)
    (y_t * batch_first(r_np)).sum().backward()
    y, (grads, g_x) = value_and_grads(block, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, np.swapaxes(y_t.detach().numpy(), 0, 1), **FWD)
    np.testing.assert_allclose(g_x, np.swapaxes(x_t.grad.numpy(), 0, 1), **GRAD)
    for name, ours, theirs in _pairs(grads, ref, lambda p: p.grad):
        theirs = theirs.numpy()
        np.testing.assert_allclose(ours[...], theirs, **GRAD, err_msg=name)
        assert np.abs(theirs).max() > 1e-3, name  # every weight is used


def test_streaming_step_and_state_match_transformers_cache():
    ref = torch_block()
    block = ours_from(ref)
    cache = DynamicCache(config=ref.config)
    x_np = random_array(3, T, B, D)
    state = block.initial_state(B)
    assert state[0].shape == (B, K - 1, INNER + 2 * N) and state[1].shape == (B, HEADS, P * N)
    with torch.no_grad():
        for t in range(T):
            y_t = ref(torch.from_numpy(x_np[t][:, None]), cache_params=cache)
            state, y = block.step(state, jnp.asarray(x_np[t]))
            np.testing.assert_allclose(y, y_t[:, 0].numpy(), **FWD, err_msg=str(t))
            conv = cache.get_conv_state(0, state_idx=0).numpy()
            np.testing.assert_allclose(state[0], conv[:, :, 1:].transpose(0, 2, 1), **FWD)
            h = cache.get_recurrent_state(0, state_idx=0).numpy()
            np.testing.assert_allclose(state[1], h.reshape(B, HEADS, -1), **FWD, err_msg=str(t))
    assert np.abs(np.asarray(state[1])).max() > 1e-2


# ---------------------------------------------------------------- SSD and the other forms


def ssm_inputs(dtype, seed: int = 4, steps: int = 3 * T):
    block = Mamba2Block(D, heads=HEADS, rngs=nnx.Rngs(params=1), state_dim=N, expand=E)
    params = block.ssm.params()
    params["dt_bias"] = jnp.asarray(random_array(seed, HEADS, scale=0.5))  # Δ of order one
    params["d"] = jnp.asarray(random_array(seed + 1, HEADS))
    params = {k: jnp.asarray(v, dtype) for k, v in params.items()}
    v = jnp.asarray(random_array(seed + 2, steps, B, INNER + 2 * N + HEADS), dtype)
    h0 = jnp.asarray(random_array(seed + 3, B, HEADS, P * N), dtype)
    return params, v, h0


def stepped(params, v, h):
    ys = []
    for t in range(v.shape[0]):
        h, y = step(as_cell(mamba2_cell(N, P)), params, h, v[t])
        ys.append(y)
    return h, jnp.stack(ys)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_form_equals_streaming_step(dtype):
    """SSD in chunks that divide T (3, 7 for T = 21), that do not (4), of one step and above T."""
    with jax.enable_x64(dtype == "float64"):
        dt = jnp.float64 if dtype == "float64" else jnp.float32
        params, v, h0 = ssm_inputs(dt)
        tol = F64 if dtype == "float64" else F32
        h_last, expected = stepped(params, v, h0)
        for form, chunk in [
            *[(f, 4) for f in AFFINE_FORMS],
            *[("ssd", c) for c in (1, 3, 4, 7, 64)],
        ]:
            last, y = run(params, v, h0, state_dim=N, form=form, chunk_size=chunk)
            assert y.dtype == dt and y.shape == (3 * T, B, INNER)
            np.testing.assert_allclose(y, expected, **tol, err_msg=f"{form}/{chunk}")
            np.testing.assert_allclose(last, h_last, **tol, err_msg=f"{form}/{chunk}")
        assert float(jnp.abs(h_last - h0).max()) > 0.1  # the state moved
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


def test_ssd_gradients_equal_the_recurrent_forms_float64():
    with jax.enable_x64(True):
        params, v, h0 = ssm_inputs(jnp.float64, seed=9, steps=10)
        w = jnp.asarray(random_array(13, 10, B, INNER), jnp.float64)

        def grads(form, chunk):
            def loss(params, v, h0):
                last, y = run_mamba2(params, v, h0, state_dim=N, form=form, chunk_size=chunk)
                return jnp.sum(w * y) + jnp.sum(last**2)

            return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(params, v, h0)

        expected = jax.tree.leaves(grads("scan", 4))
        for form, chunk in [("ssd", 3), ("ssd", 4), ("associative", 4), ("chunked", 3)]:
            for g, e in zip(jax.tree.leaves(grads(form, chunk)), expected, strict=True):
                np.testing.assert_allclose(g, e, **F64, err_msg=f"{form}/{chunk}")
        assert min(float(jnp.abs(e).max()) for e in expected) > 1e-2


def test_segment_sum():
    x = jnp.asarray([1.0, 2.0, 3.0, 4.0])
    s = np.asarray(segment_sum(x))
    want = np.full((4, 4), -np.inf)
    for t in range(4):
        for u in range(t + 1):
            want[t, u] = float(np.sum(np.asarray(x)[u + 1 : t + 1]))  # Σ_{u<k≤t}
    np.testing.assert_array_equal(s, want)


# ---------------------------------------------------------------- init, sizes, models


def test_init_as_the_official_code():
    """mamba2.py: Δ = softplus(b_Δ) log-uniform on [0.001, 0.1] per head; A ~ U[1, 16]; D = 1;
    norms 1; W_in U(±1/√D); W_out U(±1/√(E·D)) / √layers (mixer_seq_simple.py)."""
    width, heads, layers = 64, 512, 4
    block = Mamba2Block(width, heads=heads, rngs=nnx.Rngs(params=0), state_dim=8, num_blocks=layers)
    ssm = block.ssm
    assert block.inner == 128 * 4 and ssm.out_features == 512  # 128 rounded up to 512 heads
    dt = np.asarray(jax.nn.softplus(ssm.dt_bias[...]), np.float64)
    assert dt.min() >= 0.001 * (1 - 1e-5) and dt.max() <= 0.1 * (1 + 1e-5)
    log_dt = (np.log(dt) - np.log(0.001)) / (np.log(0.1) - np.log(0.001))
    assert stats.kstest(log_dt, stats.uniform().cdf).pvalue > 1e-3
    a = np.exp(np.asarray(ssm.a_log[...], np.float64))
    assert a.min() >= 1.0 - 1e-5 and a.max() <= 16.0 + 1e-4
    assert stats.kstest(a, stats.uniform(1.0, 15.0).cdf).pvalue > 1e-3
    np.testing.assert_array_equal(ssm.d[...], 1.0)
    np.testing.assert_array_equal(block.norm.scale[...], 1.0)
    np.testing.assert_array_equal(block.gated_norm.scale[...], 1.0)
    for name, param, bound in [
        ("in_proj", block.in_proj.kernel, 1 / np.sqrt(width)),
        ("out_proj", block.out_proj.kernel, 1 / np.sqrt(block.inner) / np.sqrt(layers)),
        ("conv_w", block.conv.w, 1 / np.sqrt(4)),
    ]:
        v = np.asarray(param[...]).ravel()
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.95 * bound, name
        assert stats.kstest(v, stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3, name


def test_parameter_count_and_state():
    block = Mamba2Block(D, heads=HEADS, rngs=nnx.Rngs(params=0), state_dim=N, conv_kernel=K)
    n_params = sum(x.size for x in jax.tree.leaves(nnx.state(block, nnx.Param)))
    conv = INNER + 2 * N
    in_proj = D * (INNER + conv + HEADS)
    assert n_params == D + in_proj + (K + 1) * conv + 3 * HEADS + INNER + INNER * D
    assert n_params == sum(p.numel() for p in torch_block().parameters())
    spec = task("adding", 4).spec
    cfg = model_cfg("mamba2", hidden=9, heads=4, layers=2)
    model = build("mamba2", spec, hidden=9, heads=4, layers=2)
    window, h = model.initial_state(5)[0]
    assert window.shape == (5, 3, 20 + 2 * 64) and h.shape == (5, 4, 5 * 64)  # 18 -> 20; N 64
    assert count_params(cfg, spec) == sum(
        x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))
    )
    with pytest.raises(ValueError, match="does not apply to mamba2"):
        build("mamba2", spec, scan_form="log")


def test_block_is_causal():
    block = Mamba2Block(D, heads=HEADS, rngs=nnx.Rngs(params=2), state_dim=N, conv_kernel=K)
    x = jnp.asarray(random_array(10, T, B, D))
    for form in FORMS:
        block.ssm.form, block.ssm.chunk_size = form, 3
        assert_module_causal(block, x)


@pytest.mark.parametrize("form", FORMS)
def test_model_streaming_equals_whole_sequence(form):
    assert_streams_like_whole_sequence(
        "mamba2", B, layers=2, heads=2, state_dim=4, scan_form=form, chunk_size=5
    )
