"""The linear-recurrence mechanism: every form (scan, associative, chunked, log) against a NumPy
loop of h_t = a_t ⊙ h_{t−1} + b_t, in float32 and float64, real and complex, diagonal and MIMO
(a broadcast against b), with an initial state, in reverse; gradients equal between forms;
`run_linear` on a cell equal to its streaming step; the scan driver's options unchanged.

The NumPy loop is the definition; float64 agreement to 1e-12 shows each form computes the same
sums, and float32 agreement to 1e-5 that none loses precision on these short sequences.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab.models.linear_recurrence import (
    FORMS,
    LinearCell,
    as_cell,
    check_form,
    linear_states,
    log_states,
    run_linear,
)
from seqlab.models.recurrence import ScanOptions, step
from tests.models.common import random_array

T, B, N = 11, 3, 4
F32 = dict(rtol=1e-5, atol=1e-5)
F64 = dict(rtol=1e-12, atol=1e-12)
# jitted: eager associative scans dispatch hundreds of small ops, slower than one compile
states = jax.jit(linear_states, static_argnames=("form", "chunk_size", "reverse"))
run = jax.jit(run_linear, static_argnums=0, static_argnames=("form", "chunk_size", "reverse"))
PARALLEL = [("associative", 64), ("chunked", 1), ("chunked", 4), ("chunked", 5), ("chunked", 64)]


def numpy_states(a, b, h0, reverse=False):
    a = np.broadcast_to(np.asarray(a), np.broadcast_shapes(np.shape(a), np.shape(b)))
    order = range(len(b) - 1, -1, -1) if reverse else range(len(b))
    h, out = np.asarray(h0), [None] * len(b)
    for t in order:
        h = a[t] * h + b[t]
        out[t] = h
    return np.stack(out)


def coefficients(seed: int, complex_: bool, dtype, b_shape=(T, B, N), a_shape=None):
    """a inside the unit disc (|a| in [0.5, 0.99]), b and h0 of order 1."""
    rng = np.random.default_rng(seed)
    a_shape = a_shape or b_shape
    a = rng.uniform(0.5, 0.99, a_shape)
    b = rng.standard_normal(b_shape)
    h0 = rng.standard_normal(b_shape[1:])
    if complex_:
        a = a * np.exp(1j * rng.uniform(0, 2 * np.pi, a_shape))
        b = b + 1j * rng.standard_normal(b_shape)
        h0 = h0 + 1j * rng.standard_normal(b_shape[1:])
    cast = (np.complex128 if complex_ else np.float64) if dtype == "float64" else None
    cast = cast or (np.complex64 if complex_ else np.float32)
    return (jnp.asarray(v.astype(cast)) for v in (a, b, h0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_every_form_equals_the_numpy_loop(dtype, complex_, reverse):
    with jax.enable_x64(dtype == "float64"):
        a, b, h0 = coefficients(1, complex_, dtype)
        expected = numpy_states(a, b, h0, reverse)
        tol = F64 if dtype == "float64" else F32
        for form, chunk in [("scan", 64), *PARALLEL]:
            h = states(a, b, h0, form=form, chunk_size=chunk, reverse=reverse)
            assert h.dtype == b.dtype, form
            np.testing.assert_allclose(h, expected, **tol, err_msg=f"{form}/{chunk}")
        assert (
            np.abs(
                expected[0 if not reverse else -1] - np.asarray(b[0 if not reverse else -1])
            ).max()
            > 0.1
        )  # h0 mattered
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((N,), (T, B, N)),  # time-invariant diagonal (the LRU's λ)
        ((T, B, 2, 1, 1), (T, B, 2, 3, N)),  # a scalar per head, MIMO states (Mamba-2)
        ((T, 1, N), (T, B, N)),  # shared over the batch
    ],
)
def test_a_broadcasts_against_b(a_shape, b_shape):
    with jax.enable_x64(True):
        a, b, h0 = coefficients(2, False, "float64", b_shape, a_shape)
        a_full = a.reshape((1,) * (len(b_shape) - len(a_shape)) + a_shape)
        expected = numpy_states(np.broadcast_to(a_full, (T, *a_full.shape[1:])), b, h0)
        for form, chunk in [("scan", 64), *PARALLEL]:
            h = states(a, b, h0, form=form, chunk_size=chunk)
            assert h.shape == b_shape
            np.testing.assert_allclose(h, expected, **F64, err_msg=f"{form}/{chunk}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_form_equals_the_numpy_loop(dtype):
    """Positive a, b given as logarithms; h0 of either sign (it enters linearly)."""
    with jax.enable_x64(dtype == "float64"):
        a, b, h0 = coefficients(3, False, dtype)
        b = jnp.abs(b) + 0.1
        for reverse in (False, True):
            expected = numpy_states(a, b, h0, reverse)
            h = log_states(jnp.log(a), jnp.log(b), h0, reverse=reverse)
            np.testing.assert_allclose(h, expected, **(F64 if dtype == "float64" else F32))
        zero = log_states(jnp.log(a), jnp.log(b), jnp.zeros_like(h0))
        np.testing.assert_allclose(zero, numpy_states(a, b, 0 * h0), **F32)
        assert np.isfinite(np.asarray(zero)).all()


def test_gradients_agree_between_forms_float64():
    with jax.enable_x64(True):
        a, b, h0 = coefficients(4, True, "float64")
        w = jnp.asarray(random_array(5, T, B, N), jnp.float64)

        def loss(form, chunk):
            def f(a, b, h0):
                h = linear_states(a, b, h0, form=form, chunk_size=chunk)
                return jnp.sum(w * (h.real + 0.3 * h.imag) ** 2)

            return jax.jit(jax.grad(f, argnums=(0, 1, 2)))(a, b, h0)

        expected = loss("scan", 64)
        for form, chunk in PARALLEL:
            for g, e in zip(loss(form, chunk), expected, strict=True):
                np.testing.assert_allclose(g, e, **F64, err_msg=f"{form}/{chunk}")
        assert min(float(jnp.abs(e).max()) for e in expected) > 1e-2


# ---------------------------------------------------------------- a cell: run_linear, step


def toy_coefficients(p, x):
    a = jax.nn.sigmoid(x @ p["w_a"])
    return a, jnp.tanh(x @ p["w_b"]), x


def toy_log_coefficients(p, x):
    # positive b for the log form: b = softplus(x w_b)
    return jax.nn.log_sigmoid(x @ p["w_a"]), jnp.log(jax.nn.softplus(x @ p["w_b"])), x


def toy_output(p, h, x):
    return h * p["scale"] + x @ p["w_skip"]


def toy_zeros(p, batch):
    return jnp.zeros((batch, p["scale"].shape[0]), p["scale"].dtype)


TOY = LinearCell(toy_coefficients, toy_output, toy_zeros)
TOY_LOG = LinearCell(
    lambda p, x: (jax.nn.sigmoid(x @ p["w_a"]), jax.nn.softplus(x @ p["w_b"]), x),
    toy_output,
    toy_zeros,
    toy_log_coefficients,
)


def toy_params(dtype=jnp.float32, d=3):
    shapes = dict(w_a=(d, N), w_b=(d, N), scale=(N,), w_skip=(d, N))
    return {
        k: jnp.asarray(random_array(10 + i, *s), dtype) for i, (k, s) in enumerate(shapes.items())
    }


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell", [TOY, TOY_LOG], ids=["real", "positive"])
def test_run_linear_forms_equal_streaming_step(dtype, cell):
    with jax.enable_x64(dtype == "float64"):
        dt = jnp.float64 if dtype == "float64" else jnp.float32
        params, tol = toy_params(dt), (F64 if dtype == "float64" else F32)
        x = jnp.asarray(random_array(20, T, B, 3), dt)
        h0 = jnp.asarray(random_array(21, B, N), dt)
        h, ys = h0, []
        for t in range(T):
            h, y = step(as_cell(cell), params, h, x[t])
            ys.append(y)
        forms = FORMS if cell.log_coefficients else FORMS[:3]
        for form in forms:
            last, y = jax.jit(
                lambda p, x, h0, form=form: run_linear(cell, p, x, h0, form=form, chunk_size=4)
            )(params, x, h0)
            np.testing.assert_allclose(y, jnp.stack(ys), **tol, err_msg=form)
            np.testing.assert_allclose(last, h, **tol, err_msg=form)
            # reverse: the same as running the reversed sequence forward
            last_r, y_r = run(cell, params, x, h0, form=form, chunk_size=4, reverse=True)
            last_f, y_f = run(cell, params, x[::-1], h0, form="scan")
            np.testing.assert_allclose(y_r, y_f[::-1], **tol, err_msg=form)
            np.testing.assert_allclose(last_r, last_f, **tol, err_msg=form)


def test_scan_options_change_no_number():
    """checkpoint_every, remat, hoist_input and unroll on the scan form; remat on the others."""
    params = toy_params()
    x = jnp.asarray(random_array(30, T, B, 3))
    r = jnp.asarray(random_array(31, T, B, N))

    def value_and_grad(form, options):
        f = lambda p: jnp.sum(r * run_linear(TOY, p, x, form=form, options=options)[1])  # noqa: E731
        return jax.jit(jax.value_and_grad(f))(params)

    v0, g0 = value_and_grad("scan", ScanOptions())
    cases = [
        ("scan", ScanOptions(checkpoint_every=4, remat=True)),
        ("scan", ScanOptions(hoist_input=True, unroll=3)),
        ("associative", ScanOptions(remat=True)),
        ("chunked", ScanOptions(remat=True)),
    ]
    for form, options in cases:
        v, g = value_and_grad(form, options)
        np.testing.assert_allclose(v, v0, **F32)
        for k in g0:
            np.testing.assert_allclose(g[k], g0[k], **F32, err_msg=f"{form} {options} {k}")
    assert float(jnp.abs(g0["w_a"]).max()) > 1e-2


def test_bad_forms_are_refused():
    with pytest.raises(ValueError, match=r"model.scan_form is 'parallel'; valid choices: scan"):
        check_form("parallel", TOY, "toy")
    with pytest.raises(ValueError, match=r"scan_form=log needs positive .* 'toy' has no log"):
        check_form("log", TOY, "toy")
    check_form("log", TOY_LOG, "toy")
    a, b, h0 = coefficients(1, False, "float32")
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        linear_states(a, b, h0, form="chunked", chunk_size=0)
    with pytest.raises(ValueError, match="form 'log' needs a cell"):
        run_linear(TOY, toy_params(), jnp.zeros((T, B, 3)), form="log")
