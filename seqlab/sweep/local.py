"""The local executor: a pool of `--jobs N` training processes, one run directory each.

Each job is `python -m seqlab train --workdir <run> --quiet` (the run's config.json is already
written), its output appended to `<run>/train.log`. The jobs die with the sweep process
(Linux's parent-death signal), so killing a sweep never leaves orphans holding a run's lock;
the next `seqlab sweep` resumes those runs from their checkpoints. SIGTERM to the sweep is
passed on to its jobs, which save a checkpoint at their next chunk boundary and exit; the sweep
then exits with status 143 without starting another.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seqlab import devices
from seqlab.train.rundir import METRICS, SUMMARY
from seqlab.train.stop import StopOnSigterm, Stopped

LOG = "train.log"
STOPPED = "stopped (checkpoint saved)"  # the status of a job that a SIGTERM stopped
HEARTBEAT_S = 30.0
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable | None:
    # Not Linux/glibc: jobs may outlive a killed sweep; the run locks still protect the runs.
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up here, in the parent: the child must not dlopen between fork and exec, where a lock
# another thread of the parent held at the fork (XLA's, say) stays locked forever.
_PRCTL = _load_prctl()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _last_line(path: Path, limit: int = 4096) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - limit))
            lines = f.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""
    except OSError:
        return ""


def run_status(run_dir: Path) -> str | None:
    """The status in a run's summary.json, None if it has none (never started)."""
    try:
        return json.loads((run_dir / SUMMARY).read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def _latest(run_dir: Path) -> str:
    """'step 300 loss 0.41' from the run's last metrics row, for progress lines."""
    try:
        row = json.loads(_last_line(run_dir / METRICS))
    except ValueError:
        return "starting"
    loss = row.get("loss")
    return f"step {row.get('step')}" + (f" loss {loss:.4g}" if isinstance(loss, float) else "")


def _fmt_s(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def run_local(
    run_dirs: list[Path], jobs: int, progress: Callable[[str], None] = print
) -> dict[str, str]:
    """Trains every run directory, `jobs` at a time; returns {run dir: final status}.
    Raises Stopped after a SIGTERM, once the jobs it passed it on to have saved and exited."""
    stop = StopOnSigterm()
    stop.listen()
    try:
        results = _run_pool(run_dirs, jobs, progress, stop)
    finally:
        stop.close()
    if stop.signum is not None:
        stopped = sum(status == STOPPED for status in results.values())
        raise Stopped(stop.signum, f"after its {stopped} running jobs saved a checkpoint")
    return results


def _run_pool(
    run_dirs: list[Path], jobs: int, progress: Callable[[str], None], stop: StopOnSigterm
) -> dict[str, str]:
    pending = list(run_dirs)
    running: dict[Path, tuple[subprocess.Popen, float]] = {}
    results: dict[str, str] = {}
    start = last_beat = time.monotonic()
    durations: list[float] = []
    total = len(pending)
    # Each job gets its share of the cores as JAX CPU devices (seqlab.devices), unless the
    # sweep itself was given a device count.
    cores_per_job = max(1, devices.cpu_device_count() // jobs)
    passed_on = False
    while pending or running:
        if stop.signum is not None and not passed_on:
            pending.clear()
            for proc, _ in running.values():
                proc.send_signal(stop.signum)
            progress(f"{signal.Signals(stop.signum).name}: stopping {len(running)} jobs")
            passed_on = True
        while pending and len(running) < jobs and stop.signum is None:
            run = pending.pop(0)
            with (run / LOG).open("ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "seqlab", "train", "--workdir", str(run), "--quiet"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                    env={**os.environ, devices.ENV: str(cores_per_job)},
                )
            running[run] = (proc, time.monotonic())
        time.sleep(0.2)
        for run, (proc, began) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[run]
            took = time.monotonic() - began
            durations.append(took)
            status = run_status(run) if proc.returncode == 0 else None
            # 143: saved at a checkpoint; -15: ended by the signal before it listened,
            # i.e. before it trained a step, so nothing is lost either
            if passed_on and proc.returncode in (128 + stop.signum, -stop.signum):
                status = STOPPED
            elif status is None or proc.returncode != 0:
                status = f"failed: {_last_line(run / LOG) or f'exit status {proc.returncode}'}"
            results[str(run)] = status
            left = len(pending) + len(running)
            eta = sum(durations) / len(durations) * left / max(1, min(jobs, left)) if left else 0
            progress(
                f"[{len(results)}/{total}] {run.name}: {status} ({_fmt_s(took)}) · "
                f"{len(running)} running, {len(pending)} pending · ETA {_fmt_s(eta)}"
            )
        now = time.monotonic()
        if running and now - last_beat >= HEARTBEAT_S:
            last_beat = now
            states = ", ".join(f"{r.name} {_latest(r)}" for r in running)
            progress(f"  {_fmt_s(now - start)} elapsed; running: {states}")
    return results
