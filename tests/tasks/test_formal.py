"""Parity, even pairs, cycle navigation and modular arithmetic (Delétang et al. 2023)."""

import functools
import itertools
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab import config as config_lib
from seqlab.registry import TASKS
from seqlab.tasks.formal import (
    cycle_labels,
    cycle_marginal,
    even_pairs_labels,
    parity_labels,
    rescaled_accuracy,
)
from seqlab.tasks.modular_arithmetic import evaluate, odd_length_probs, value_marginals
from tests.conftest import small_config

NAMES = ["parity", "even_pairs", "cycle_navigation", "modular_arithmetic"]
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "formal.py"


def make(name, length=40, min_length=0, modulus=0):
    fields = {"task.name": name, "task.length": length}
    if min_length:
        fields["task.min_length"] = min_length
    if modulus:
        fields["task.modulus"] = modulus
    return TASKS.get(name)(small_config(**fields).task)


N_BIG = 40_000


@functools.cache
def big_sample(name):
    """One large batch per task at the training setting (lengths 1..40), shared by tests."""
    task = make(name, length=40, min_length=1)
    return task, jax.device_get(task.sample(jax.random.key(4), N_BIG))


# The definitions, in plain Python, on one unpadded string.
def py_parity(s):
    return sum(s) % 2


def py_even_pairs(s):
    return sum(a != b for a, b in itertools.pairwise(s)) % 2


def py_cycle(s, m=5):
    return sum(a - 1 for a in s) % m  # actions 0, 1, 2 = left, stay, right


def py_modular(s, m=5):
    return eval(" ".join(str(t) if t < m else "+-*"[t - m] for t in s)) % m  # products first


PY = {
    "parity": py_parity,
    "even_pairs": py_even_pairs,
    "cycle_navigation": py_cycle,
    "modular_arithmetic": py_modular,
}


def columns(strings, T, fill):
    """Time-major [T, B] tokens and lengths; steps past string b repeat the tokens fill[b]
    (not padding)."""
    cols = [
        [*s, *itertools.islice(itertools.cycle(f), T - len(s))]
        for s, f in zip(strings, fill, strict=True)
    ]
    return jnp.asarray(np.array(cols).T, jnp.int32), jnp.asarray(
        [len(s) for s in strings], jnp.int32
    )


def test_labels_on_the_papers_examples():
    # Delétang et al.'s docstring examples (and a few more). Each string is followed by filler
    # that changes its answer if it is read: the check `!= want` with every step counted.
    def check(labels, strings, T, fill, want):
        x, n = columns(strings, T, fill)
        assert labels(x, n).tolist() == want
        assert (np.asarray(labels(x, jnp.full_like(n, T))) != want).all()

    bits = [[1, 0, 1, 0, 1, 0, 0], [0, 1, 1, 1, 1], [1]]
    check(parity_labels, bits, 10, [[1]] * 3, [1, 0, 1])
    bits = [[0, 0, 1, 1, 1, 0], [0, 1, 0, 1, 0, 0, 1], [1], [1, 0]]
    check(even_pairs_labels, bits, 9, [[1], [0], [0], [1]], [0, 1, 0, 1])
    moves = [[1, -1, 0, -1, -1], [1, 1, 1, -1], [-1]]  # left -1, stay 0, right +1
    cycle = functools.partial(cycle_labels, modulus=5)
    check(cycle, [[a + 1 for a in s] for s in moves], 8, [[2]] * 3, [3, 2, 4])
    P, M, X = 5, 6, 7  # +, -, * mod 5
    exprs = [[1, P, 2, X, 3], [1, M, 1, M, 1], [0, X, 1, P, 4, X, 3, M, 2], [3], [2, M, 3, X, 4]]
    want = [2, 4, 0, 3, 0]  # 1 + 6, 1 - 1 - 1, 0 + 12 - 2, 3, 2 - 12
    check(functools.partial(evaluate, modulus=5), exprs, 13, [[P, 1]] * 5, want)  # "+ 1 + 1.."
    assert [py_modular(s) for s in exprs] == want


@pytest.mark.parametrize("name", NAMES)
def test_sampled_targets_follow_the_definition(name):
    _, b = big_sample(name)
    x, n, y = b.inputs, b.lengths, b.targets
    assert x.shape == (40, N_BIG) and y.shape == (N_BIG,) and n.shape == (N_BIG,)
    for j in range(500):
        assert y[j] == PY[name](x[: n[j], j].tolist()), (j, x[: n[j], j])


@pytest.mark.parametrize("name", NAMES)
def test_lengths_are_uniform_and_padding_fills_the_rest(name):
    task, b = big_sample(name)
    x, n = b.inputs, b.lengths
    pad = task.spec.vocab_size - 1
    steps = np.arange(41)
    if name == "modular_arithmetic":  # draws 1..40, an even one shortened by one: odd 1..39
        probs = np.where(steps % 2 == 1, 2 / 40, 0.0)
    else:
        probs = np.where(steps >= 1, 1 / 40, 0.0)
    assert set(np.unique(n)) == set(steps[probs > 0])
    counts = np.bincount(n, minlength=41)
    assert (np.abs(counts - N_BIG * probs) <= 5 * np.sqrt(N_BIG * probs * (1 - probs))).all()
    valid = np.arange(40)[:, None] < n
    assert (x[~valid] == pad).all()
    assert (x[valid] >= 0).all() and (x[valid] < pad).all()
    if name == "modular_arithmetic":  # numbers at even steps, operators at odd steps
        even = (np.arange(40) % 2 == 0)[:, None] & valid
        odd = (np.arange(40) % 2 == 1)[:, None] & valid
        assert (x[even] < 5).all() and (x[odd] >= 5).all() and (x[odd] < 8).all()
    # task.min_length = 4: lengths within [4, 12], both ends drawn; modular arithmetic shortens
    # an even draw, so its lengths are the odd 3..11 with the probabilities odd_length_probs gives.
    n = np.asarray(make(name, 12, 4).sample(jax.random.key(1), 2000).lengths)
    if name == "modular_arithmetic":
        assert set(np.unique(n)) == {3, 5, 7, 9, 11}
        p = odd_length_probs(4, 12)
        assert (np.abs(np.bincount(n, minlength=13) / 2000 - p) <= 5 * np.sqrt(p / 2000)).all()
    else:
        assert set(np.unique(n)) == set(range(4, 13))


def test_odd_length_rule():
    p = odd_length_probs(4, 9)  # draws 4, 5, 6, 7, 8, 9 -> lengths 3, 5, 5, 7, 7, 9
    np.testing.assert_allclose(p, [0, 0, 0, 1 / 6, 0, 2 / 6, 0, 2 / 6, 0, 1 / 6])
    p = odd_length_probs(1, 40)  # the default: the odd lengths 1..39, equally likely
    np.testing.assert_allclose(p, np.where(np.arange(41) % 2 == 1, 1 / 20, 0))


def test_evaluation_at_length_L_has_every_sequence_L_long():
    for name in NAMES:
        cfg = small_config(**{"task.name": name, "task.length": 40, "task.min_length": 1})
        for L in (12, 11):  # the shapes of the test above: no new compilations
            task = TASKS.get(name)(config_lib.task_at_length(cfg.task, L))
            n = np.asarray(task.sample(jax.random.key(3), 2000).lengths)
            assert task.spec.seq_len == L
            assert (n == (L - 1 if name == "modular_arithmetic" and L % 2 == 0 else L)).all()


def test_marginals_match_enumeration():
    for m, L in [(5, 5), (3, 7), (4, 5)]:  # every expression of L tokens
        exprs = itertools.product(range(m), *[range(m, m + 3), range(m)] * (L // 2))
        counts = np.bincount([py_modular(e, m) for e in exprs], minlength=m)
        np.testing.assert_allclose(value_marginals(L, m)[L], counts / counts.sum(), atol=1e-12)
    for m, L in [(5, 6), (2, 5), (7, 4)]:  # every action string of L steps
        counts = np.bincount([py_cycle(s, m) for s in itertools.product(range(3), repeat=L)],
                             minlength=m)  # fmt: skip
        np.testing.assert_allclose(
            cycle_marginal(np.eye(L + 1)[L], m), counts / counts.sum(), atol=1e-12
        )


@pytest.mark.parametrize(
    "name, kw",
    [
        ("even_pairs", {}),
        ("cycle_navigation", {}),
        ("modular_arithmetic", {}),
        ("modular_arithmetic", {"modulus": 3, "length": 6}),
    ],
)
def test_class_balance_matches_the_marginal(name, kw):
    if kw:
        task = make(name, **{"min_length": 1, **kw})
        N, y = N_BIG, np.asarray(task.sample(jax.random.key(4), N_BIG).targets)
    else:
        (task, b), N = big_sample(name), N_BIG
        y = b.targets
    p = np.asarray(task.marginal)
    freq = np.bincount(y, minlength=len(p)) / N
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / N))
    if name != "even_pairs":
        assert p.max() - p.min() > 0.005  # short strings make the marginal visibly uneven


def test_baselines():
    assert make("parity").spec.baseline == pytest.approx(math.log(2))
    q = (1 + 39 / 2) / 40  # length 1 is class 0; longer strings are balanced
    want = -(q * math.log(q) + (1 - q) * math.log(1 - q))
    assert make("even_pairs", 40, 1).spec.baseline == pytest.approx(want, abs=1e-12)
    assert make("even_pairs", 64, 64).spec.baseline == pytest.approx(math.log(2), abs=1e-12)
    for name in ("cycle_navigation", "modular_arithmetic"):
        assert make(name, 40, 1).spec.baseline < math.log(5) - 1e-4  # not uniform
        assert make(name, 256, 256).spec.baseline == pytest.approx(math.log(5), abs=1e-9)
    # The loss of predicting the marginal from the input-free prior is the baseline.
    task, b = big_sample("modular_arithmetic")
    logits = jnp.broadcast_to(jnp.log(jnp.asarray(task.marginal)), (N_BIG, 5))
    loss, _ = task.loss_and_metrics(logits, b)
    assert float(loss) == pytest.approx(task.spec.baseline, abs=5e-3)


@pytest.mark.parametrize("name", NAMES)
def test_score_is_zero_at_chance_and_one_at_perfect(name):
    task, b = big_sample(name)
    C, N = task.spec.num_classes, N_BIG
    majority = jax.nn.one_hot(jnp.full((N,), int(np.argmax(task.marginal))), C)
    _, m = task.loss_and_metrics(majority, b)
    assert float(m["accuracy"]) == pytest.approx(task.chance, abs=0.01)
    assert abs(float(m["score"])) < 0.02
    _, m = task.loss_and_metrics(10 * jax.nn.one_hot(b.targets, C), b)
    assert float(m["accuracy"]) == 1.0 and float(m["score"]) == pytest.approx(1.0)
    assert float(m["loss"]) < 1e-3
    assert rescaled_accuracy(task.chance, task.chance) == 0.0
    assert rescaled_accuracy(1.0, task.chance) == pytest.approx(1.0)
    assert task.spec.solved.describe() == "score >= 0.9"


def test_chance_is_the_majority_class():
    assert make("parity").chance == 0.5
    assert make("even_pairs", 40, 1).chance == pytest.approx(0.5125)
    assert make("even_pairs", 64, 64).chance == pytest.approx(0.5)
    assert make("cycle_navigation", 1, 1).chance == pytest.approx(1 / 3)  # -1, 0, +1


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_jit_equals_eager(name):
    task, N = make(name, 12, 4), 2000  # the length test's shapes: eager ops are compiled
    eager = task.sample(jax.random.key(1), N)
    sample = jax.jit(task.sample, static_argnums=1)
    a, b = sample(jax.random.key(1), N), sample(jax.random.key(1), N)
    for x, y, z in zip(eager, a, b, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(y, z)
    assert not np.array_equal(a.inputs, sample(jax.random.key(2), N).inputs)
    logits = jax.random.normal(jax.random.key(9), (N, task.spec.num_classes))
    eager = task.loss_and_metrics(logits, a)[1]
    compiled = jax.jit(task.loss_and_metrics)(logits, a)[1]
    for k in ("loss", "accuracy", "score"):
        assert float(eager[k]) == pytest.approx(float(compiled[k]), rel=1e-6)


@pytest.mark.parametrize("arg", NAMES)
def test_config_loads(arg):
    cfg = config_lib.load(f"{CONFIG}:{arg}")
    assert (cfg.task.name, cfg.task.length, cfg.task.min_length) == (arg, 40, 1)
    assert cfg.eval.lengths == (64, 128, 256)
    assert cfg.task.modulus == (5 if arg in ("modular_arithmetic", "cycle_navigation") else 0)
    spec = TASKS.get(arg)(cfg.task).spec
    sizes = {"parity": (3, 2), "even_pairs": (3, 2), "cycle_navigation": (4, 5),
             "modular_arithmetic": (9, 5)}  # fmt: skip
    assert (spec.seq_len, spec.scored, (spec.vocab_size, spec.num_classes)) == (
        40, "last", sizes[arg],
    )  # fmt: skip
    assert config_lib.load(str(CONFIG)).task.name == "parity"


def test_config_rejects_an_unknown_task():
    with pytest.raises(ValueError, match="takes one of parity"):
        config_lib.load(f"{CONFIG}:dyck")


@pytest.mark.parametrize(
    "name, fields, match",
    [
        ("parity", {"task.min_length": 41}, "task.min_length"),
        ("parity", {"task.min_length": -2}, "task.min_length"),
        ("cycle_navigation", {"task.modulus": 1}, "task.modulus"),
        ("modular_arithmetic", {"task.modulus": -5}, "task.modulus"),
        ("parity", {"task.modulus": 5}, "task.modulus does not apply"),
        ("even_pairs", {"task.length": 1}, "task.length"),
    ],
)
def test_bad_values_name_the_field(name, fields, match):
    with pytest.raises(ValueError, match=match):
        small_config(**{"task.name": name, "task.length": 40, **fields})
    if "does not apply" not in match:  # the factory itself, without the config layer
        cfg = config_lib.base_config().task
        cfg.update({"name": name, "length": 40, **{k[5:]: v for k, v in fields.items()}})
        with pytest.raises(ValueError, match=match):
            TASKS.get(name)(cfg)


def test_score_is_larger_is_better_so_best_tracks_the_maximum():
    from seqlab.tasks.base import metric_mode
    from seqlab.train import summary as summary_lib

    assert metric_mode("score") == metric_mode("accuracy") == "max"
    assert metric_mode("loss") == "min"
    task = make("parity")
    record = summary_lib.new_seed_record(0)
    for step, score in ((10, 0.2), (20, 0.8), (30, 0.5)):
        summary_lib.record_eval(record, step, {"score": score}, task.spec.solved)
    assert record["best"]["score"] == 0.8 and record["best_step"]["score"] == 20
