import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab.registry import TASKS
from seqlab.tasks.adding_1997 import TOLERANCE, adding_1997_baseline
from tests.conftest import small_config


def make(name, T):
    return TASKS.get(name)(small_config(**{"task.name": name, "task.length": T}).task)


@pytest.mark.parametrize("T", [2, 11, 100])
def test_adding_markers_values_and_target(T):
    task = make("adding", T)
    b = task.sample(jax.random.key(0), 256)
    values, markers = np.asarray(b.inputs[..., 0]), np.asarray(b.inputs[..., 1])
    assert b.inputs.shape == (T, 256, 2)
    assert ((values >= 0) & (values <= 1)).all()
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert (markers[: T // 2].sum(0) == 1).all() and (markers[T // 2 :].sum(0) == 1).all()
    np.testing.assert_allclose(b.targets[:, 0], (values * markers).sum(0), rtol=1e-6)
    assert (np.asarray(b.lengths) == T).all()


def test_adding_baseline_is_mse_of_predicting_one():
    task = make("adding", 50)
    assert task.spec.baseline == pytest.approx(1 / 6)
    b = task.sample(jax.random.key(1), 100_000)
    loss, _ = task.loss_and_metrics(jnp.ones_like(b.targets), b)
    assert float(loss) == pytest.approx(1 / 6, abs=0.003)


@pytest.mark.parametrize("T", [24, 100, 500])
def test_adding_1997_follows_the_paper(T):
    task = make("adding_1997", T)
    b = task.sample(jax.random.key(2), 2000)
    values, markers = np.asarray(b.inputs[..., 0]), np.asarray(b.inputs[..., 1])
    lengths = np.asarray(b.lengths)
    B = 2000
    assert b.inputs.shape == (T + T // 10, B, 2)
    assert lengths.min() >= T and lengths.max() <= T + T // 10
    if T >= 100:
        assert lengths.min() == T and lengths.max() == T + T // 10  # both ends are reached
    steps = np.arange(T + T // 10)[:, None]
    assert (values[steps >= lengths] == 0).all() and (markers[steps >= lengths] == 0).all()
    assert ((values >= -1) & (values <= 1)).all()
    assert (markers[0] == -1).all()
    assert (markers[lengths - 1, np.arange(B)] == -1).all()
    marked = markers == 1
    # X1 among the first 10 steps, X2 among the first T/2 - 1 unmarked ones: all below T/2
    assert (marked[T // 2 :] == 0).all()
    assert (marked.sum(0) >= 1).all() and (marked.sum(0) <= 2).all()
    assert (marked[1:10].sum(0) >= 1).mean() > 0.85  # X1 is at step 0 (not counted) 1 in 10
    np.testing.assert_allclose(
        b.targets[:, 0], 0.5 + (values * marked).sum(0) / 4, rtol=1e-6, atol=1e-7
    )
    assert ((b.targets >= 0) & (b.targets <= 1)).all()


def test_adding_1997_baseline_and_correctness_criterion():
    T = 100
    task = make("adding_1997", T)
    assert task.spec.baseline == pytest.approx(adding_1997_baseline(T))
    b = task.sample(jax.random.key(3), 200_000)
    loss, m = task.loss_and_metrics(jnp.full_like(b.targets, 0.5), b)
    assert float(loss) == pytest.approx(task.spec.baseline, rel=0.01)
    _, m = task.loss_and_metrics(b.targets + 0.9 * TOLERANCE, b)
    assert float(m["accuracy"]) == 1.0
    _, m = task.loss_and_metrics(b.targets - 1.1 * TOLERANCE, b)
    assert float(m["accuracy"]) == 0.0


def test_adding_1997_rejects_too_short_lengths():
    with pytest.raises(Exception, match="at least 24"):
        make("adding_1997", 10)


@pytest.mark.parametrize("name", ["adding", "adding_1997"])
def test_deterministic_and_jittable(name):
    task = make(name, 40)
    a = task.sample(jax.random.key(5), 4)
    b = jax.jit(task.sample, static_argnums=1)(jax.random.key(5), 4)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    assert not np.array_equal(a.inputs, task.sample(jax.random.key(6), 4).inputs)
