"""The run directory: record contents, resume, kill safety, damaged checkpoints, locking."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orbax.checkpoint as ocp
import pytest

from seqlab.config import ConfigError
from seqlab.train.run import train
from seqlab.train.rundir import RunLockedError, acquire_lock, read_metrics
from seqlab.train.stop import Stopped
from tests.conftest import small_config

ROOT = Path(__file__).resolve().parents[2]


def test_run_record(tmp_path):
    cfg = small_config(**{"train.seeds": 2, "eval.every": 20, "train.steps": 40})
    summary = train(cfg, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text()) == json.loads(
        json.dumps(cfg.to_dict(), default=list)
    )
    on_disk = json.loads((run / "summary.json").read_text())
    assert on_disk["status"] == summary["status"] == "completed"
    assert on_disk["params"] == 16 * 4 * (8 + 16 + 1) + 10 * 8 + 17 * 10  # lstm + embed + readout
    assert on_disk["task"]["criterion"] == {
        "metric": "recall_accuracy",
        "mode": "max",
        "threshold": 0.99,
    }
    assert on_disk["size"] == {"hidden": 16, "layers": 1, "embed_dim": 8}  # an LSTM: no heads
    assert on_disk["throughput"]["tokens_per_s"] > 0
    assert [s["seed"] for s in on_disk["seeds"]] == [0, 1]
    rows, bad = read_metrics(run / "metrics.jsonl")
    assert bad == 0
    evals = {(r["step"], r["seed"]) for r in rows if r["split"] == "eval"}
    assert evals == {(s, seed) for s in (0, 20, 40) for seed in (0, 1)}
    trains = [(r["step"], r["seed"]) for r in rows if r["split"] == "train"]
    assert sorted(trains) == [(s, seed) for s in (20, 40) for seed in (0, 1)]
    last_eval = next(r for r in rows if r["split"] == "eval" and r["step"] == 40 and r["seed"] == 1)
    assert on_disk["seeds"][1]["final"]["loss"] == pytest.approx(last_eval["loss"])
    assert on_disk["seeds"][1]["best"]["loss"] == min(
        r["loss"] for r in rows if r["split"] == "eval" and r["seed"] == 1
    )
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.isdigit()) == [
        "20",
        "40",
    ]


def test_param_budget_run_records_the_width_it_chose(tmp_path):
    cfg = small_config(**{"model.param_budget": 5000, "train.steps": 20})
    summary = train(cfg, tmp_path / "run", progress=False)
    assert abs(summary["params"] - 5000) <= 250
    hidden = summary["size"]["hidden"]
    assert hidden != cfg.model.hidden
    assert summary["params"] == 4 * hidden * (8 + hidden + 1) + 10 * 8 + (hidden + 1) * 10


def test_all_seeds_diverging_marks_the_run_diverged(tmp_path):
    cfg = small_config(
        **{
            "optim.name": "sgd",
            "optim.lr": 1e30,
            "optim.clip_norm": 0.0,
            "train.seeds": 2,
            "train.steps": 20,
            "task.name": "adding",
            "task.length": 6,
        }
    )
    summary = train(cfg, tmp_path / "run", progress=False)
    assert summary["status"] == "diverged"
    assert all(s["status"] == "diverged" and 1 <= s["diverged_at"] <= 20 for s in summary["seeds"])


def test_existing_run_with_other_config_is_refused(tmp_path):
    train(small_config(**{"train.steps": 20}), tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match=r"different config.*model\.hidden"):
        train(small_config(**{"train.steps": 20, "model.hidden": 8}), tmp_path / "run")


def test_run_written_before_an_option_existed_resumes(tmp_path):
    """A config.json without a field seqlab gained later reads as that field's default."""
    train(small_config(**{"train.steps": 20}), tmp_path / "run", progress=False)
    stored_path = tmp_path / "run" / "config.json"
    stored = json.loads(stored_path.read_text())
    del stored["model"]["checkpoint_every"]
    stored_path.write_text(json.dumps(stored))
    summary = train(small_config(**{"train.steps": 40}), tmp_path / "run", progress=False)
    assert summary["step"] == 40 and summary["status"] == "completed"
    with pytest.raises(ConfigError, match=r"differs in model\.checkpoint_every"):
        train(small_config(**{"train.steps": 40, "model.checkpoint_every": 5}), tmp_path / "run")


def test_more_steps_extend_a_run_with_a_constant_schedule(tmp_path):
    train(small_config(**{"train.steps": 20}), tmp_path / "run", progress=False)
    summary = train(small_config(**{"train.steps": 40}), tmp_path / "run", progress=False)
    assert summary["step"] == 40 and summary["status"] == "completed"
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")[0]
    assert sorted(r["step"] for r in rows if r["split"] == "train") == [20, 40]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["steps"] == 40
    cosine = {"optim.schedule": "cosine"}
    train(small_config(**{"train.steps": 20, **cosine}), tmp_path / "cos", progress=False)
    with pytest.raises(ConfigError, match=r"differs in train\.steps"):
        train(small_config(**{"train.steps": 40, **cosine}), tmp_path / "cos")


def test_more_steps_extend_a_run_whose_schedule_length_is_fixed(tmp_path):
    """With optim.schedule_steps set, the cosine does not depend on train.steps: a run trained
    to 20 steps of a 60-step schedule and extended to 40 equals one trained to 40."""
    fixed = {"optim.schedule": "cosine", "optim.schedule_steps": 60, "train.chunk": 10}
    train(small_config(**{"train.steps": 20, **fixed}), tmp_path / "run", progress=False)
    extended = train(small_config(**{"train.steps": 40, **fixed}), tmp_path / "run", progress=False)
    straight = train(small_config(**{"train.steps": 40, **fixed}), tmp_path / "one", progress=False)
    assert extended["step"] == 40
    final = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl")[0] if r["step"] == 40]
    once = [r for r in read_metrics(tmp_path / "one" / "metrics.jsonl")[0] if r["step"] == 40]
    assert [r["loss"] for r in final if "loss" in r] == [r["loss"] for r in once if "loss" in r]
    assert straight["step"] == 40


def test_init_from_starts_from_another_runs_parameters(tmp_path):
    source = train(small_config(**{"train.steps": 40}), tmp_path / "a", progress=False)
    cfg = small_config(
        **{"train.steps": 20, "optim.lr": 1e-4, "train.init_from": str(tmp_path / "a")}
    )
    train(cfg, tmp_path / "b", progress=False)
    rows = read_metrics(tmp_path / "b" / "metrics.jsonl")[0]
    start = next(r for r in rows if r["split"] == "eval" and r["step"] == 0)
    # the same parameters on the same held-out batches: the source's final evaluation
    assert start["loss"] == pytest.approx(source["seeds"][0]["final"]["loss"], rel=1e-6)
    fresh = train(small_config(**{"train.steps": 20}), tmp_path / "c", progress=False)
    assert fresh["seeds"][0]["best"]["loss"] > start["loss"] * 1.05  # not a fresh model
    wider = small_config(**{"model.hidden": 32, "train.init_from": str(tmp_path / "a")})
    with pytest.raises(ConfigError, match="do not fit this model"):
        train(wider, tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_second_process_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    fd = acquire_lock(tmp_path / "run")
    try:
        with pytest.raises(
            RunLockedError, match=f"in use by another seqlab process \\(pid {os.getpid()}"
        ):
            acquire_lock(tmp_path / "run")
    finally:
        os.close(fd)
    os.close(acquire_lock(tmp_path / "run"))  # free again once released


def test_damaged_latest_checkpoint_falls_back_to_previous(tmp_path):
    cfg = small_config(**{"train.steps": 60})
    run = tmp_path / "run"
    train(cfg, run, progress=False)
    for f in (run / "checkpoints" / "60" / "state").rglob("*"):
        if f.is_file():
            f.write_bytes(b"garbage")
    metrics_before = read_metrics(run / "metrics.jsonl")[0]
    with pytest.warns(UserWarning, match="checkpoint at step 60 could not be restored"):
        summary = train(cfg, run, progress=False)  # resumes from step 40 and redoes 40..60
    assert summary["status"] == "completed" and summary["step"] == 60
    rows = read_metrics(run / "metrics.jsonl")[0]
    strip = lambda rs: sorted((r["step"], r["seed"], r["split"], r["loss"]) for r in rs)  # noqa: E731
    assert strip(rows) == strip(metrics_before)  # redone steps recorded once, same values


@pytest.mark.parametrize(("minutes", "saved"), [(0.0, [60]), (1e-9, [20, 40, 60])])
def test_checkpoints_are_also_saved_when_minutes_have_passed(tmp_path, minutes, saved):
    cfg = small_config(**{"checkpoint.every": 1000, "checkpoint.minutes": minutes})
    train(cfg, tmp_path / "run", progress=False)
    assert _checkpoint_steps(tmp_path / "run") == saved


def _cli(workdir, steps, *extra):
    return [
        sys.executable, "-m", "seqlab", "train", "--config", str(ROOT / "configs/copy.py:fast"),
        "--config.task.length=8", "--config.model.hidden=16", "--config.model.embed_dim=8",
        "--config.train.batch_size=8", f"--config.train.steps={steps}",
        "--config.train.chunk=10", "--config.train.seeds=2", "--config.eval.every=100",
        "--config.eval.batches=1", "--config.eval.batch_size=16",
        "--config.checkpoint.every=20", "--config.checkpoint.keep=2", "--workdir", str(workdir),
        *extra,
    ]  # fmt: skip


def _checkpoint_steps(run: Path) -> list[int]:
    ckpts = run / "checkpoints"
    return (
        sorted(int(p.name) for p in ckpts.iterdir() if p.name.isdigit()) if ckpts.exists() else []
    )


@pytest.mark.slow
def test_sigkill_then_resume_is_bitwise_identical_to_uninterrupted(tmp_path):
    steps = 1500
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        _cli(killed, steps),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while not [s for s in _checkpoint_steps(killed) if s >= 100] and time.time() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((killed / "summary.json").read_text())["status"] == "running"
    assert max(_checkpoint_steps(killed)) < steps

    for run in (killed, clean):
        done = subprocess.run(
            _cli(run, steps), env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
    a = ocp.StandardCheckpointer().restore(killed / "checkpoints" / str(steps) / "state")
    b = ocp.StandardCheckpointer().restore(clean / "checkpoints" / str(steps) / "state")
    assert a.keys() == b.keys() and len(a) > 5
    for k in a:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)

    def table(run):
        rows = read_metrics(run / "metrics.jsonl")[0]
        return sorted(
            tuple(sorted((k, v) for k, v in r.items() if k not in ("time", "elapsed")))
            for r in rows
        )

    ta, tb = table(killed), table(clean)
    assert len(set(ta)) == len(ta)  # nothing recorded twice
    assert ta == tb  # and every row equal to the uninterrupted run's


class _SigtermDuringSummary:
    """A writer that sends its own process SIGTERM while the summary at `step` is written:
    after the run decided not to save a checkpoint at that step."""

    def __init__(self, step: int):
        self.step = step

    def write(self, rows):
        pass

    def summary(self, summary):
        if summary["step"] == self.step:
            signal.raise_signal(signal.SIGTERM)

    def close(self):
        pass


def test_sigterm_during_an_evaluation_summary_stops_at_the_next_checkpoint(tmp_path):
    """The race that emptied a stopped sweep job's checkpoints: a SIGTERM landing after the save
    decision must not stop the run at that (unsaved) step."""
    cfg = small_config(
        **{"train.steps": 1000, "train.chunk": 10, "checkpoint.every": 1000}
        | {"checkpoint.minutes": 0.0}
    )
    run = tmp_path / "run"
    with pytest.raises(Stopped, match="at step 30; its checkpoint is saved"):
        train(cfg, run, progress=False, writers=[_SigtermDuringSummary(step=20)])
    assert _checkpoint_steps(run) == [30]
    assert json.loads((run / "summary.json").read_text())["step"] == 30
    assert max(r["step"] for r in read_metrics(run / "metrics.jsonl")[0]) == 30
    assert train(cfg, run, progress=False)["step"] == 1000  # and it resumes from there


def test_sigterm_saves_a_checkpoint_at_the_next_chunk_and_exits_143(tmp_path):
    run = tmp_path / "run"
    every = ["--config.checkpoint.every=100000", "--config.checkpoint.minutes=0"]
    proc = subprocess.Popen(
        _cli(run, 100_000, *every),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline:  # training, past its first chunks
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        rows = read_metrics(run / "metrics.jsonl")[0] if (run / "metrics.jsonl").exists() else []
        if any(r["step"] >= 30 for r in rows):
            break
        time.sleep(0.02)
    assert _checkpoint_steps(run) == []  # none due for 100,000 steps
    proc.send_signal(signal.SIGTERM)
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "running" and summary["step"] >= 30
    assert _checkpoint_steps(run) == [summary["step"]]
    assert max(r["step"] for r in read_metrics(run / "metrics.jsonl")[0]) == summary["step"]
    assert stderr.strip().splitlines()[-1] == (
        f"seqlab: stopped by SIGTERM at step {summary['step']}; its checkpoint is saved; "
        "run the same command again to resume"
    )
