import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab import config as config_lib
from seqlab.registry import TASKS
from seqlab.tasks.base import Batch
from tests.conftest import small_config

CONFIG = str(Path(__file__).resolve().parents[2] / "configs/induction_heads.py")


def make(T, **fields):
    overrides = {"task.name": "induction_heads", "task.length": T}
    overrides.update({f"task.{k}": v for k, v in fields.items()})
    return TASKS.get("induction_heads")(small_config(**overrides).task)


@pytest.mark.parametrize(("T", "V"), [(3, 16), (10, 16), (256, 5)])
def test_layout_and_target_follow_the_definition(T, V):
    task = make(T, vocab_size=V)
    b = task.sample(jax.random.key(0), 500)
    x, y = np.asarray(b.inputs), np.asarray(b.targets)
    assert x.shape == (T, 500) and y.shape == (500,) and task.spec.seq_len == T
    assert (task.spec.vocab_size, task.spec.num_classes, task.spec.scored) == (V, V, "last")
    special = V - 1
    assert (x[-1] == special).all()
    assert ((x == special).sum(0) == 2).all()  # the trigger once, and again at the end
    first = np.argmax(x == special, axis=0)
    assert first.max() <= T - 3
    assert ((x >= 0) & (x <= special)).all()
    np.testing.assert_array_equal(y, x[first + 1, np.arange(500)])  # X follows the trigger
    assert (y != special).all()
    assert (np.asarray(b.lengths) == T).all()


def test_trigger_position_and_target_are_uniform():
    T, n = 8, 30_000
    b = make(T).sample(jax.random.key(1), n)
    x, y = np.asarray(b.inputs), np.asarray(b.targets)
    first = np.argmax(x == 15, axis=0)
    np.testing.assert_allclose(np.bincount(first, minlength=T - 2) / n, 1 / (T - 2), atol=0.01)
    np.testing.assert_allclose(np.bincount(y, minlength=15) / n, 1 / 15, atol=0.006)
    fill = x[:-1][x[:-1] != 15]  # the random symbols, uniform over 0..14
    np.testing.assert_allclose(np.bincount(fill, minlength=15) / fill.size, 1 / 15, atol=0.004)


def test_baseline_is_the_memoryless_loss():
    task = make(64)
    assert task.spec.baseline == pytest.approx(math.log(15))
    b = task.sample(jax.random.key(2), 64)
    uniform = jnp.full((64, 16), -1e9).at[:, :15].set(0.0)
    loss, m = task.loss_and_metrics(uniform, b)
    assert float(loss) == pytest.approx(task.spec.baseline, rel=1e-5)
    assert set(m) == {"loss", "accuracy"}


def test_loss_and_accuracy_on_a_hand_made_example():
    task = make(4, vocab_size=4)  # symbols 0..2, special 3
    b = Batch(jnp.array([[3, 3], [1, 2], [0, 3], [3, 3]]), jnp.array([1, 2]), jnp.array([4, 4]))
    logits = jnp.zeros((2, 4)).at[0, 1].set(math.log(5.0)).at[1, 0].set(math.log(5.0))
    # sequence 0: p(1) = 5/8, right; sequence 1: p(2) = 1/8, argmax 0: wrong
    loss, m = task.loss_and_metrics(logits, b)
    assert float(loss) == pytest.approx((math.log(8 / 5) + math.log(8)) / 2, rel=1e-6)
    assert float(m["accuracy"]) == 0.5


def test_perfect_predictor_solves():
    task = make(32)
    b = task.sample(jax.random.key(3), 16)
    loss, m = task.loss_and_metrics(jax.nn.one_hot(b.targets, 16) * 50.0, b)
    assert float(loss) < 1e-6 and float(m["accuracy"]) == 1.0
    assert task.spec.solved.describe() == "accuracy >= 0.99"
    assert not task.spec.solved.met(0.9)


def test_deterministic_and_jit_equals_eager():
    task = make(50)
    a = task.sample(jax.random.key(4), 8)
    b = jax.jit(task.sample, static_argnums=1)(jax.random.key(4), 8)
    c = task.sample(jax.random.key(5), 8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.inputs, c.inputs)


@pytest.mark.parametrize("arg", ["", ":paper", ":fast"])
def test_config_loads_and_evaluates_at_longer_lengths(arg):
    cfg = config_lib.load(CONFIG + arg)
    assert TASKS.get(cfg.task.name)(cfg.task).spec.name == "induction_heads"
    if arg != ":fast":  # Mamba App. E.1
        assert (cfg.task.length, cfg.task.vocab_size, cfg.train.batch_size) == (256, 16, 8)
    assert max(cfg.eval.lengths) > cfg.task.length
    longest = TASKS.get("induction_heads")(config_lib.task_at_length(cfg.task, 1024))
    b = longest.sample(jax.random.key(6), 2)
    assert b.inputs.shape == (1024, 2) and (np.asarray(b.inputs[-1]) == 15).all()


@pytest.mark.parametrize(
    ("T", "fields", "message"),
    [
        (2, {}, "task.length must be at least 3"),
        (10, {"vocab_size": 2}, "task.vocab_size must be at least 3"),
        (10, {"vocab_size": -1}, "task.vocab_size must be a positive integer"),
    ],
)
def test_bad_fields_are_value_errors_naming_the_field(T, fields, message):
    cfg = config_lib.base_config()
    cfg.task.update({"name": "induction_heads", "length": T, **fields})
    with pytest.raises(ValueError, match=message):
        TASKS.get("induction_heads")(cfg.task)
    with pytest.raises(ValueError, match=message):
        make(T, **fields)
