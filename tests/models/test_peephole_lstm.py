"""Peephole LSTM: equal to torch.nn.LSTM with zero peepholes; equal to an independent NumPy
implementation of Gers & Schmidhuber 2000 with nonzero peepholes (outputs, and gradients by
central finite differences in float64); the output gate sees the new c_t; scan == step;
causality; check_grads in float64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from jax.test_util import check_grads

from seqlab.models.peephole_lstm import PEEPHOLE_LSTM_CELL, PeepholeLSTMLayer
from seqlab.models.recurrence import step
from tests.models.common import (
    FWD,
    GRAD,
    TIGHT,
    apply,
    assert_module_causal,
    build,
    random_array,
    sample,
    set_param,
    stream,
    task,
    value_and_grads,
)
from tests.models.test_lstm import random_weights, torch_lstm

T, B, D, H = 7, 3, 5, 8
PEEPHOLES = ("p_i", "p_f", "p_o")


def random_peepholes(seed: int, h: int = H, scale: float = 0.8) -> dict[str, np.ndarray]:
    return {k: random_array(seed + n, h, scale=scale) for n, k in enumerate(PEEPHOLES)}


def make_layer(w_ih, w_hh, b, peepholes=None) -> PeepholeLSTMLayer:
    layer = PeepholeLSTMLayer(w_ih.shape[0], w_hh.shape[0], rngs=nnx.Rngs(params=0))
    set_param(layer.w_ih, w_ih)
    set_param(layer.w_hh, w_hh)
    set_param(layer.b, b)
    for k, v in (peepholes or {}).items():
        set_param(getattr(layer, k), v)
    return layer


def numpy_peephole_lstm(x, w_ih, w_hh, b, p_i, p_f, p_o, *, output_sees_new_c=True):
    """Float64 NumPy, written from the equations (not from our code)."""
    sigmoid = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    x, w_ih, w_hh, b = (np.asarray(a, np.float64) for a in (x, w_ih, w_hh, b))
    n_steps, batch = x.shape[:2]
    h_size = w_hh.shape[0]
    c = np.zeros((batch, h_size))
    h = np.zeros((batch, h_size))
    ys = []
    for t in range(n_steps):
        pre = x[t] @ w_ih + h @ w_hh + b
        pre_i, pre_f, pre_g, pre_o = (pre[:, k * h_size : (k + 1) * h_size] for k in range(4))
        gate_i = sigmoid(pre_i + p_i * c)
        gate_f = sigmoid(pre_f + p_f * c)
        c_new = gate_f * c + gate_i * np.tanh(pre_g)
        gate_o = sigmoid(pre_o + p_o * (c_new if output_sees_new_c else c))
        h = gate_o * np.tanh(c_new)
        c = c_new
        ys.append(h)
    return np.stack(ys)


# ---------------------------------------------------------------- 1. torch.nn.LSTM (zero peepholes)


def test_zero_peepholes_match_torch_lstm():
    w_ih, w_hh, b_ih, b_hh = random_weights(10)
    lstm = torch_lstm([(w_ih, w_hh, b_ih, b_hh)])
    layer = make_layer(w_ih, w_hh, b_ih + b_hh)
    for k in PEEPHOLES:  # the initialisation: zero peepholes
        np.testing.assert_array_equal(getattr(layer, k)[...], np.zeros(H, np.float32))
    x_np, r_np = random_array(20, T, B, D), random_array(21, T, B, H)

    x_t = torch.from_numpy(x_np).requires_grad_(True)
    y_t, _ = lstm(x_t)
    (y_t * torch.from_numpy(r_np)).sum().backward()
    y, (g, g_x) = value_and_grads(layer, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, y_t.detach().numpy(), **FWD)
    np.testing.assert_allclose(g_x, x_t.grad.numpy(), **GRAD)
    np.testing.assert_allclose(g.w_ih[...], lstm.weight_ih_l0.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(g.w_hh[...], lstm.weight_hh_l0.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(g.b[...], lstm.bias_ih_l0.grad.numpy(), **GRAD)
    # Zero peepholes still get a gradient: they can learn to open from the initialisation.
    for k in PEEPHOLES:
        assert np.abs(getattr(g, k)[...]).min() > 1e-6, k


# ---------------------------------------------------------------- 2. NumPy (nonzero peepholes)


def test_matches_numpy_with_nonzero_peepholes():
    w_ih, w_hh, b, _ = random_weights(30)
    peep = random_peepholes(31)
    x = random_array(32, T, B, D)
    expected = numpy_peephole_lstm(x, w_ih, w_hh, b, **peep)
    y = np.asarray(make_layer(w_ih, w_hh, b, peep)(jnp.asarray(x)))
    np.testing.assert_allclose(y, expected, **FWD)
    # The peepholes matter: without them the outputs differ.
    zero = {k: np.zeros(H) for k in PEEPHOLES}
    assert np.abs(numpy_peephole_lstm(x, w_ih, w_hh, b, **zero) - expected).max() > 1e-2


def test_output_gate_seeing_old_cell_is_detected():
    """Feeding c_{t-1} instead of c_t to the output gate changes the outputs: ours is c_t."""
    w_ih, w_hh, b, _ = random_weights(30)
    peep = random_peepholes(31)
    x = random_array(32, T, B, D)
    y = np.asarray(make_layer(w_ih, w_hh, b, peep)(jnp.asarray(x)))
    wrong = numpy_peephole_lstm(x, w_ih, w_hh, b, **peep, output_sees_new_c=False)
    assert np.abs(y - wrong).max() > 1e-2
    # Each peephole on its own is seen: zeroing any one of them changes the outputs.
    for k in PEEPHOLES:
        one_off = dict(peep, **{k: np.zeros(H, np.float32)})
        assert np.abs(numpy_peephole_lstm(x, w_ih, w_hh, b, **one_off) - y).max() > 1e-2, k


@pytest.mark.parametrize("peephole_scale", [0.0, 0.8])
def test_peephole_gradients_match_numpy_finite_differences(peephole_scale):
    w_ih, w_hh, b, _ = random_weights(40)
    peep = random_peepholes(41, scale=peephole_scale)
    x, r = random_array(42, T, B, D), random_array(43, T, B, H)
    _, (g, _) = value_and_grads(make_layer(w_ih, w_hh, b, peep), jnp.asarray(x), jnp.asarray(r))

    def loss(p):
        return np.sum(numpy_peephole_lstm(x, w_ih, w_hh, b, **p) * r)

    eps = 1e-6
    peep64 = {k: v.astype(np.float64) for k, v in peep.items()}
    for k in PEEPHOLES:
        fd = np.zeros(H)
        for j in range(H):
            up, down = (dict(peep64, **{k: peep64[k].copy()}) for _ in range(2))
            up[k][j] += eps
            down[k][j] -= eps
            fd[j] = (loss(up) - loss(down)) / (2 * eps)
        np.testing.assert_allclose(getattr(g, k)[...], fd, **GRAD, err_msg=k)
        assert np.abs(fd).min() > 1e-6, k  # nonzero: the comparison is not of zeros


# ---------------------------------------------------------------- 3. bias options


def test_forget_bias_and_chrono():
    layer = PeepholeLSTMLayer(D, H, rngs=nnx.Rngs(params=0), forget_bias=2.5)
    expected = np.zeros(4 * H, np.float32)
    expected[H : 2 * H] = 2.5
    np.testing.assert_array_equal(layer.b[...], expected)
    model = build("peephole_lstm", task("adding", 4).spec, layers=2, chrono_tmax=20)
    for layer in model.layers:
        b = np.asarray(layer.b[...])
        b_i, b_f, rest = b[:H], b[H : 2 * H], b[2 * H :]
        assert (b_f > 0).all() and (b_f <= np.log(19) + 1e-6).all() and b_f.std() > 0
        np.testing.assert_array_equal(b_i, -b_f)
        np.testing.assert_array_equal(rest, 0.0)


# ---------------------------------------------------------------- 4. scan == step


def test_layer_scan_equals_streaming_step():
    w_ih, w_hh, b, _ = random_weights(50)
    layer = make_layer(w_ih, w_hh, b, random_peepholes(51))
    x = jnp.asarray(random_array(52, T, B, D))
    carry = layer.initial_state(B)
    ys = []
    for t in range(T):
        carry, y_t = layer.step(carry, x[t])
        ys.append(y_t)
    y = layer(x)
    np.testing.assert_allclose(jnp.stack(ys), y, **TIGHT)
    np.testing.assert_allclose(carry[1], y[-1], **TIGHT)
    assert np.abs(np.asarray(carry[0])).max() > 1e-2


def test_model_streaming_equals_scan_on_copy():
    copy = task("copy", 2)
    model = build("peephole_lstm", copy.spec, layers=2, residual=True, norm="layer", embed_dim=H)
    for layer in model.layers:  # nonzero peepholes, so the model test sees them
        for k, v in random_peepholes(53).items():
            set_param(getattr(layer, k), v)
    tokens = sample(copy, 1, B).inputs
    expected = apply(model, tokens)
    assert expected.shape == (copy.spec.seq_len, B, 10)
    np.testing.assert_allclose(stream(model, tokens), expected, **FWD)


# ---------------------------------------------------------------- 5. causality, check_grads


def test_layer_is_causal():
    w_ih, w_hh, b, _ = random_weights(60)
    layer = make_layer(w_ih, w_hh, b, random_peepholes(61))
    x = jnp.asarray(random_array(62, T, B, D))
    assert_module_causal(layer, x)


def test_check_grads_float64():
    with jax.enable_x64(True):
        w_ih, w_hh, b, _ = random_weights(70, d=3, h=4)
        weights = dict(w_ih=w_ih, w_hh=w_hh, b=b, **random_peepholes(71, h=4))
        params = {k: jnp.asarray(v, jnp.float64) for k, v in weights.items()}
        c0 = jnp.asarray(random_array(72, 2, 4), jnp.float64)
        h0 = jnp.asarray(random_array(73, 2, 4), jnp.float64)
        x = jnp.asarray(random_array(74, 2, 3), jnp.float64)
        cell_step = lambda p, c, x_t: step(PEEPHOLE_LSTM_CELL, p, c, x_t)  # noqa: E731
        assert cell_step(params, (c0, h0), x)[1].dtype == jnp.float64
        check_grads(cell_step, (params, (c0, h0), x), order=2, modes=("fwd", "rev"))
    assert jnp.zeros(()).dtype == jnp.float32
