"""Sweeps: product/zip, planning (validation, seed grouping, ids), the local executor, resume,
--retry-failed, and SIGKILL of the sweep process followed by a re-run (every run exactly once).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seqlab import cli
from seqlab.sweep import product, zip
from seqlab.sweep.plan import MANIFEST, config_id, load_sweep_file, plan
from seqlab.train.rundir import read_metrics

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "task.name": "copy",
    "task.length": 6,
    "model.hidden": 8,
    "model.embed_dim": 4,
    "train.steps": 40,
    "train.batch_size": 8,
    "train.chunk": 10,
    "eval.every": 20,
    "eval.batches": 1,
    "eval.batch_size": 16,
    "checkpoint.every": 10,
}


def sweep_file(tmp_path: Path, entries: str, name: str = "s.py", extra: str = "") -> Path:
    path = tmp_path / name
    path.write_text(
        extra
        + textwrap.dedent(
            f'''
            """A test sweep."""
            from seqlab.sweep import product, zip

            CONFIG = "{ROOT / "configs" / "base.py"}"
            TINY = {TINY!r}


            def sweep():
                return {entries}
            '''
        )
    )
    return path


# ---------------------------------------------------------------- product, zip


def test_product_crosses_keys_and_parts_last_fastest():
    rows = product({"a": [1, 2], "b": "x"}, {"c": [True, False]})
    assert rows == [
        {"a": 1, "b": "x", "c": True},
        {"a": 1, "b": "x", "c": False},
        {"a": 2, "b": "x", "c": True},
        {"a": 2, "b": "x", "c": False},
    ]
    assert product([{"a": 1}, {"a": 2, "d": 0}], {"b": [3]}) == [
        {"a": 1, "b": 3},
        {"a": 2, "d": 0, "b": 3},
    ]


def test_zip_pairs_and_checks_lengths_and_clashes():
    assert zip({"a": [1, 2], "b": [3, 4]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    assert zip([{"a": 1}, {"a": 2}], {"b": [5, 6]}) == [{"a": 1, "b": 5}, {"a": 2, "b": 6}]
    with pytest.raises(ValueError, match="equal length"):
        zip({"a": [1, 2], "b": [3]})
    with pytest.raises(ValueError, match="same keys twice: a"):
        product({"a": [1]}, {"a": [2]})


# ---------------------------------------------------------------- planning


def test_seeds_of_one_config_become_one_program(tmp_path):
    path = sweep_file(
        tmp_path,
        'product({"model.name": ["lstm", "gru"]}, TINY, {"train.seed": [0, 1, 2, 5]})',
    )
    runs = plan(load_sweep_file(path))
    assert [(r.config["model"]["name"], r.seeds) for r in runs] == [
        ("lstm", (0, 1, 2)),
        ("lstm", (5,)),
        ("gru", (0, 1, 2)),
        ("gru", (5,)),
    ]
    assert runs[0].entries == (0, 1, 2) and runs[0].config["train"]["seeds"] == 3
    assert runs[0].dir == f"copy6_lstm_{runs[0].id[:8]}" and runs[0].id == config_id(runs[0].config)
    apart = plan(load_sweep_file(path), group_seeds=False)
    assert len(apart) == 8 and all(len(r.seeds) == 1 for r in apart)
    assert len({r.id for r in apart}) == 8


def test_ids_ignore_tracking_and_are_stable(tmp_path):
    a = plan(load_sweep_file(sweep_file(tmp_path, "[TINY]", "a.py")))[0]
    b = plan(load_sweep_file(sweep_file(tmp_path, '[dict(TINY, **{"track.tags": ("x",)})]')))[0]
    c = plan(load_sweep_file(sweep_file(tmp_path, '[dict(TINY, **{"optim.lr": 0.01})]', "c.py")))
    assert a.id == b.id != c[0].id


def test_a_field_added_later_keeps_the_id(tmp_path):
    run = plan(load_sweep_file(sweep_file(tmp_path, "[TINY]")))[0]
    older = json.loads(json.dumps(run.config))
    del older["train"]["seed_strategy"], older["model"]["backward"]  # as an older seqlab wrote
    assert config_id(older) == run.id
    older["model"]["hidden"] = 9
    assert config_id(older) != run.id


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            '[TINY, dict(TINY, **{"model.hiden": 4})]',
            r"sweep entry 1 .*unknown config key 'model\.hiden'",
        ),
        (
            '[dict(TINY, **{"model.name": "lstmx"})]',
            r"sweep entry 0 .*unknown model 'lstmx'; valid",
        ),
        ('[dict(TINY, **{"task.name": "cpy"})]', r"sweep entry 0 .*unknown task 'cpy'; valid"),
        ("[]", r"non-empty list"),
        (
            'product(TINY, {"train.steps": 5})',
            r"sweep\(\) failed: sweep parts set the same keys twice: train\.steps",
        ),
    ],
)
def test_bad_sweeps_are_refused_before_anything_is_written(tmp_path, capsys, entries, message):
    path = sweep_file(tmp_path, entries)
    workdir = tmp_path / "sweep"
    assert cli.main(["sweep", str(path), "--workdir", str(workdir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqlab: error: ") and "\n" not in err
    assert re.search(message, err), err
    assert not workdir.exists()


# ---------------------------------------------------------------- running, resuming


def run_sweep(path: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "seqlab", "sweep", str(path), "--workdir", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)


def assert_each_run_complete_once(workdir: Path, expected_runs: int) -> None:
    manifest = json.loads((workdir / MANIFEST).read_text())
    assert len(manifest["runs"]) == expected_runs
    dirs = [p for p in workdir.iterdir() if (p / "config.json").exists()]  # not slurm/ logs
    assert sorted(p.name for p in dirs) == sorted(r["dir"] for r in manifest["runs"])
    for run in manifest["runs"]:
        summary = json.loads((workdir / run["dir"] / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["step"] == TINY["train.steps"]
        assert [s["seed"] for s in summary["seeds"]] == run["seeds"]
        rows, bad = read_metrics(workdir / run["dir"] / "metrics.jsonl")
        keys = [(r["step"], r["seed"], r["split"]) for r in rows]
        assert bad == 0 and len(keys) == len(set(keys))  # nothing recorded twice
        evals = {(r["step"], r["seed"]) for r in rows if r["split"] == "eval"}
        assert evals == {(s, seed) for s in (0, 20, 40) for seed in run["seeds"]}


def test_sweep_runs_then_skips_completed_and_retries_failed_only_when_asked(tmp_path):
    note = "Tiny models, 40 steps: a test, not a ranking."
    path = sweep_file(
        tmp_path,
        'product({"model.name": ["lstm", "gru"]}, TINY, {"train.seed": [0, 1]})',
        extra=f"NOTE = {note!r}\n",
    )
    workdir = tmp_path / "sweep"
    first = run_sweep(path, workdir, "--jobs", "2")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 to train" in first.stdout and "[2/2]" in first.stdout
    # the sweep's NOTE is printed with its results, kept in sweep.json and on the dashboard
    assert first.stdout.index(note) < first.stdout.index("copy, T=6")
    assert json.loads((workdir / MANIFEST).read_text())["note"] == note
    assert f'<p id="note" class="note">{note}</p>' in (workdir / "report.html").read_text()
    assert_each_run_complete_once(workdir, 2)
    summaries = sorted(workdir.glob("*/summary.json"))
    stamps = [p.stat().st_mtime_ns for p in summaries]

    again = run_sweep(path, workdir)
    assert again.returncode == 0 and "2 done" in again.stdout and "0 to train" in again.stdout
    assert [p.stat().st_mtime_ns for p in summaries] == stamps  # nothing retrained

    failed = json.loads(summaries[0].read_text())
    failed["status"] = "failed"
    summaries[0].write_text(json.dumps(failed))
    kept = run_sweep(path, workdir)
    assert kept.returncode == 1 and "1 failed (kept" in kept.stdout
    retried = run_sweep(path, workdir, "--retry-failed")
    assert retried.returncode == 0 and "1 to train" in retried.stdout
    assert_each_run_complete_once(workdir, 2)


def test_runs_written_by_an_older_seqlab_are_found_by_id_not_by_name(tmp_path):
    path = sweep_file(tmp_path, "[TINY]")
    workdir = tmp_path / "sweep"
    assert run_sweep(path, workdir).returncode == 0
    (run_dir,) = [p.parent for p in workdir.glob("*/summary.json")]
    # What an older seqlab left: a config.json without the fields added since, and so a
    # directory named after another hash.
    config = json.loads((run_dir / "config.json").read_text())
    del config["train"]["seed_strategy"], config["model"]["checkpoint_every"]
    (run_dir / "config.json").write_text(json.dumps(config))
    older_dir = run_dir.rename(workdir / "copy6_lstm_0ld0000d")
    stamp = (older_dir / "summary.json").stat().st_mtime_ns

    again = run_sweep(path, workdir)
    assert again.returncode == 0 and "1 done" in again.stdout and "0 to train" in again.stdout
    assert sorted(p.name for p in workdir.iterdir() if p.is_dir()) == [older_dir.name]
    assert (older_dir / "summary.json").stat().st_mtime_ns == stamp
    manifest = json.loads((workdir / MANIFEST).read_text())
    assert [r["dir"] for r in manifest["runs"]] == [older_dir.name]


def test_sigkill_of_the_sweep_then_rerun_completes_every_run_exactly_once(tmp_path):
    path = sweep_file(
        tmp_path,
        'product({"model.name": ["lstm", "gru", "rnn"]}, TINY, {"train.seed": [0, 1]})',
    )
    workdir = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "seqlab", "sweep", str(path), "--workdir", str(workdir)]
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen([*cmd, "--jobs", "2"], cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    # Kill once one run has completed and another is part-way (a checkpoint, not yet done).
    while time.monotonic() < deadline:
        states = [json.loads(p.read_text())["status"] for p in workdir.glob("*/summary.json")]
        if "completed" in states and "running" in states:
            break
        assert proc.poll() is None, (tmp_path / "first.log").read_text()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)  # the jobs die with the sweep (parent-death signal)
    again = run_sweep(path, workdir, "--jobs", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 done" in again.stdout or "2 done" in again.stdout
    assert_each_run_complete_once(workdir, 3)


def test_sigterm_of_the_sweep_stops_its_jobs_at_a_checkpoint(tmp_path):
    long = {"train.steps": 100_000, "checkpoint.every": 100_000, "checkpoint.minutes": 0.0}
    models = '[dict(TINY, **{"model.name": m}, **LONG) for m in ("lstm", "gru")]'
    path = sweep_file(tmp_path, models.replace("LONG", repr(long)))
    workdir = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "seqlab", "sweep", str(path), "--workdir", str(workdir)]
    proc = subprocess.Popen(
        [*cmd, "--jobs", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # both jobs past their first chunks
        steps = [
            max((r["step"] for r in read_metrics(p)[0]), default=0)
            for p in workdir.glob("*/metrics.jsonl")
        ]
        if len(steps) == 2 and min(steps) >= 30:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, out + err
    assert err.strip().splitlines()[-1] == (
        "seqlab: stopped by SIGTERM after its 2 running jobs saved a checkpoint; "
        "run the same command again to resume"
    )
    for run in (p.parent for p in workdir.glob("*/summary.json")):
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "running" and summary["step"] >= 30
        assert sorted(int(c.name) for c in (run / "checkpoints").iterdir()) == [summary["step"]]
