"""Runs that stop when solved, the training-streak rule, solved checks and fixed training sets."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab.config import ConfigError
from seqlab.registry import TASKS
from seqlab.tasks.base import Criterion
from seqlab.train import loop
from seqlab.train.checkpoint import Checkpointer
from seqlab.train.optim import make_optimizer
from seqlab.train.run import train
from seqlab.train.rundir import read_metrics
from seqlab.train.state import Engine, init_state
from tests.conftest import small_config

# Adding at T=6 is solved (MSE <= 0.01) by these seeds within 30-70 steps.
SOLVES = {
    "task.name": "adding",
    "task.length": 6,
    "optim.lr": 3e-2,
    "train.steps": 600,
    "train.seeds": 3,
    "train.batch_size": 32,
    "eval.every": 100,
    "eval.check_every": 10,
    "checkpoint.every": 100,
}


def solved_steps(summary):
    return [s["solved_at"] for s in summary["seeds"]]


def test_run_ends_when_every_seed_has_solved_with_the_same_solved_steps(tmp_path):
    stopping = train(small_config(**SOLVES, **{"train.stop_when_solved": True}),
                     tmp_path / "stop", progress=False)  # fmt: skip
    steps = solved_steps(stopping)
    assert all(s is not None and s % 10 == 0 for s in steps)
    assert len(set(steps)) > 1  # the seeds solve at different steps, so some stop before others
    assert stopping["stopped_early"] and stopping["step"] == max(steps) < 600
    assert stopping["status"] == "completed"
    for rec in stopping["seeds"]:
        assert rec["status"] == "completed" and rec["solved_by"] == "eval"
        assert rec["stopped_at"] == rec["solved_at"] == rec["final_step"]
        assert rec["solved_sequences"] == 32 * rec["solved_at"]
        assert rec["final"]["mse"] <= 0.01

    # Stopping changes nothing before a seed solves: the run that goes on solves at the same
    # steps (the checks see the same parameters), and trains every seed to the end.
    going_on = train(small_config(**{**SOLVES, "train.steps": 200}), tmp_path / "on",
                     progress=False)  # fmt: skip
    assert solved_steps(going_on) == steps
    assert not going_on["stopped_early"] and going_on["step"] == 200
    assert all("stopped_at" not in r for r in going_on["seeds"])

    rows, _ = read_metrics(tmp_path / "stop" / "metrics.jsonl")
    for rec in stopping["seeds"]:
        mine = [r for r in rows if r["seed"] == rec["seed"]]
        # the record of a stopped seed ends at its stop: its last chunk, its solving evaluation
        assert max(r["step"] for r in mine if r["split"] == "train") == rec["stopped_at"]
        assert max(r["step"] for r in mine if r["split"] == "eval") == rec["stopped_at"]
    on_disk = json.loads((tmp_path / "stop" / "summary.json").read_text())
    assert solved_steps(on_disk) == steps


def test_a_finished_run_run_again_does_nothing_more(tmp_path):
    cfg = small_config(**SOLVES, **{"train.stop_when_solved": True})
    first = train(cfg, tmp_path / "run", progress=False)
    rows_before = read_metrics(tmp_path / "run" / "metrics.jsonl")[0]
    again = train(cfg, tmp_path / "run", progress=False)
    assert again["step"] == first["step"] and solved_steps(again) == solved_steps(first)
    assert read_metrics(tmp_path / "run" / "metrics.jsonl")[0] == rows_before


class _InterruptAfter:
    """A writer that interrupts the run (as Ctrl-C would) once it is handed rows of `step`."""

    def __init__(self, step):
        self.step = step

    def write(self, rows):
        if any(r["step"] >= self.step for r in rows):
            raise KeyboardInterrupt

    def summary(self, summary):
        pass

    def close(self):
        pass


def test_resume_after_an_interruption_is_bitwise_identical(tmp_path):
    cfg = small_config(
        **{**SOLVES, "train.stop_when_solved": True, "checkpoint.every": 20, "train.chunk": 10}
    )
    clean = train(cfg, tmp_path / "clean", progress=False)
    assert clean["step"] > 40
    with pytest.raises(KeyboardInterrupt):  # after the checkpoint at 40, and a seed's solve
        train(cfg, tmp_path / "cut", progress=False, writers=[_InterruptAfter(clean["step"] - 5)])
    resumed = train(cfg, tmp_path / "cut", progress=False)
    assert solved_steps(resumed) == solved_steps(clean)
    assert [r["final"] for r in resumed["seeds"]] == [r["final"] for r in clean["seeds"]]

    def table(run):
        rows = read_metrics(run / "metrics.jsonl")[0]
        return sorted(tuple(sorted((k, v) for k, v in r.items() if k not in ("time", "elapsed")))
                      for r in rows)  # fmt: skip

    assert table(tmp_path / "cut") == table(tmp_path / "clean")


def setup(cfg, task=None, seeds=(0, 1), **engine_fields):
    task = task or TASKS.get(cfg.task.name)(cfg.task)
    tx = make_optimizer(cfg.optim, cfg.train.steps)
    graphdef, state = init_state(cfg.model, task, tx, list(seeds))
    return Engine(graphdef, task, tx, cfg.train.batch_size, **engine_fields), state


def with_criterion(cfg, criterion):
    task = TASKS.get(cfg.task.name)(cfg.task)
    return dataclasses.replace(task, spec=dataclasses.replace(task.spec, solved=criterion))


def params_of(state, seed):
    return [np.asarray(x[seed]) for x in jax.tree.leaves(state.params)]


def test_a_solved_seed_is_frozen_and_the_others_train():
    cfg = small_config()
    engine, state = setup(cfg, stop_when_solved=True)
    state = state.replace(solved_at=jnp.array([3, 0], jnp.int32))
    before = [params_of(state, s) for s in (0, 1)]
    after, _ = loop.compile_chunk(engine, state, 4, 2)(state)
    for a, b in zip(params_of(after, 0), before[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(params_of(after, 1), before[1],
                                                        strict=True))  # fmt: skip
    np.testing.assert_array_equal(np.asarray(after.solved_at), [3, 0])


@pytest.mark.parametrize(
    ("criterion", "expected_solved", "expected_streak"),
    [
        (Criterion("loss", "max", 0.0), [3, 3], [40, 40]),  # always met: 8 sequences a step
        (Criterion("loss", "min", 0.0), [0, 0], [0, 0]),  # never met
    ],
)
def test_training_streak_counts_sequences_in_a_row(criterion, expected_solved, expected_streak):
    cfg = small_config()
    engine, state = setup(cfg, with_criterion(cfg, criterion), solved_streak=20)
    state, _ = loop.compile_chunk(engine, state, 5, 2)(state)
    np.testing.assert_array_equal(np.asarray(state.solved_at), expected_solved)  # 24 >= 20
    np.testing.assert_array_equal(np.asarray(state.streak), expected_streak)


def test_a_missed_sequence_restarts_the_streak():
    """With the criterion met only while the loss is above a value the training passes, the
    streak grows, then drops to zero when a batch misses, and solves only if long enough."""
    cfg = small_config(**{"task.name": "adding", "task.length": 6, "optim.lr": 3e-2})
    engine, state = setup(cfg, with_criterion(cfg, Criterion("mse", "max", 0.05)),
                          solved_streak=10_000)  # fmt: skip
    streaks = []
    chunk = loop.compile_chunk(engine, state, 1, 2)
    for _ in range(150):
        state, _ = chunk(state)
        streaks.append(np.asarray(state.streak).copy())
    streaks = np.array(streaks)
    assert streaks.max() >= 8 * 5 and (streaks[-1] < streaks.max()).all()  # grew, then reset
    assert ((np.diff(streaks, axis=0) == 8) | (streaks[1:] == 0)).all()
    np.testing.assert_array_equal(np.asarray(state.solved_at), [0, 0])


def test_streak_solved_run_records_sequences_and_evaluates_once_more(tmp_path):
    # batch 1 and a 15-sequence streak of MSE <= 0.01 on adding T=6: solved by the stream
    cfg = small_config(**{**SOLVES, "train.batch_size": 1, "train.solved_streak": 15,
                          "train.stop_when_solved": True, "eval.check_every": 0,
                          "train.steps": 3000, "eval.every": 3000})  # fmt: skip
    summary = train(cfg, tmp_path / "run", progress=False)
    for rec in summary["seeds"]:
        assert rec["solved_by"] == "streak" and rec["solved_at"] is not None
        assert rec["solved_sequences"] == rec["solved_at"] and rec["stopped_at"] == rec["solved_at"]
        assert rec["final_step"] >= rec["solved_at"]  # evaluated after it stopped
    last = max(solved_steps(summary))  # inside a chunk: the run ends at the chunk's end
    assert last <= summary["step"] < last + cfg.train.chunk
    rows, _ = read_metrics(tmp_path / "run" / "metrics.jsonl")
    for rec in summary["seeds"]:
        evals = [r["step"] for r in rows if r["split"] == "eval" and r["seed"] == rec["seed"]]
        assert len([s for s in evals if s >= rec["stopped_at"]]) == 1


def test_fixed_training_set_draws_its_batches_from_n_sequences():
    for task_name in ("copy", "adding"):  # targets per step [T, B] and per sequence [B, 1]
        cfg = small_config(**{"task.name": task_name})
        engine, state = setup(cfg, seeds=(0,), train_set=5)
        one = jax.tree.map(lambda x: x[0], state)
        seen = set()
        for step in range(40):
            batch = loop.training_batch(engine, one.replace(step=jnp.int32(step)))
            fresh = engine.task.sample(jax.random.key(0), cfg.train.batch_size)
            assert jax.tree.map(jnp.shape, batch) == jax.tree.map(jnp.shape, fresh)
            inputs_BT = np.moveaxis(np.asarray(batch.inputs), 1, 0)
            targets_B = np.moveaxis(np.asarray(batch.targets), 1 if task_name == "copy" else 0, 0)
            for x, y in zip(inputs_BT, targets_B, strict=True):
                seen.add((x.tobytes(), y.tobytes()))
        assert len(seen) == 5  # 320 draws, all from the same five sequences (with their targets)
        _, other_seed = setup(cfg, seeds=(1,), train_set=5)
        other = loop.training_batch(engine, jax.tree.map(lambda x: x[0], other_seed))
        assert not np.array_equal(np.asarray(other.inputs), np.asarray(batch.inputs))


def test_checkpoint_from_before_the_solved_fields_restores_them_as_zero(tmp_path):
    cfg = small_config()
    _, state = setup(cfg)
    ckpt = Checkpointer(tmp_path / "checkpoints", keep=2)
    old = {k: v for k, v in _flat(state).items() if k not in (".solved_at", ".streak")}
    ckpt.manager.save(0, args=_composite(old))
    ckpt.manager.wait_until_finished()
    restored, _ = ckpt.restore_latest(state.replace(solved_at=state.solved_at + 7))
    np.testing.assert_array_equal(np.asarray(restored.solved_at), [7, 7])  # the template's value
    np.testing.assert_array_equal(np.asarray(restored.streak), [0, 0])
    ckpt.close()


def _flat(state):
    from seqlab.train.checkpoint import _flatten

    return _flatten(state)


def _composite(flat):
    import orbax.checkpoint as ocp

    return ocp.args.Composite(state=ocp.args.StandardSave(flat), meta=ocp.args.JsonSave({}))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train.train_set": -1}, r"train.train_set must be an integer >= 0"),
        ({"train.solved_streak": -5}, r"train.solved_streak must be an integer >= 0"),
        ({"eval.check_every": -1}, r"eval.check_every must be an integer >= 0"),
        ({"optim.initial_scale": 1e-3}, r"initial_scale applies to optim.name=rmsprop, not 'adam'"),
        ({"optim.name": "rmsprop", "optim.eps": 0.0}, r"divides by zero"),
    ],
)
def test_bad_protocol_options_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        small_config(**overrides)


def test_rmsprop_as_arjovsky_et_al_accumulator_from_1e3_no_epsilon():
    """optimizations.py of amarshah/complex_RNN: r <- 0.9 r + 0.1 g^2 from r = 1e-3, then
    p <- p - lr g / sqrt(r), with the new r and no epsilon."""
    cfg = small_config(**{"optim.name": "rmsprop", "optim.eps": 0.0, "optim.initial_scale": 1e-3,
                          "optim.clip_norm": 0.0})  # fmt: skip
    tx = make_optimizer(cfg.optim, 10)
    p = {"w": jnp.array([0.5, -1.0, 2.0])}
    r, params, state = np.full(3, 1e-3), np.array([0.5, -1.0, 2.0]), tx.init(p)
    for g in ([0.1, -2.0, 0.0], [0.3, 0.4, -1e-3]):
        g = np.array(g)
        updates, state = tx.update({"w": jnp.array(g, jnp.float32)}, state, p)
        p = jax.tree.map(lambda a, u: a + u, p, updates)
        r = 0.9 * r + 0.1 * g**2
        params = params - cfg.optim.lr * g / np.sqrt(r)
        np.testing.assert_allclose(np.asarray(p["w"]), params, rtol=1e-6)


def test_arjovsky_rmsprop_keeps_a_parameter_with_zero_gradient_finite():
    """The authors' RMSProp has no epsilon. Under XLA's flush-to-zero the accumulator of a
    parameter whose gradient is exactly 0 reaches 0 after 764 steps, and 0/sqrt(0) is NaN;
    configs/arjovsky2016.py's epsilon (the smallest normal float32) keeps the update at 0, as
    IEEE denormals kept it in the authors' Theano."""
    from seqlab import config as config_lib

    faithful = config_lib.load("configs/arjovsky2016.py:adding-lstm").optim
    for eps, finite in ((faithful.eps, True), (0.0, False)):
        o = config_lib.base_config().optim
        o.update(dict(faithful, eps=eps, clip_value=0.0))
        tx = make_optimizer(o, 10)
        params = {"w": jnp.ones(2)}
        step = jax.jit(lambda p, s, tx=tx: tx.update({"w": jnp.array([0.0, 1e-3])}, s, p))
        state = tx.init(params)
        for _ in range(800):
            updates, state = step(params, state)
            params = jax.tree.map(lambda a, u: a + u, params, updates)
        w = np.asarray(params["w"])
        assert bool(np.isfinite(w).all()) is finite
        if finite:
            assert w[0] == 1.0  # a zero gradient moves nothing
