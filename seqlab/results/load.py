"""Run directories into pandas: one row per (run, seed), and every metrics.jsonl row.

A run is any directory holding summary.json and config.json, found anywhere below the given
path (a run directory, a sweep workdir, or a tree of them). Runs still training load with
whatever they have recorded so far; a summary or config that cannot be read (a crash before
the first atomic write, a hand-edited file) is skipped with a warning, never an exception.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqlab.config import ConfigError, flatten, with_defaults
from seqlab.train.rundir import CONFIG, METRICS, SUMMARY, read_metrics

if TYPE_CHECKING:
    import pandas as pd

# Config sections that label or record a run without changing what it computes.
IDENTITY_EXCLUDED = ("track",)

# The per-seed columns every frame has, in this order, before the metric and cfg.* columns.
BASE_COLUMNS = (
    "run",
    "path",
    "run_id",
    "task",
    "length",
    "model",
    "seed",
    "status",
    "run_status",
    "params",
    "state_size",
    "tokens_per_s",
    "steps",
    "step",
    "final_step",
    "criterion",
    "criterion_mode",
    "criterion_threshold",
    "baseline",
    "min_length",
    "solved",
    "solved_at",
    "solved_sequences",
    "budget_sequences",
    "stopped_at",
    "diverged_at",
)


class RunSkipped(UserWarning):
    """A directory that looked like a run could not be read; it was left out."""


def config_id(cfg: Any) -> str:
    """The run's identity: sha256 (hex) of its config without the `track` section.

    `cfg` is a config dict (config.json's content) or a ConfigDict. Keys are sorted, so the
    id does not depend on the order in which the config was built; tuples hash as lists, as
    they are written to config.json. Fields the config lacks count as their defaults
    (`with_defaults`): a run written before seqlab added an option keeps its id.
    """
    d = with_defaults(cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg))
    d = {k: v for k, v in d.items() if k not in IDENTITY_EXCLUDED}
    d["model"] = _one_form_canonical(d["model"])
    text = json.dumps(d, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()


def _one_form_canonical(model: dict) -> dict:
    """model.scan_form=auto is "scan" for a model with no other form (every model but the
    linear recurrences of seqlab.models.scan_defaults): runs written while the default was
    "scan" keep their identity."""
    from seqlab.models.scan_defaults import FAMILIES
    from seqlab.registry import split_name

    if model.get("scan_form") != "auto" or split_name(str(model.get("name")))[0] in FAMILIES:
        return model
    return {**model, "scan_form": "scan"}


def check_directory(path: str | Path) -> Path:
    """`path` as a Path; ConfigError (one line for the CLI) if it is missing or not a folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"results path {str(path)!r} does not exist")
    if not path.is_dir():
        raise ConfigError(f"results path {str(path)!r} is not a directory")
    return path


def find_runs(path: str | Path) -> list[Path]:
    """Every directory at or below `path` holding a summary.json, sorted by path."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    runs = []
    for dirpath, dirnames, filenames in os.walk(path):
        if SUMMARY in filenames:
            runs.append(Path(dirpath))
            dirnames[:] = []  # a run's own subdirectories (checkpoints/) hold no runs
        else:
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(runs)


def _read_run(run_dir: Path) -> tuple[dict, dict, list[dict]] | None:
    """(summary, config, rows) of a run, or None (with a warning) if it cannot be used."""
    try:
        summary = json.loads((run_dir / SUMMARY).read_text())
        config = json.loads((run_dir / CONFIG).read_text())
        if not isinstance(summary, dict) or not isinstance(config, dict):
            raise ValueError("not a JSON object")
        if not isinstance(summary.get("seeds"), list):
            raise ValueError(f"{SUMMARY} has no per-seed records")
        rows = _rows(run_dir, summary, config)  # fields of the wrong type fail here
    except (OSError, ValueError, TypeError, AttributeError) as e:  # JSONDecodeError: ValueError
        warnings.warn(
            f"skipping run {str(run_dir)!r}: {type(e).__name__}: {e}", RunSkipped, stacklevel=3
        )
        return None
    return summary, config, rows


def _criterion(task: dict) -> tuple[str | None, str | None, float | None]:
    """The solved criterion; summaries written before it was recorded give only its text."""
    c = task.get("criterion")
    if isinstance(c, dict):
        return c.get("metric"), c.get("mode"), c.get("threshold")
    parts = str(task.get("solved", "")).split()  # "recall_accuracy >= 0.99"
    if len(parts) == 3 and parts[1] in (">=", "<="):
        try:
            return parts[0], "max" if parts[1] == ">=" else "min", float(parts[2])
        except ValueError:
            pass
    return None, None, None


def _cfg_value(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v  # hashable, so it can be a group key


def _seed_status(seed_status: str | None, run_status: str | None) -> str | None:
    # A failed run leaves its seeds marked running: they stopped with it.
    if run_status == "failed" and seed_status == "running":
        return "failed"
    return seed_status


def _labels(run_dir: Path, summary: dict, config: dict) -> dict:
    """The columns a run's rows share (all but the per-seed ones and cfg.*)."""
    task = summary.get("task") or {}
    metric, mode, threshold = _criterion(task)
    return {
        "run": run_dir.resolve().name,
        "path": str(run_dir),
        "run_id": config_id(config),
        "task": task.get("name", config.get("task", {}).get("name")),
        "length": task.get("length", config.get("task", {}).get("length")),
        "model": summary.get("model", config.get("model", {}).get("name")),
        "run_status": summary.get("status"),
        "params": summary.get("params"),
        "state_size": summary.get("state_size"),  # numbers carried per sequence (2026-12-06 on)
        "tokens_per_s": (summary.get("throughput") or {}).get("tokens_per_s"),
        "steps": summary.get("steps"),
        "step": summary.get("step"),
        "criterion": metric,
        "criterion_mode": mode,
        "criterion_threshold": threshold,
        "baseline": task.get("baseline"),
        "min_length": task.get("min_length"),  # variable-length tasks (absent before 2026-11-23)
        "machine": summary.get("machine"),  # where it trained (recorded from 2026-12-06)
        # the width and depth built (model.size and param_budget resolved), where recorded
        **{f"built.{k}": v for k, v in (summary.get("size") or {}).items()},
    }


def _rows(run_dir: Path, summary: dict, config: dict) -> list[dict]:
    common = _labels(run_dir, summary, config)
    cfg_cols = {f"cfg.{k}": _cfg_value(v) for k, v in flatten(config).items()}
    rows = []
    for rec in summary["seeds"]:
        if not isinstance(rec, dict):
            continue
        row = dict(common)
        batch = (config.get("train") or {}).get("batch_size")
        solved_at = rec.get("solved_at")
        row.update(
            seed=rec.get("seed"),
            status=_seed_status(rec.get("status"), summary.get("status")),
            final_step=rec.get("final_step"),
            solved=solved_at is not None,
            solved_at=solved_at,
            # training sequences (steps x batch); summaries before 2026-12-06 lack the field
            solved_sequences=rec.get("solved_sequences")
            or (solved_at * batch if solved_at is not None and batch else None),
            budget_sequences=summary["steps"] * batch if summary.get("steps") and batch else None,
            stopped_at=rec.get("stopped_at"),
            diverged_at=rec.get("diverged_at"),
        )
        for kind in ("final", "best"):
            for name, value in (rec.get(kind) or {}).items():
                row[f"{kind}.{name}"] = math.nan if value is None else value
            for length, at in (rec.get("lengths") or {}).items():  # eval.lengths
                for name, value in (at.get(kind) or {}).items():
                    row[f"{kind}@{length}.{name}"] = math.nan if value is None else value
        row.update(cfg_cols)
        rows.append(row)
    return rows


def _order(columns) -> list[str]:
    base = [c for c in BASE_COLUMNS if c in columns]
    finals = sorted(c for c in columns if c.startswith(("final.", "final@")))
    bests = sorted(c for c in columns if c.startswith(("best.", "best@")))
    cfgs = sorted(c for c in columns if c.startswith("cfg."))
    rest = [c for c in columns if c not in {*base, *finals, *bests, *cfgs}]
    return base + finals + bests + rest + cfgs


def load(path: str | Path) -> pd.DataFrame:
    """One row per (run, seed) for every run at or below `path`.

    Columns: run (directory name), path, run_id (`config_id`), task, length, model, seed,
    status (the seed's), run_status, params, tokens_per_s (the whole program's, all its
    seeds), steps (configured), step (reached), final_step, criterion / criterion_mode /
    criterion_threshold (the task's solved criterion), baseline (the loss of the best
    memoryless predictor: chance level), solved, solved_at, solved_sequences (training
    sequences until solved: steps x batch), budget_sequences (the most the run could train:
    train.steps x batch), stopped_at (a run that stops when solved), diverged_at, `built.hidden`,
    `built.layers`, `built.embed_dim`, `built.heads` (the size built, after `model.size` and
    `model.param_budget`; heads NaN for models without heads),
    `final.<metric>` and `best.<metric>` for every metric evaluated, `final@<L>.<metric>` and
    `best@<L>.<metric>` at each other task length L the run evaluated (`eval.lengths`), and
    `cfg.<section>.<key>` for every config field. Metrics a run has not recorded yet are NaN.
    """
    import pandas as pd

    rows = []
    for run_dir in find_runs(path):
        read = _read_run(run_dir)
        if read is not None:
            rows.extend(read[2])
    df = pd.DataFrame(rows, columns=None if rows else list(BASE_COLUMNS))
    df = df[_order(df.columns)]
    numeric = ("solved_at", "solved_sequences", "budget_sequences", "stopped_at", "diverged_at",
               "final_step", "step", "steps", "params", "state_size", "seed")  # fmt: skip
    for col in numeric:
        if col in df:  # steps: int when every row has one, else float with NaN (not object)
            df[col] = pd.to_numeric(df[col], errors="coerce")
            if len(df) and df[col].notna().all():
                df[col] = df[col].astype("int64")
    return df.reset_index(drop=True)


def load_metrics(path: str | Path) -> pd.DataFrame:
    """Every metrics.jsonl row of every run at or below `path` (for learning curves).

    Columns: run, run_id, path, task, length, model, then the rows' own fields (step, seed,
    split, elapsed, time, and the metric values; null values are NaN). `length` is the run's
    task length; the length an `eval_length` row (eval.lengths) was evaluated at is in
    `eval_length` (NaN on other rows). Lines that cannot be
    read (a crash mid-write) are left out with a warning and counted per run directory in
    `.attrs["unreadable_lines"]` ({path: count}).
    """
    import pandas as pd

    frames, unreadable = [], {}
    for run_dir in find_runs(path):
        read = _read_run(run_dir)
        if read is None:
            continue
        summary, config, _ = read
        rows, bad = read_metrics(run_dir / METRICS)
        if bad:
            unreadable[str(run_dir)] = bad
            warnings.warn(
                f"run {str(run_dir)!r}: {bad} unreadable line(s) in {METRICS} left out",
                RunSkipped,
                stacklevel=2,
            )
        if not rows:
            continue
        frame = pd.DataFrame(rows).rename(columns={"length": "eval_length"})
        labels = _labels(run_dir, summary, config)
        for i, col in enumerate(("run", "run_id", "path", "task", "length", "model")):
            frame.insert(i, col, labels[col])
        frames.append(frame)
    if frames:
        out = pd.concat(frames, ignore_index=True)
    else:
        columns = ["run", "run_id", "path", "task", "length", "model", "step", "seed", "split"]
        out = pd.DataFrame(columns=columns)
    out.attrs["unreadable_lines"] = unreadable
    return out
