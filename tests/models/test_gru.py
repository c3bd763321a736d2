"""GRU: equivalence with torch.nn.GRU (1 and 2 layers) and flax's GRUCell, outputs and
gradients; the separate b_hn; scan == step; causality; check_grads in float64.

Weight maps. torch: W = weight_ih.T, R = weight_hh.T, b = b_ih + [b_hr, b_hz, 0],
b_hn = b_hh[2H:]. flax GRUCell: W = dense_i.kernel, R = dense_h.kernel, b = dense_i.bias,
b_hn = 0 (flax's recurrent Dense has no bias).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from jax.test_util import check_grads

from seqlab.models.gru import GRU_CELL, GRULayer
from seqlab.models.recurrence import step
from tests.models.common import (
    FWD,
    GRAD,
    TIGHT,
    Chain,
    assert_module_causal,
    assert_streams_like_whole_sequence,
    random_array,
    random_gate_weights,
    set_param,
    value_and_grads,
)

T, B, D, H = 7, 3, 5, 8


# (w_ih, w_hh, b_ih, b_hh) as numpy float32, all nonzero
random_weights = functools.partial(random_gate_weights, d=D, h=H, gates=3, scale=0.5)


def torch_biases(b_ih, b_hh):
    """torch's two biases -> ours: (b with b_hr, b_hz folded in, b_hn)."""
    h = b_hh.shape[0] // 3
    return b_ih + np.concatenate([b_hh[: 2 * h], np.zeros(h, b_hh.dtype)]), b_hh[2 * h :]


def make_layer(w_ih, w_hh, b, b_hn) -> GRULayer:
    layer = GRULayer(w_ih.shape[0], w_hh.shape[0], rngs=nnx.Rngs(params=0))
    set_param(layer.w_ih, w_ih)
    set_param(layer.w_hh, w_hh)
    set_param(layer.b, b)
    set_param(layer.b_hn, b_hn)
    return layer


def torch_gru(weights: list[tuple]) -> torch.nn.GRU:
    gru = torch.nn.GRU(D, H, num_layers=len(weights))
    with torch.no_grad():
        for l, (w_ih, w_hh, b_ih, b_hh) in enumerate(weights):
            getattr(gru, f"weight_ih_l{l}").copy_(torch.from_numpy(w_ih.T.copy()))
            getattr(gru, f"weight_hh_l{l}").copy_(torch.from_numpy(w_hh.T.copy()))
            getattr(gru, f"bias_ih_l{l}").copy_(torch.from_numpy(b_ih))
            getattr(gru, f"bias_hh_l{l}").copy_(torch.from_numpy(b_hh))
    return gru


# ---------------------------------------------------------------- 1. torch.nn.GRU


@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_torch_gru(num_layers):
    weights = [random_weights(10 + l, d=D if l == 0 else H) for l in range(num_layers)]
    gru = torch_gru(weights)
    chain = Chain(
        [make_layer(w_ih, w_hh, *torch_biases(b_ih, b_hh)) for w_ih, w_hh, b_ih, b_hh in weights]
    )
    x_np, r_np = random_array(20, T, B, D), random_array(21, T, B, H)

    x_t = torch.from_numpy(x_np).requires_grad_(True)
    y_t, _ = gru(x_t)
    (y_t * torch.from_numpy(r_np)).sum().backward()
    y, (g_chain, g_x) = value_and_grads(chain, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, y_t.detach().numpy(), **FWD)
    np.testing.assert_allclose(g_x, x_t.grad.numpy(), **GRAD)
    for l in range(num_layers):
        g = g_chain.layers[l]
        grad = lambda name, l=l: getattr(gru, f"{name}_l{l}").grad.numpy()  # noqa: E731
        np.testing.assert_allclose(g.w_ih[...], grad("weight_ih").T, **GRAD)
        np.testing.assert_allclose(g.w_hh[...], grad("weight_hh").T, **GRAD)
        np.testing.assert_allclose(g.b[...], grad("bias_ih"), **GRAD)
        # b_hr, b_hz only add to b_ir, b_iz: same gradient; b_hn is its own.
        np.testing.assert_allclose(g.b[...][: 2 * H], grad("bias_hh")[: 2 * H], **GRAD)
        np.testing.assert_allclose(g.b_hn[...], grad("bias_hh")[2 * H :], **GRAD)
        # r scales b_hn's path: its gradient is not b_in's (else b_hn could be folded in).
        assert np.abs(g.b_hn[...] - g.b[...][2 * H :]).max() > 1e-3
        assert np.abs(g.b_hn[...]).max() > 1e-2


def test_dropped_or_folded_b_hn_is_detected():
    w_ih, w_hh, b_ih, b_hh = random_weights(10)
    x_np = random_array(20, T, B, D)
    y_t = torch_gru([(w_ih, w_hh, b_ih, b_hh)])(torch.from_numpy(x_np))[0].detach().numpy()
    b, b_hn = torch_biases(b_ih, b_hh)
    x = jnp.asarray(x_np)
    np.testing.assert_allclose(make_layer(w_ih, w_hh, b, b_hn)(x), y_t, **FWD)
    dropped = make_layer(w_ih, w_hh, b, np.zeros_like(b_hn))(x)
    assert np.abs(np.asarray(dropped) - y_t).max() > 1e-2
    # Folding b_hn into b_in (outside r) is the Cho et al. variant's bias, not torch's.
    folded = make_layer(w_ih, w_hh, b + np.concatenate([0 * b_hn, 0 * b_hn, b_hn]), 0 * b_hn)(x)
    assert np.abs(np.asarray(folded) - y_t).max() > 1e-2


def test_gate_order_is_detected():
    """Swapping the r and z blocks breaks the torch match (the test sees the gate order)."""
    w_ih, w_hh, b_ih, b_hh = random_weights(10)
    x_np = random_array(20, T, B, D)
    y_t = torch_gru([(w_ih, w_hh, b_ih, b_hh)])(torch.from_numpy(x_np))[0].detach().numpy()
    b, b_hn = torch_biases(b_ih, b_hh)
    swap = lambda w: np.concatenate([w[..., H : 2 * H], w[..., :H], w[..., 2 * H :]], -1)  # noqa: E731
    y = make_layer(swap(w_ih), swap(w_hh), swap(b), b_hn)(jnp.asarray(x_np))
    assert np.abs(np.asarray(y) - y_t).max() > 1e-2


# ---------------------------------------------------------------- 2. flax GRUCell


def test_matches_flax_gru_cell():
    cell = nnx.GRUCell(D, H, bias_init=nnx.initializers.normal(0.5), rngs=nnx.Rngs(params=1))
    assert cell.dense_h.bias is None  # flax has no b_hn: ours is set to zero
    layer = make_layer(
        cell.dense_i.kernel[...], cell.dense_h.kernel[...], cell.dense_i.bias[...], np.zeros(H)
    )
    assert np.abs(cell.dense_i.bias[...]).min() > 0
    x = jnp.asarray(random_array(2, T, B, D))
    r = jnp.asarray(random_array(3, T, B, H))

    def flax_run(cell, x):
        h = jnp.zeros((B, H))
        ys = []
        for t in range(T):
            h, y = cell(h, x[t])
            ys.append(y)
        return jnp.stack(ys)

    y_ref, (g_cell, g_x_ref) = nnx.jit(
        lambda c, x: (
            flax_run(c, x),
            nnx.grad(lambda c, x: jnp.sum(flax_run(c, x) * r), argnums=(0, 1))(c, x),
        )
    )(cell, x)
    y, (g, g_x) = value_and_grads(layer, x, r)

    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, g_x_ref, **GRAD)
    np.testing.assert_allclose(g.w_ih[...], g_cell.dense_i.kernel[...], **GRAD)
    np.testing.assert_allclose(g.w_hh[...], g_cell.dense_h.kernel[...], **GRAD)
    np.testing.assert_allclose(g.b[...], g_cell.dense_i.bias[...], **GRAD)
    assert np.abs(g.b[...]).max() > 1e-2


def test_init_matches_flax_defaults():
    layer = GRULayer(D, H, rngs=nnx.Rngs(params=0))
    np.testing.assert_array_equal(layer.b[...], np.zeros(3 * H, np.float32))
    np.testing.assert_array_equal(layer.b_hn[...], np.zeros(H, np.float32))
    w = np.asarray(layer.w_hh[...])  # orthogonal [H, 3H]: orthonormal rows
    np.testing.assert_allclose(w @ w.T, np.eye(H), atol=1e-5)


# ---------------------------------------------------------------- 3. scan == step


def test_layer_scan_equals_streaming_step():
    w_ih, w_hh, b_ih, b_hh = random_weights(30)
    layer = make_layer(w_ih, w_hh, *torch_biases(b_ih, b_hh))
    x = jnp.asarray(random_array(31, T, B, D))
    carry = layer.initial_state(B)
    ys = []
    for t in range(T):
        carry, y_t = layer.step(carry, x[t])
        ys.append(y_t)
    y = layer(x)
    np.testing.assert_allclose(jnp.stack(ys), y, **TIGHT)
    np.testing.assert_allclose(carry, y[-1], **TIGHT)
    assert np.abs(np.asarray(y[-1])).max() > 1e-2


def test_model_streaming_equals_scan_on_copy():
    assert_streams_like_whole_sequence(
        "gru", B, layers=2, residual=True, norm="rms", hoist_input=True
    )


# ---------------------------------------------------------------- 4. causality, check_grads


def test_layer_is_causal():
    w_ih, w_hh, b_ih, b_hh = random_weights(60)
    layer = make_layer(w_ih, w_hh, *torch_biases(b_ih, b_hh))
    x = jnp.asarray(random_array(61, T, B, D))
    assert_module_causal(layer, x)


def test_check_grads_float64():
    with jax.enable_x64(True):
        w_ih, w_hh, b_ih, b_hh = random_weights(50, d=3, h=4)
        b, b_hn = torch_biases(b_ih, b_hh)
        params = {
            k: jnp.asarray(v, jnp.float64)
            for k, v in dict(w_ih=w_ih, w_hh=w_hh, b=b, b_hn=b_hn).items()
        }
        h0 = jnp.asarray(random_array(51, 2, 4), jnp.float64)
        x = jnp.asarray(random_array(52, 2, 3), jnp.float64)
        cell_step = lambda p, h, x_t: step(GRU_CELL, p, h, x_t)  # noqa: E731
        assert cell_step(params, h0, x)[1].dtype == jnp.float64
        check_grads(cell_step, (params, h0, x), order=2, modes=("fwd", "rev"))
    assert jnp.zeros(()).dtype == jnp.float32
