"""block_diagonal equals the plain block einsum: values, both gradients (also under vmap, as
seeds are trained), numerical gradients in float64; and refuses a width the blocks cannot take."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from seqlab.models.block_diagonal import block_diagonal


def reference(x, w):
    N, I, O = w.shape
    y = jnp.einsum("...ni,nio->...no", x.reshape(*x.shape[:-1], N, I), w)
    return y.reshape(*x.shape[:-1], N * O)


def operands(lead, N, I, O, seed=0, dtype=jnp.float32):
    kx, kw, kg = jax.random.split(jax.random.key(seed), 3)
    x = jax.random.normal(kx, (*lead, N * I), dtype)
    w = jax.random.normal(kw, (N, I, O), dtype)
    g = jax.random.normal(kg, (*lead, N * O), dtype)
    return x, w, g


@pytest.mark.parametrize(
    "lead, N, I, O", [((7, 5), 6, 4, 4), ((3,), 2, 3, 5), ((), 1, 4, 4), ((2, 3, 4), 5, 1, 2)]
)
def test_values_and_gradients_equal_the_einsum(lead, N, I, O):
    x, w, g = operands(lead, N, I, O)
    y, vjp = jax.vjp(block_diagonal, x, w)
    y_ref, vjp_ref = jax.vjp(reference, x, w)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    for got, want in zip(vjp(g), vjp_ref(g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_gradients_under_vmap_over_seeds():
    x, w, g = operands((4, 9), 3, 4, 4)
    ws = jnp.stack([w, 2 * w, -w])
    grads = jax.vmap(lambda w: jax.grad(lambda w: jnp.sum(block_diagonal(x, w) * g))(w))(ws)
    want = jax.vmap(lambda w: jax.grad(lambda w: jnp.sum(reference(x, w) * g))(w))(ws)
    np.testing.assert_allclose(grads, want, rtol=1e-5, atol=1e-4)


def test_numerical_gradients_float64():
    with jax.enable_x64(True):
        x, w, _ = operands((3, 2), 2, 4, 3, dtype=jnp.float64)
        check_grads(block_diagonal, (x, w), order=1, modes=("rev",))


def test_a_width_the_blocks_cannot_take_is_refused():
    x, w, _ = operands((2,), 3, 4, 4)
    with pytest.raises(ValueError, match="x has 11 features, the blocks take 12"):
        block_diagonal(x[:, :11], w)
