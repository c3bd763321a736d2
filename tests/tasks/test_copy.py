import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab.registry import TASKS
from tests.conftest import small_config


def make(T):
    return TASKS.get("copy")(small_config(**{"task.length": T}).task)


@pytest.mark.parametrize("T", [1, 5, 100])
def test_layout_follows_arjovsky(T):
    task = make(T)
    b = task.sample(jax.random.key(0), 32)
    x, y = np.asarray(b.inputs), np.asarray(b.targets)
    assert x.shape == y.shape == (T + 20, 32) == (task.spec.seq_len, 32)
    assert ((x[:10] >= 1) & (x[:10] <= 8)).all()
    assert (x[10 : T + 9] == 0).all()
    assert (x[T + 9] == 9).all()
    assert (x[T + 10 :] == 0).all()
    assert (y[: T + 10] == 0).all()
    np.testing.assert_array_equal(y[T + 10 :], x[:10])
    assert (np.asarray(b.lengths) == T + 20).all()
    assert set(np.unique(x[:10])) == set(range(1, 9))  # all 8 symbols occur in 320 draws


def test_baseline_equals_memoryless_predictor_loss():
    T = 100
    task = make(T)
    assert task.spec.baseline == pytest.approx(10 * math.log(8) / 120)
    assert task.spec.baseline == pytest.approx(0.1733, abs=1e-4)
    b = task.sample(jax.random.key(1), 64)
    # certain blank before the recall window, uniform over the 8 symbols inside it
    blank = jnp.full((T + 10, 64, 10), -1e9).at[..., 0].set(0.0)
    uniform = jnp.full((10, 64, 10), -1e9).at[..., 1:9].set(0.0)
    loss, _ = task.loss_and_metrics(jnp.concatenate([blank, uniform]), b)
    assert float(loss) == pytest.approx(task.spec.baseline, rel=1e-6)


def test_perfect_predictor_solves():
    task = make(20)
    b = task.sample(jax.random.key(2), 16)
    logits = jax.nn.one_hot(b.targets, 10) * 50.0
    loss, m = task.loss_and_metrics(logits, b)
    assert float(loss) < 1e-6
    assert float(m["recall_accuracy"]) == 1.0
    assert task.spec.solved.met(float(m["recall_accuracy"]))
    assert not task.spec.solved.met(0.5)


def test_deterministic_and_jittable():
    task = make(30)
    a = task.sample(jax.random.key(3), 8)
    b = jax.jit(task.sample, static_argnums=1)(jax.random.key(3), 8)
    c = task.sample(jax.random.key(4), 8)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert not np.array_equal(a.inputs, c.inputs)
