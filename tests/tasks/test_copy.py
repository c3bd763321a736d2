import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab.registry import TASKS
from tests.conftest import small_config


def make(T, memorize=0):
    return TASKS.get("copy")(small_config(**{"task.length": T, "task.memorize": memorize}).task)


@pytest.mark.parametrize(("T", "M"), [(1, 10), (5, 10), (100, 10), (10, 3)])
def test_layout_follows_arjovsky(T, M):
    task = make(T, 0 if M == 10 else M)  # 0: the paper's 10 symbols
    b = task.sample(jax.random.key(0), 32)
    x, y = np.asarray(b.inputs), np.asarray(b.targets)
    assert x.shape == y.shape == (T + 2 * M, 32) == (task.spec.seq_len, 32)
    assert ((x[:M] >= 1) & (x[:M] <= 8)).all()
    assert (x[M : T + M - 1] == 0).all()
    assert (x[T + M - 1] == 9).all()
    assert (x[T + M :] == 0).all()
    assert (y[: T + M] == 0).all()
    np.testing.assert_array_equal(y[T + M :], x[:M])
    assert (np.asarray(b.lengths) == T + 2 * M).all()
    assert set(np.unique(x[:M])) == set(range(1, 9))  # all 8 symbols occur in the draws
    assert task.spec.baseline == pytest.approx(M * math.log(8) / (T + 2 * M))
    logits = jax.nn.one_hot(b.targets, 10) * 50.0
    assert float(task.loss_and_metrics(logits.at[-1].set(0.0), b)[1]["recall_accuracy"]) == (
        pytest.approx(1 - 1 / M)
    )  # recall accuracy is over the M recalled steps only


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
