"""The Slurm executor: options from flags over the sweep file, and a job array through a real
single-node Slurm cluster (Debian's slurm-wlm, started by the `slurm_cluster` fixture)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
import types

import pytest

from seqlab import config as config_lib
from seqlab.config import ConfigError
from seqlab.sweep import slurm
from seqlab.sweep.slurm import SlurmOptions, options_from, run_slurm
from seqlab.train.rundir import CONFIG, SUMMARY
from tests.conftest import small_config


def _args(*argv):
    parser = argparse.ArgumentParser()
    slurm.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_flags_override_the_sweep_file_which_overrides_defaults():
    sweep = types.SimpleNamespace(SLURM=dict(partition="gpu", time_min=30, gpus_per_node=1))
    opts = options_from(_args("--time-min", "90", "--cpus-per-task", "8"), sweep)
    assert opts == SlurmOptions(partition="gpu", time_min=90, cpus_per_task=8, gpus_per_node=1)
    assert options_from(_args(), None) == SlurmOptions()
    params = slurm.executor_parameters(opts)
    assert params["slurm_partition"] == "gpu"
    assert (params["timeout_min"], params["cpus_per_task"], params["gpus_per_node"]) == (90, 8, 1)
    # Unset GPUs/memory are left to the cluster, not asked for as 0.
    assert "gpus_per_node" not in slurm.executor_parameters(SlurmOptions())
    assert "mem_gb" not in slurm.executor_parameters(SlurmOptions())
    assert slurm.executor_parameters(SlurmOptions(mem_gb=3))["mem_gb"] == 3.0


def test_bad_slurm_options_are_refused_with_the_valid_keys():
    sweep = types.SimpleNamespace(SLURM=dict(partition="gpu", gpus=2), __file__="exp.py")
    with pytest.raises(ValueError, match=r"exp.py: unknown SLURM key\(s\) 'gpus'.*gpus_per_node"):
        options_from(_args(), sweep)
    with pytest.raises(ConfigError, match="time_min must be an integer >= 1"):
        options_from(_args("--time-min", "0"))
    with pytest.raises(ConfigError, match="SLURM must be a dict"):
        options_from(None, types.SimpleNamespace(SLURM=["gpu"]))


def test_squeue_ids_of_pending_array_tasks_are_expanded():
    assert slurm._expand("12_[0-2,5%4]") == ["12_0", "12_1", "12_2", "12_5"]
    assert slurm._expand("12_3") == ["12_3"]


def _run_dir(root, name, **overrides):
    run = root / name
    run.mkdir(parents=True)
    cfg = small_config(
        **{"task.length": 8, "train.steps": 20, "eval.every": 20, "checkpoint.every": 20}
        | overrides
    )
    (run / CONFIG).write_text(config_lib.to_json(cfg))
    return run


def _array_states(array_id: str) -> dict[int, str]:
    """{array task: JobState} from slurmctld (finished jobs stay there for MinJobAge)."""
    out = subprocess.run(
        ["scontrol", "-o", "show", "job", array_id], capture_output=True, text=True, check=True
    ).stdout
    states = {}
    for line in out.splitlines():
        task = re.search(r"\bArrayTaskId=(\d+)\b", line)
        state = re.search(r"\bJobState=(\w+)", line)
        if task and state:
            states[int(task.group(1))] = state.group(1)
    return states


# Generous: the first test's set-up may install slurm-wlm and munge.
@pytest.mark.timeout(900)
def test_job_array_through_real_slurm(tmp_path, slurm_cluster):
    one = _run_dir(tmp_path, "copy8_lstm_one")
    two = _run_dir(tmp_path, "copy8_lstm_two", **{"train.seeds": 2, "train.seed": 3})
    # A run whose job raises: it must be recorded as failed without losing the other two.
    bad = _run_dir(tmp_path, "copy8_bad")
    raw = json.loads((bad / CONFIG).read_text())
    raw["model"]["name"] = "no_such_model"
    (bad / CONFIG).write_text(json.dumps(raw))

    lines = []
    began = time.monotonic()
    results = run_slurm(
        [one, two, bad],
        tmp_path / "slurm",
        SlurmOptions(cpus_per_task=1, time_min=10),
        progress=lines.append,
        poll_s=1.0,
    )
    took = time.monotonic() - began
    assert results[str(one)] == results[str(two)] == "completed", (results, lines)
    assert results[str(bad)].startswith("failed: "), results
    assert "no_such_model" in results[str(bad)]
    assert "\n" not in results[str(bad)]

    for run, seeds in ((one, [0]), (two, [3, 4])):
        summary = json.loads((run / SUMMARY).read_text())
        assert summary["status"] == "completed"
        assert summary["step"] == 20
        assert [s["seed"] for s in summary["seeds"]] == seeds
        assert all(s["status"] == "completed" for s in summary["seeds"])

    # It really went through Slurm: the array is in slurmctld's table with the tasks' true
    # end states, and each task ran inside that Slurm job (submitit's job environment).
    submitted = next(ln for ln in lines if "submitted job array" in ln)
    array_id = re.search(r"job array (\d+)", submitted).group(1)
    # (A task's result is written just before its process exits, so its end state can lag.)
    deadline = time.monotonic() + 60
    while (states := _array_states(array_id)) and time.monotonic() < deadline:
        if not {"RUNNING", "COMPLETING"} & set(states.values()):
            break
        time.sleep(0.5)
    assert states == {0: "COMPLETED", 1: "COMPLETED", 2: "FAILED"}
    for task in range(3):
        logs = [tmp_path / "slurm" / f"{array_id}_{task}_0_log.{ext}" for ext in ("out", "err")]
        text = "".join(p.read_text() for p in logs if p.exists())
        assert f"job_id={array_id}_{task}," in text
    assert any(re.search(r"\d+ done, \d+ running, \d+ pending", ln) for ln in lines), lines
    assert sum(ln.startswith("[") for ln in lines) == 3  # one line per finished run
    print(f"slurm job array of 3 runs: {took:.1f}s")


@pytest.mark.timeout(900)
def test_a_task_slurm_kills_is_failed_and_the_others_kept(tmp_path, slurm_cluster, monkeypatch):
    monkeypatch.setattr(slurm, "GRACE_S", 1.0)
    short = _run_dir(tmp_path, "short")
    endless = _run_dir(tmp_path, "endless", **{"train.steps": 1_000_000})
    lines, cancelled = [], []

    def progress(line):
        lines.append(line)
        if (m := re.search(r"array (\d+): \d done, [12] running", line)) and not cancelled:
            cancelled.append(f"{m.group(1)}_1")
            subprocess.run(["scancel", cancelled[0]], check=True)

    results = run_slurm(
        [short, endless],
        tmp_path / "slurm",
        SlurmOptions(cpus_per_task=1, time_min=10),
        progress=progress,
        poll_s=0.5,
    )
    assert cancelled, lines
    assert results[str(short)] == "completed"
    assert results[str(endless)].startswith("failed: Slurm state CANCELLED without a result")
    assert json.loads((short / SUMMARY).read_text())["status"] == "completed"


def test_seqlab_sweep_completes_through_slurm(slurm_cluster, tmp_path):
    """The whole command: `seqlab sweep --executor slurm`, then a re-run that trains nothing."""
    from tests.sweep.test_sweep import assert_each_run_complete_once, run_sweep, sweep_file

    path = sweep_file(
        tmp_path, 'product({"model.name": ["lstm", "gru"]}, TINY, {"train.seed": [0, 1]})'
    )
    workdir = tmp_path / "sweep"
    done = run_sweep(path, workdir, "--executor", "slurm", "--cpus-per-task", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 to train with slurm executor" in done.stdout
    assert_each_run_complete_once(workdir, 2)
    assert list((workdir / "slurm").glob("*_0_log.out"))  # submitit's logs of the array tasks
    again = run_sweep(path, workdir, "--executor", "slurm")
    assert again.returncode == 0 and "0 to train" in again.stdout
