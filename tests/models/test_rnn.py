"""Vanilla RNN and IRNN: equivalence with torch.nn.RNN (tanh and relu; 1 and 2 layers;
outputs and gradients), IRNN initialisation, scan == step, causality, check_grads in float64.
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

from seqlab.models.recurrence import step
from seqlab.models.rnn import RELU_RNN_CELL, TANH_RNN_CELL, RNNLayer
from tests.models.common import (
    FWD,
    GRAD,
    TIGHT,
    Chain,
    assert_module_causal,
    assert_streams_like_whole_sequence,
    build,
    random_array,
    random_gate_weights,
    set_param,
    task,
    value_and_grads,
)

T, B, D, H = 7, 3, 5, 8


# (w_ih, w_hh, b_ih, b_hh) as numpy float32, all nonzero
random_weights = functools.partial(random_gate_weights, d=D, h=H, gates=1, scale=0.4)


def make_layer(w_ih, w_hh, b, irnn: bool = False) -> RNNLayer:
    layer = RNNLayer(w_ih.shape[0], w_hh.shape[0], rngs=nnx.Rngs(params=0), irnn=irnn)
    set_param(layer.w_ih, w_ih)
    set_param(layer.w_hh, w_hh)
    set_param(layer.b, b)
    return layer


def torch_rnn(weights: list[tuple], nonlinearity: str) -> torch.nn.RNN:
    rnn = torch.nn.RNN(D, H, num_layers=len(weights), nonlinearity=nonlinearity)
    with torch.no_grad():
        for l, (w_ih, w_hh, b_ih, b_hh) in enumerate(weights):
            getattr(rnn, f"weight_ih_l{l}").copy_(torch.from_numpy(w_ih.T.copy()))
            getattr(rnn, f"weight_hh_l{l}").copy_(torch.from_numpy(w_hh.T.copy()))
            getattr(rnn, f"bias_ih_l{l}").copy_(torch.from_numpy(b_ih))
            getattr(rnn, f"bias_hh_l{l}").copy_(torch.from_numpy(b_hh))
    return rnn


# ---------------------------------------------------------------- 1. torch.nn.RNN


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_matches_torch_rnn(nonlinearity, num_layers):
    weights = [random_weights(10 + l, d=D if l == 0 else H) for l in range(num_layers)]
    rnn = torch_rnn(weights, nonlinearity)
    irnn = nonlinearity == "relu"
    chain = Chain([make_layer(w_ih, w_hh, b_ih + b_hh, irnn) for w_ih, w_hh, b_ih, b_hh in weights])
    x_np, r_np = random_array(20, T, B, D), random_array(21, T, B, H)

    x_t = torch.from_numpy(x_np).requires_grad_(True)
    y_t, _ = rnn(x_t)
    (y_t * torch.from_numpy(r_np)).sum().backward()
    y, (g_chain, g_x) = value_and_grads(chain, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, y_t.detach().numpy(), **FWD)
    np.testing.assert_allclose(g_x, x_t.grad.numpy(), **GRAD)
    for l in range(num_layers):
        g = g_chain.layers[l]
        grad = lambda name, l=l: getattr(rnn, f"{name}_l{l}").grad.numpy()  # noqa: E731
        np.testing.assert_allclose(g.w_ih[...], grad("weight_ih").T, **GRAD)
        np.testing.assert_allclose(g.w_hh[...], grad("weight_hh").T, **GRAD)
        np.testing.assert_allclose(g.b[...], grad("bias_ih"), **GRAD)
        np.testing.assert_allclose(g.b[...], grad("bias_hh"), **GRAD)
        assert np.abs(g.w_hh[...]).max() > 1e-2
    if irnn:  # ReLU really clips: some outputs are exactly zero, others not
        assert (np.asarray(y) == 0).any() and (np.asarray(y) > 0).any()


def test_activation_is_detected():
    """tanh and ReLU layers with the same weights differ (so the torch test tells them apart)."""
    w_ih, w_hh, b, _ = random_weights(10)
    x = jnp.asarray(random_array(20, T, B, D))
    y_tanh = make_layer(w_ih, w_hh, b, irnn=False)(x)
    y_relu = make_layer(w_ih, w_hh, b, irnn=True)(x)
    assert np.abs(np.asarray(y_tanh) - np.asarray(y_relu)).max() > 1e-1


# ---------------------------------------------------------------- 2. initialisation


def test_irnn_init_is_identity_and_zero_bias():
    layer = RNNLayer(D, H, rngs=nnx.Rngs(params=0), irnn=True)
    np.testing.assert_array_equal(layer.w_hh[...], np.eye(H, dtype=np.float32))
    np.testing.assert_array_equal(layer.b[...], np.zeros(H, np.float32))
    assert layer.cell is RELU_RNN_CELL
    assert np.abs(layer.w_ih[...]).max() > 0
    # Through the config: every layer of a 2-layer model.
    model = build("rnn", task("adding", 4).spec, layers=2, irnn=True)
    for layer in model.layers:
        np.testing.assert_array_equal(layer.w_hh[...], np.eye(H, dtype=np.float32))
        assert layer.cell is RELU_RNN_CELL
    # The default: tanh, orthogonal (not identity) recurrent kernel.
    tanh = build("rnn", task("adding", 4).spec, layers=2).layers[0]
    assert tanh.cell is TANH_RNN_CELL
    w = np.asarray(tanh.w_hh[...])
    np.testing.assert_allclose(w @ w.T, np.eye(H), atol=1e-5)
    assert np.abs(w - np.eye(H)).max() > 1e-1


def test_irnn_with_zero_input_integrates_nonnegative_state():
    """R = I, b = 0, ReLU: with no input a nonnegative state is carried unchanged."""
    layer = RNNLayer(D, H, rngs=nnx.Rngs(params=0), irnn=True)
    h0 = jnp.asarray(np.abs(random_array(1, B, H)))
    h, y = layer.step(h0, jnp.zeros((B, D)))
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(y, h0)


# ---------------------------------------------------------------- 3. scan == step


@pytest.mark.parametrize("irnn", [False, True])
def test_layer_scan_equals_streaming_step(irnn):
    w_ih, w_hh, b, _ = random_weights(30)
    layer = make_layer(w_ih, w_hh, b, irnn)
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
    assert_streams_like_whole_sequence("rnn", B, layers=2, irnn=True, residual=True, norm="layer")


# ---------------------------------------------------------------- 4. causality, check_grads


@pytest.mark.parametrize("irnn", [False, True])
def test_layer_is_causal(irnn):
    w_ih, w_hh, b, _ = random_weights(60)
    # Positive biases keep the ReLU units active, so every past step reaches every output.
    layer = make_layer(w_ih, w_hh, np.abs(b) + 1.0 if irnn else b, irnn)
    x = jnp.asarray(random_array(61, T, B, D, scale=0.3))
    assert_module_causal(layer, x)


@pytest.mark.parametrize("cell", [TANH_RNN_CELL, RELU_RNN_CELL], ids=["tanh", "relu"])
def test_check_grads_float64(cell):
    with jax.enable_x64(True):
        w_ih, w_hh, b, _ = random_weights(50, d=3, h=4)
        params = {
            k: jnp.asarray(v, jnp.float64) for k, v in dict(w_ih=w_ih, w_hh=w_hh, b=b).items()
        }
        h0 = jnp.asarray(random_array(51, 2, 4), jnp.float64)
        x = jnp.asarray(random_array(52, 2, 3), jnp.float64)
        cell_step = lambda p, h, x_t: step(cell, p, h, x_t)  # noqa: E731
        h1 = cell_step(params, h0, x)[1]
        assert h1.dtype == jnp.float64
        # Away from ReLU's kink, so finite differences are valid.
        assert (
            np.abs(np.asarray(x @ params["w_ih"] + params["b"] + h0 @ params["w_hh"])).min() > 1e-3
        )
        check_grads(cell_step, (params, h0, x), order=2, modes=("fwd", "rev"))
    assert jnp.zeros(()).dtype == jnp.float32
