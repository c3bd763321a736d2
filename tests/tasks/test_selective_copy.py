import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from seqlab import config as config_lib
from seqlab.registry import MODELS, TASKS
from seqlab.tasks.selective_copy import IGNORE
from tests.conftest import small_config

CONFIG = str(Path(__file__).resolve().parents[2] / "configs/selective_copy.py")


def make(T, **fields):
    overrides = {"task.name": "selective_copy", "task.length": T}
    overrides.update({f"task.{k}": v for k, v in fields.items()})
    return TASKS.get("selective_copy")(small_config(**overrides).task)


def expected_targets(x_first_TB):
    """The definition in numpy: the non-noise symbols of each column, in order."""
    return np.stack([col[col != 0] for col in x_first_TB.T], axis=1)


@pytest.mark.parametrize(("T", "M", "V"), [(16, 16, 16), (40, 16, 16), (300, 5, 8)])
def test_layout_follows_the_s4_generator(T, M, V):
    task = make(T, memorize=M, vocab_size=V)
    b = task.sample(jax.random.key(0), 64)
    x, y = np.asarray(b.inputs), np.asarray(b.targets)
    assert x.shape == y.shape == (T + M, 64) == (task.spec.seq_len, 64)
    assert (task.spec.vocab_size, task.spec.num_classes) == (V, V)
    first = x[:T]
    assert ((first >= 0) & (first <= V - 2)).all()  # noise and data only, never the marker
    assert ((first != 0).sum(0) == M).all()  # exactly M data symbols, each at its own step
    assert (x[T:] == V - 1).all()  # M markers
    assert (y[:T] == IGNORE).all()
    np.testing.assert_array_equal(y[T:], expected_targets(first))
    assert ((y[T:] >= 1) & (y[T:] <= V - 2)).all()
    assert (np.asarray(b.lengths) == T + M).all()


def test_positions_and_symbols_are_uniform():
    T, M = 32, 4
    task = make(T, memorize=M)
    x = np.asarray(task.sample(jax.random.key(1), 20_000).inputs)[:T]
    occupancy = (x != 0).mean(1)  # each step holds a data symbol with probability M/T
    np.testing.assert_allclose(occupancy, M / T, atol=0.015)
    counts = np.bincount(x[x != 0], minlength=16)
    assert counts[0] == counts[15] == 0
    np.testing.assert_allclose(counts[1:15] / counts.sum(), 1 / 14, atol=0.004)


def test_baseline_is_the_memoryless_loss_over_recall_steps_only():
    T, M = 50, 16
    task = make(T, memorize=M)
    assert task.spec.baseline == pytest.approx(math.log(14))
    b = task.sample(jax.random.key(2), 64)
    # anything before the markers (unscored); uniform over the 14 data symbols at the markers
    early = jax.random.normal(jax.random.key(9), (T, 64, 16)) * 30
    uniform = jnp.full((M, 64, 16), -1e9).at[..., 1:15].set(0.0)
    loss, m = task.loss_and_metrics(jnp.concatenate([early, uniform]), b)
    assert float(loss) == pytest.approx(task.spec.baseline, rel=1e-5)
    assert set(m) == {"loss", "accuracy"}


def test_loss_and_accuracy_on_a_hand_made_example():
    task = make(3, memorize=2, vocab_size=4)  # noise 0, data 1..2, marker 3
    inputs = jnp.array([[0], [1], [2], [3], [3]])
    targets = jnp.array([[IGNORE], [IGNORE], [IGNORE], [1], [2]])
    b = type(task.sample(jax.random.key(0), 1))(inputs, targets, jnp.array([5]))
    logits = jnp.zeros((5, 1, 4)).at[3, 0, 1].set(math.log(3.0)).at[4, 0, 1].set(math.log(3.0))
    # step 3: p(1) = 3/6, right; step 4: p(2) = 1/6, argmax says 1: wrong
    loss, m = task.loss_and_metrics(logits, b)
    assert float(loss) == pytest.approx((math.log(2) + math.log(6)) / 2, rel=1e-6)
    assert float(m["accuracy"]) == 0.5


def test_perfect_predictor_solves():
    task = make(64)
    b = task.sample(jax.random.key(3), 16)
    logits = jax.nn.one_hot(jnp.maximum(b.targets, 0), 16) * 50.0
    loss, m = task.loss_and_metrics(logits, b)
    assert float(loss) < 1e-6 and float(m["accuracy"]) == 1.0
    assert task.spec.solved.describe() == "accuracy >= 0.99"
    assert task.spec.solved.met(1.0) and not task.spec.solved.met(0.98)


def test_deterministic_and_jit_equals_eager():
    task = make(100)
    a = task.sample(jax.random.key(4), 8)
    b = jax.jit(task.sample, static_argnums=1)(jax.random.key(4), 8)
    c = task.sample(jax.random.key(5), 8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.inputs, c.inputs)


def test_a_causal_model_output_feeds_the_loss():
    cfg = small_config(**{"task.name": "selective_copy", "task.length": 20})
    task = TASKS.get("selective_copy")(cfg.task)
    model = MODELS.get("lstm")(cfg.model, task.spec, rngs=nnx.Rngs(0))
    b = task.sample(jax.random.key(6), 4)
    loss, m = task.loss_and_metrics(model(b.inputs, b.lengths), b)
    assert float(loss) == pytest.approx(task.spec.baseline, abs=0.3)  # near chance at init
    assert 0.0 <= float(m["accuracy"]) <= 1.0


@pytest.mark.parametrize("arg", ["", ":paper", ":fast"])
def test_config_loads(arg):
    cfg = config_lib.load(CONFIG + arg)
    spec = TASKS.get(cfg.task.name)(cfg.task).spec
    assert spec.name == "selective_copy" and spec.vocab_size == 16
    if arg != ":fast":  # Mamba App. E.1
        assert (cfg.task.length, cfg.task.memorize, cfg.train.batch_size) == (4096, 16, 64)
        assert (cfg.optim.lr, cfg.optim.schedule, cfg.model.layers) == (1e-4, "constant", 2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"vocab_size": 3}, "task.vocab_size must be at least 4"),
        ({"vocab_size": -2}, "task.vocab_size must be a positive integer"),
        ({"memorize": -1}, "task.memorize must be a positive integer"),
        ({"memorize": 11}, "task.memorize must be at most task.length=10"),
    ],
)
def test_bad_fields_are_value_errors_naming_the_field(fields, message):
    with pytest.raises(ValueError, match=message):
        make(10, **fields)
    cfg = config_lib.base_config()
    cfg.task.update({"name": "selective_copy", "length": 10, **fields})
    with pytest.raises(ValueError, match=message):
        TASKS.get("selective_copy")(cfg.task)
