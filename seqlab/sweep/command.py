"""`seqlab sweep FILE --workdir DIR`: plan, validate, write the manifest, train what is left.

Re-running a sweep skips completed (and diverged) runs, resumes interrupted ones from their
checkpoints and re-tries failed ones only with --retry-failed. Exit status: 0 when every run
ended (completed or diverged), 1 when some failed, 2 for bad input (nothing written).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

from seqlab.config import ConfigError
from seqlab.results.load import config_id
from seqlab.sweep.plan import MANIFEST, PlannedRun, base_configs, load_sweep_file, plan
from seqlab.sweep.slurm import add_arguments as add_slurm_arguments
from seqlab.train.rundir import CONFIG, acquire_lock, read_json, write_json_atomic

EXECUTORS = ("local", "slurm")
ENDED = ("completed", "diverged")
REPORT = "report.html"  # the dashboard a sweep writes into its workdir when it finishes


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sweep", help="run a sweep file's runs (resumable; local or Slurm)")
    p.add_argument("file", help="sweep file: experiments/<name>.py")
    p.add_argument("--workdir", required=True, help="sweep directory (created, or resumed)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once (default 1)")
    p.add_argument("--executor", default="local", help=f"one of {', '.join(EXECUTORS)}")
    p.add_argument("--retry-failed", action="store_true", help="train failed runs again")
    p.add_argument(
        "--no-group-seeds", action="store_true", help="one program per seed, not one per run"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan, train nothing")
    add_slurm_arguments(p)
    p.set_defaults(run=run)
    return p


def _check_args(args) -> None:
    if args.executor not in EXECUTORS:
        raise ConfigError(f"--executor is {args.executor!r}; valid choices: {', '.join(EXECUTORS)}")
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be a positive integer, got {args.jobs}")
    workdir = Path(args.workdir)
    if workdir.exists():
        if not workdir.is_dir():
            raise ConfigError(f"--workdir {args.workdir!r} exists and is not a directory")
        if any(workdir.iterdir()) and not (workdir / MANIFEST).exists():
            raise ConfigError(
                f"--workdir {args.workdir!r} is not empty and holds no sweep ({MANIFEST}); "
                "choose a new or empty directory"
            )
        if not os.access(workdir, os.W_OK):
            raise ConfigError(f"--workdir {args.workdir!r} is not writable")


def _state(run_dir: Path) -> str:
    from seqlab.sweep.local import run_status

    if not (run_dir / CONFIG).exists():
        return "new"
    return run_status(run_dir) or "new"


def _existing_dirs(workdir: Path) -> dict[str, str]:
    """{config id: directory name} of the runs already in the sweep's workdir."""
    found: dict[str, str] = {}
    for run_dir in sorted(workdir.iterdir()) if workdir.is_dir() else ():
        try:
            found.setdefault(config_id(read_json(run_dir / CONFIG)), run_dir.name)
        except (OSError, ValueError, TypeError, AttributeError):
            continue  # not a run directory
    return found


def _in_existing_dirs(runs: list[PlannedRun], workdir: Path) -> list[PlannedRun]:
    """Runs already in the workdir keep their directory, found by config id, not by name: a
    run written by an older seqlab (whose config lacks fields added since, so its directory
    name holds another hash) is resumed or skipped, not trained again."""
    existing = _existing_dirs(workdir)
    return [dataclasses.replace(r, dir=existing.get(r.id, r.dir)) for r in runs]


def _manifest(args, runs: list[PlannedRun], note: str) -> dict:
    """sweep.json: the plan, the base configs that `seqlab report` shows runs against, and
    the sweep file's NOTE (what its results show, printed with them and on the dashboard)."""
    return {
        "sweep": str(Path(args.file).resolve()),
        "note": note,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "group_seeds": not args.no_group_seeds,
        "bases": base_configs(runs),
        "runs": [
            {
                "id": r.id,
                "dir": r.dir,
                "base": r.base,
                "entries": list(r.entries),
                "seeds": list(r.seeds),
            }
            for r in runs
        ],
    }


def _run_config(run: PlannedRun, sweep_name: str) -> dict:
    """config.json of a run: W&B groups a sweep's runs under its name unless the sweep set one."""
    config = json.loads(json.dumps(run.config))
    config["track"]["group"] = config["track"]["group"] or sweep_name
    return config


def run(args, extra) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    _check_args(args)
    module = load_sweep_file(args.file)
    runs = plan(module, group_seeds=not args.no_group_seeds)  # validates every entry
    slurm_options = None
    if args.executor == "slurm":
        from seqlab.sweep.slurm import options_from

        try:
            slurm_options = options_from(args, module)
        except ValueError as e:
            raise ConfigError(str(e)) from None
    workdir = Path(args.workdir)
    runs = _in_existing_dirs(runs, workdir)
    seeds = sum(len(r.seeds) for r in runs)
    if args.dry_run:
        for r in runs:
            print(f"{r.dir}  seeds {list(r.seeds)}  entries {list(r.entries)}")
        print(f"{len(runs)} programs, {seeds} seeds; nothing trained (--dry-run)")
        return 0

    workdir.mkdir(parents=True, exist_ok=True)
    acquire_lock(workdir)  # held until this process exits: one sweep per workdir at a time
    note = str(getattr(module, "NOTE", "") or "")
    write_json_atomic(workdir / MANIFEST, _manifest(args, runs, note))
    todo, ended, failed = [], [], []
    for r in runs:
        run_dir = workdir / r.dir
        state = _state(run_dir)
        if state in ENDED:
            ended.append(r)
            continue
        if state == "failed" and not args.retry_failed:
            failed.append(r)
            continue
        run_dir.mkdir(exist_ok=True)
        if not (run_dir / CONFIG).exists():
            write_json_atomic(run_dir / CONFIG, _run_config(r, workdir.resolve().name))
        todo.append(run_dir)
    print(
        f"sweep {Path(args.file).name}: {len(runs)} programs ({seeds} seeds) in {workdir}; "
        f"{len(ended)} done, {len(failed)} failed (kept; --retry-failed trains them), "
        f"{len(todo)} to train with {args.executor} executor"
        + (f", {args.jobs} at a time" if args.executor == "local" else "")
    )
    if args.executor == "local":
        from seqlab.sweep.local import run_local

        results = run_local(todo, args.jobs)
    else:
        from seqlab.sweep.slurm import run_slurm

        results = run_slurm(todo, workdir / "slurm", slurm_options)
    newly_failed = [d for d, status in results.items() if status not in ENDED]
    if note:
        print(f"\n{note}\n")
    _print_results(workdir)
    n_failed = len(newly_failed) + len(failed)
    print(
        f"sweep finished: {len(runs) - n_failed}/{len(runs)} programs ended"
        + (f"; {n_failed} failed (see train.log in their run directories)" if n_failed else "")
        + f"; results: seqlab results {workdir}"
    )
    _write_dashboard(workdir)
    return 1 if n_failed else 0


def _write_dashboard(workdir: Path) -> None:
    """The sweep's dashboard, REPORT in its workdir; a failure here does not fail the sweep."""
    from seqlab.report.command import write_report

    try:
        path = write_report(workdir, workdir / REPORT)
    except Exception as e:  # the runs are recorded; the report can be written again later
        print(f"dashboard not written ({type(e).__name__}: {e}); seqlab report {workdir}")
        return
    print(f"dashboard: {path.resolve()}")


def _print_results(workdir: Path) -> None:
    try:
        from seqlab.results.command import print_tables
    except ImportError:
        return
    print_tables(workdir)
