import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab import config as config_lib
from seqlab.registry import TASKS
from seqlab.tasks.base import Batch
from seqlab.tasks.mqar import POWER_A
from seqlab.tasks.selective_copy import IGNORE
from tests.conftest import small_config

CONFIG = str(Path(__file__).resolve().parents[2] / "configs/mqar.py")


def make(T, name="mqar", **fields):
    overrides = {"task.name": name, "task.length": T}
    overrides.update({f"task.{k}": v for k, v in fields.items()})
    return TASKS.get(name)(small_config(**overrides).task)


def check_sequence(x, y, P, V, fillers_zero):
    """Zoology's multiquery_ar, recomputed for one sequence (x, y: [T])."""
    T = len(x)
    keys, values = x[0 : 2 * P : 2], x[1 : 2 * P : 2]
    assert ((keys >= 1) & (keys < V // 2)).all() and len(set(keys)) == P
    assert ((values >= V // 2) & (values < V)).all() and len(set(values)) == P
    assert (y[: 2 * P] == IGNORE).all()
    queries = np.flatnonzero(y != IGNORE)
    assert len(queries) == P
    assert ((queries - 2 * P) % 2 == 0).all() and queries.max() <= T - 2
    value_of = dict(zip(keys, values, strict=True))
    assert sorted(x[queries]) == sorted(keys)  # every key queried exactly once
    np.testing.assert_array_equal(y[queries], [value_of[k] for k in x[queries]])
    filler = np.ones(T, bool)
    filler[: 2 * P] = False
    filler[queries] = False
    if fillers_zero:
        assert (x[filler] == 0).all()
    else:
        assert ((x[filler] >= 0) & (x[filler] < V)).all()


@pytest.mark.parametrize(
    ("name", "T", "P", "V"),
    [("mqar", 64, 4, 8192), ("mqar", 32, 8, 20), ("mqar_noise", 128, 8, 8192)],
)
def test_sequences_follow_zoology_multiquery_ar(name, T, P, V):
    task = make(T, name, pairs=P, vocab_size=V)
    b = task.sample(jax.random.key(0), 64)
    x, y = np.asarray(b.inputs), np.asarray(b.targets)
    assert x.shape == y.shape == (T, 64) == (task.spec.seq_len, 64)
    assert (np.asarray(b.lengths) == T).all()
    for i in range(64):
        check_sequence(x[:, i], y[:, i], P, V, fillers_zero=name == "mqar")


def test_noise_fillers_are_uniform_over_the_vocabulary():
    V = 64
    b = make(64, "mqar_noise", pairs=4, vocab_size=V).sample(jax.random.key(1), 256)
    x, y = np.asarray(b.inputs), np.asarray(b.targets)
    filler = y == IGNORE
    filler[:8] = False  # the 4 key-value pairs
    freq = np.bincount(x[filler], minlength=V) / filler.sum()
    np.testing.assert_allclose(freq, 1 / V, atol=5 * np.sqrt(1 / V / filler.sum()))


def inclusion_probabilities(space, P):
    """P(gap g is drawn): successive weighted draws without replacement (P <= 2), exactly."""
    w = POWER_A * np.arange(1, space + 1) ** (POWER_A - 1)
    p = w / w.sum()
    if P == 1:
        return p
    second = np.array(
        [sum(p[h] * p[g] / (1 - p[h]) for h in range(space) if h != g) for g in range(space)]
    )
    return p + second


@pytest.mark.parametrize(("T", "P"), [(64, 1), (32, 2)])
def test_query_gaps_follow_the_power_law(T, P):
    n = 20_000
    y = np.asarray(make(T, pairs=P, vocab_size=16).sample(jax.random.key(2), n).targets)
    t, _ = np.nonzero(y != IGNORE)
    gaps = (t - 2 * P) // 2
    space = (T - 2 * P) // 2
    freq = np.bincount(gaps, minlength=space) / n
    expected = inclusion_probabilities(space, P)
    assert expected[0] > 3 * expected[-1]  # a=0.01: short gaps far more likely
    assert (np.abs(freq - expected) <= 4 * np.sqrt(expected / n) + 1e-3).all()


def test_default_pairs_are_length_over_16():
    for T, P in [(64, 4), (128, 8), (256, 16)]:  # Zoology Fig. 2
        task = make(T)
        assert task.pairs == P and task.spec.vocab_size == 8192
        y = np.asarray(task.sample(jax.random.key(3), 4).targets)
        assert ((y != IGNORE).sum(0) == P).all()


def test_baseline_is_the_memoryless_loss_over_queries_only():
    assert make(64).spec.baseline == pytest.approx(math.log(4096))  # V = 8192
    T, V = 32, 64
    task = make(T, vocab_size=V)
    assert task.spec.baseline == pytest.approx(math.log(32))
    b = task.sample(jax.random.key(4), 16)
    scored = (b.targets != IGNORE)[..., None]
    garbage = jax.random.normal(jax.random.key(5), (T, 16, V)) * 30
    uniform = jnp.full((T, 16, V), -1e9).at[..., V // 2 :].set(0.0)
    loss, m = task.loss_and_metrics(jnp.where(scored, uniform, garbage), b)
    assert float(loss) == pytest.approx(task.spec.baseline, rel=1e-5)
    assert set(m) == {"loss", "accuracy"}


def test_loss_and_accuracy_on_a_hand_made_example():
    task = make(16, pairs=1, vocab_size=8)
    targets = jnp.full((4, 2), IGNORE).at[1, 0].set(5).at[3, 1].set(6)
    logits = jnp.zeros((4, 2, 8)).at[1, 0, 5].set(math.log(8.0)).at[3, 1, 4].set(math.log(8.0))
    b = Batch(jnp.zeros((4, 2), jnp.int32), targets, jnp.array([4, 4]))
    # (0, 1): p(5) = 8/15, right; (1, 3): p(6) = 1/15, argmax 4: wrong; all else unscored
    loss, m = task.loss_and_metrics(logits, b)
    assert float(loss) == pytest.approx((math.log(15 / 8) + math.log(15)) / 2, rel=1e-6)
    assert float(m["accuracy"]) == 0.5


def test_perfect_and_partly_wrong_predictors():
    task = make(64, vocab_size=128)
    b = task.sample(jax.random.key(6), 8)
    labels = jnp.maximum(b.targets, 0)
    loss, m = task.loss_and_metrics(jax.nn.one_hot(labels, 128) * 50.0, b)
    assert float(loss) < 1e-6 and float(m["accuracy"]) == 1.0 and task.spec.solved.met(1.0)
    first_query = jnp.argmax(b.targets != IGNORE, axis=0)  # wrong at one of the 4 queries
    wrong = labels.at[first_query, jnp.arange(8)].set(1)
    _, m = task.loss_and_metrics(jax.nn.one_hot(wrong, 128) * 50.0, b)
    assert float(m["accuracy"]) == pytest.approx(0.75)
    assert not task.spec.solved.met(0.98)


@pytest.mark.parametrize("name", ["mqar", "mqar_noise"])
def test_deterministic_and_jit_equals_eager(name):
    task = make(64, name)
    a = task.sample(jax.random.key(7), 8)
    b = jax.jit(task.sample, static_argnums=1)(jax.random.key(7), 8)
    c = task.sample(jax.random.key(8), 8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.inputs, c.inputs)


@pytest.mark.parametrize("arg", ["", ":paper", ":fast"])
def test_config_loads(arg):
    cfg = config_lib.load(CONFIG + arg)
    task = TASKS.get(cfg.task.name)(cfg.task)
    assert task.spec.name == "mqar"
    if arg != ":fast":  # Zoology Fig. 2, first point
        assert (cfg.task.length, task.pairs, task.spec.vocab_size) == (64, 4, 8192)


def test_eval_length_keeps_vocabulary_and_scales_default_pairs():
    cfg = config_lib.load(CONFIG)
    task = TASKS.get("mqar")(config_lib.task_at_length(cfg.task, 256))
    assert (task.spec.length, task.pairs, task.spec.vocab_size) == (256, 16, 8192)


@pytest.mark.parametrize(
    ("T", "fields", "message"),
    [
        (63, {}, "task.length must be even"),
        (64, {"pairs": 17}, r"task.pairs must be in \[1, task.length // 4 = 16\]"),
        (64, {"pairs": -1}, "task.pairs must be a positive integer"),
        (8, {}, "task.pairs defaults to task.length // 16"),
        (64, {"pairs": 4, "vocab_size": 9}, "task.vocab_size must be at least 2 · task.pairs"),
        (64, {"vocab_size": -5}, "task.vocab_size must be a positive integer"),
    ],
)
def test_bad_fields_are_value_errors_naming_the_field(T, fields, message):
    cfg = config_lib.base_config()
    cfg.task.update({"name": "mqar", "length": T, **fields})
    with pytest.raises(ValueError, match=message):
        TASKS.get("mqar")(cfg.task)
    with pytest.raises(ValueError, match=message):
        make(T, **fields)
