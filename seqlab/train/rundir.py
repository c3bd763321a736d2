"""The run directory: the durable record of a run.

    config.json    the resolved config
    metrics.jsonl  one JSON object a line: step, seed, split, metrics, elapsed, time
    summary.json   status, parameters, throughput, final/best metrics per seed
    checkpoints/   orbax
    .lock          held (flock) by the process training this run

JSON files are replaced atomically (write to a temporary file, fsync, rename).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError

CONFIG, METRICS, SUMMARY, LOCK = "config.json", "metrics.jsonl", "summary.json", ".lock"


class RunLockedError(RuntimeError):
    pass


def finite_or_none(x: Any) -> Any:
    """JSON has no NaN or infinity: non-finite floats are recorded as null."""
    return x if not isinstance(x, float) or math.isfinite(x) else None


def write_json_atomic(path: Path, obj: Any) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def check_writable(workdir: Path) -> None:
    """Refuses, before anything is written, a workdir that cannot be created or written."""
    workdir = Path(workdir)
    if workdir.exists():
        if not workdir.is_dir():
            raise ConfigError(f"workdir {str(workdir)!r} exists and is not a directory")
        if any(workdir.iterdir()) and not (workdir / CONFIG).exists():
            raise ConfigError(
                f"workdir {str(workdir)!r} is not empty and holds no seqlab run ({CONFIG}); "
                "choose a new or empty directory"
            )
        if not os.access(workdir, os.W_OK):
            raise ConfigError(f"workdir {str(workdir)!r} is not writable")
        return
    ancestor = workdir.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(
            f"workdir {str(workdir)!r} cannot be created: {str(ancestor)!r} is a file"
        )
    if not os.access(ancestor, os.W_OK):
        raise ConfigError(
            f"workdir {str(workdir)!r} cannot be created: {str(ancestor)!r} is not writable"
        )


def acquire_lock(workdir: Path):
    """An exclusive lock held for the life of the process (released by the OS, even on kill)."""
    fd = os.open(Path(workdir) / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise RunLockedError(
            f"run directory {str(workdir)!r} is in use by another seqlab process (pid {holder})"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def read_metrics(path: Path) -> tuple[list[dict], int]:
    """Rows of metrics.jsonl, and how many lines were unreadable (a crash mid-write)."""
    rows, bad = [], 0
    if not Path(path).exists():
        return rows, bad
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
    return rows, bad


def truncate_metrics(path: Path, last_step: int) -> list[dict]:
    """Keeps the rows up to `last_step` (the restored checkpoint), so none is recorded twice."""
    rows, _ = read_metrics(path)
    kept = [r for r in rows if r.get("step", 0) <= last_step]
    if Path(path).exists():
        fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".metrics.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in kept)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return kept
