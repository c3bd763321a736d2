"""The Slurm executor: one job array through submitit, one array task per run directory.

Each array task runs `seqlab.sweep.job.train_run_dir(run_dir)`, so a run trains (or resumes) the
same way on a cluster node as in the local pool; the run directory is the whole hand-over and
the result lands in it whatever happens to this process. `run_slurm` waits for the array and
returns {run dir: status}, a failed task recorded as 'failed: <one line>' beside the others.

Job states come from `squeue` (with --states=all, which also shows recently finished tasks),
not from submitit's `sacct` watcher: a cluster without an accounting database (like the
single-node one `tools/local_slurm.sh` starts for the tests) has no `sacct`, and a task that
died before writing its result would then be waited on for ever.

Options come from the command line over a sweep file's optional `SLURM = dict(...)`:

    SLURM = dict(partition="gpu", time_min=120, gpus_per_node=1, cpus_per_task=8)
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError

# Task states after which Slurm will not run the task again by itself.
_ACTIVE = {
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESIZING",
    "SIGNALING",
    "STAGE_OUT",
    "STOPPED",
    "RESV_DEL_HOLD",
}
# A finished task's result file can lag behind its state on a network file system, and a
# preempted task may be requeued: a task is only called lost after this long without either.
GRACE_S = 30.0
HEARTBEAT_S = 60.0


@dataclasses.dataclass(frozen=True)
class SlurmOptions:
    """What each array task asks Slurm for (one task trains one run directory)."""

    partition: str = ""  # "" = the cluster's default partition
    time_min: int = 60  # wall-time limit per task
    cpus_per_task: int = 2
    gpus_per_node: int = 0
    mem_gb: float = 0  # 0 = the partition's default
    array_parallelism: int = 64  # at most this many tasks of the array run at once

    def __post_init__(self):
        if not isinstance(self.partition, str):
            raise ConfigError(f"slurm partition must be a string, got {self.partition!r}")
        minimum = dict(time_min=1, cpus_per_task=1, gpus_per_node=0, array_parallelism=1)
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"slurm {name} must be an integer >= {low}, got {value!r}")
        if isinstance(self.mem_gb, bool) or not isinstance(self.mem_gb, int | float):
            raise ConfigError(f"slurm mem_gb must be a number, got {self.mem_gb!r}")
        if self.mem_gb < 0:
            raise ConfigError(f"slurm mem_gb must be >= 0, got {self.mem_gb!r}")


FIELDS = tuple(f.name for f in dataclasses.fields(SlurmOptions))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line flags `options_from` reads (all default to None: the sweep file's or
    SlurmOptions' value)."""
    g = parser.add_argument_group("slurm executor (--executor slurm)")
    g.add_argument("--partition", help="Slurm partition (default: the cluster's default)")
    g.add_argument("--time-min", type=int, help="wall-time limit per run, minutes (default 60)")
    g.add_argument("--cpus-per-task", type=int, help="CPUs per run (default 2)")
    g.add_argument("--gpus-per-node", type=int, help="GPUs per run (default 0)")
    g.add_argument("--mem-gb", type=float, help="memory per run, GB (default: partition's)")
    g.add_argument("--array-parallelism", type=int, help="runs at once at most (default 64)")


def options_from(args: Any = None, sweep_module: Any = None) -> SlurmOptions:
    """SlurmOptions from command-line flags (attributes of `args` that are not None) over the
    sweep file's optional `SLURM = dict(...)` over the defaults."""
    values: dict[str, Any] = {}
    from_file = getattr(sweep_module, "SLURM", None)
    if from_file is not None:
        where = getattr(sweep_module, "__file__", None) or "the sweep file"
        if not isinstance(from_file, dict):
            raise ConfigError(f"{where}: SLURM must be a dict, got {type(from_file).__name__}")
        unknown = sorted(set(from_file) - set(FIELDS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown SLURM key(s) {', '.join(map(repr, unknown))}; "
                f"valid keys: {', '.join(FIELDS)}"
            )
        values.update(from_file)
    for name in FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    return SlurmOptions(**values)


def executor_parameters(options: SlurmOptions) -> dict[str, Any]:
    """submitit.AutoExecutor.update_parameters arguments; unset options are left to the
    cluster (asking for 0 GPUs or 0 GB is refused by some sites)."""
    params: dict[str, Any] = dict(
        name="seqlab",
        timeout_min=options.time_min,
        nodes=1,
        tasks_per_node=1,
        cpus_per_task=options.cpus_per_task,
        slurm_array_parallelism=options.array_parallelism,
    )
    if options.partition:
        params["slurm_partition"] = options.partition
    if options.gpus_per_node:
        params["gpus_per_node"] = options.gpus_per_node
    if options.mem_gb:
        params["mem_gb"] = float(options.mem_gb)
    return params


def _fmt_s(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def _tail(path: Path, limit: int = 8192) -> list[str]:
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - limit))
            return [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return []


def _error_line(error: BaseException) -> str:
    """The exception line of a job's traceback (submitit wraps it between dashed lines)."""
    lines = [ln.strip() for ln in str(error).splitlines()]
    dashes = [i for i, ln in enumerate(lines) if ln and set(ln) == {"-"}]
    if len(dashes) >= 2:
        inside = [ln for ln in lines[dashes[0] + 1 : dashes[1]] if ln]
        if inside:
            return inside[-1]
    return next((ln for ln in lines if ln), type(error).__name__)


def _queue(array_id: str) -> dict[str, str] | None:
    """{'<array>_<task>': state} from squeue; None if squeue could not answer this time."""
    try:
        proc = subprocess.run(
            ["squeue", "-h", "-r", "--states=all", "-j", array_id, "-o", "%i|%T"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        # The controller forgot the whole array (MinJobAge passed): every task is gone.
        return {} if "Invalid job id" in proc.stderr else None
    states = {}
    for line in proc.stdout.splitlines():
        job_id, _, state = line.strip().partition("|")
        for task_id in _expand(job_id):
            states[task_id] = state.split()[0] if state else "UNKNOWN"
    return states


def _expand(job_id: str) -> list[str]:
    """'12_[0-2,5%4]' (pending tasks squeue did not split) -> ['12_0', '12_1', '12_2', '12_5']."""
    m = re.fullmatch(r"(\d+)_\[([\d,\-]+)(?:%\d+)?\]", job_id)
    if not m:
        return [job_id]
    out = []
    for part in m.group(2).split(","):
        lo, _, hi = part.partition("-")
        out += [f"{m.group(1)}_{i}" for i in range(int(lo), int(hi or lo) + 1)]
    return out


def _outcome(job) -> str:
    """The status train_run_dir returned, or 'failed: <its exception line>'."""
    try:
        return str(job.result())
    except Exception as e:
        return f"failed: {_error_line(e)}"


def _lost(job, state: str | None) -> str:
    last = _tail(job.paths.stderr)
    why = f"Slurm state {state}" if state else "left the Slurm queue"
    detail = f"; last log line: {last[-1].strip()}" if last else ""
    return f"failed: {why} without a result ({job.paths.stderr}){detail}"


def run_slurm(
    run_dirs: list[Path],
    folder: Path,
    options: SlurmOptions | None = None,
    progress: Callable[[str], None] = print,
    poll_s: float = 2.0,
) -> dict[str, str]:
    """Trains every run directory as one task of one Slurm job array; waits for all of them.

    `folder` receives submitit's pickles and the tasks' logs (`<array>_<task>_0_log.out|err`);
    it must be on a file system the nodes share. Returns {run dir: final status}; a task that
    failed or was lost is 'failed: <one line>' and does not affect the others. Interrupting
    the wait leaves the array running (its results still land in the run directories).
    """
    if not run_dirs:
        return {}
    import submitit
    from submitit.core.utils import FailedJobError, FailedSubmissionError

    from seqlab.sweep.job import train_run_dir

    options = options or SlurmOptions()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [str(Path(d)) for d in run_dirs]
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
        executor.update_parameters(**executor_parameters(options))
        jobs = executor.map_array(train_run_dir, paths)
    except (FailedJobError, FailedSubmissionError) as e:
        raise ConfigError(f"sbatch refused the job array: {_error_line(e)}") from e
    except RuntimeError as e:  # submitit: no srun on this machine
        raise ConfigError(f"--executor slurm: {e}") from e
    array_id = jobs[0].job_id.split("_")[0]
    progress(f"slurm: submitted job array {array_id} ({len(jobs)} runs); logs in {folder}")
    try:
        results = _wait(array_id, dict(zip(paths, jobs, strict=True)), progress, poll_s)
    except KeyboardInterrupt:
        progress(f"slurm: stopped waiting; job array {array_id} keeps running (scancel {array_id})")
        raise
    return {p: results[p] for p in paths}  # in the order given, not the order they finished


def _wait(array_id: str, left: dict, progress: Callable[[str], None], poll_s: float):
    results: dict[str, str] = {}
    total = len(left)
    lost_since: dict[str, float] = {}
    start = last_beat = time.monotonic()
    last_counts = None
    while left:
        queue = _queue(array_id)
        now = time.monotonic()
        for path, job in list(left.items()):
            state = None if queue is None else queue.get(job.job_id)
            if job.paths.result_pickle.exists():
                status = _outcome(job)
            elif queue is None or state in _ACTIVE:
                lost_since.pop(path, None)
                continue
            elif now - lost_since.setdefault(path, now) < GRACE_S:
                continue
            else:
                status = _lost(job, state)
            del left[path]
            results[path] = status
            progress(f"[{len(results)}/{total}] {Path(path).name}: {status}")
        if not left:
            break
        states = [queue.get(j.job_id, "") for j in left.values()] if queue is not None else []
        counts = (states.count("RUNNING"), states.count("PENDING"))
        if counts != last_counts or now - last_beat >= HEARTBEAT_S:
            last_counts, last_beat = counts, now
            note = "" if queue is not None else "; squeue did not answer"
            progress(
                f"slurm array {array_id}: {len(results)} done, {counts[0]} running, "
                f"{counts[1]} pending ({_fmt_s(now - start)}{note})"
            )
        # Poll often at first (short test arrays), then gently (squeue load on a real cluster).
        time.sleep(min(30.0, max(poll_s, (time.monotonic() - start) / 20)))
    return results
