"""A study's results as one compact JSON file to commit (`experiments/results/<study>.json`).

    seqlab export runs/arjovsky2016 -o experiments/results/arjovsky2016.json

Run directories are not kept when a machine is replaced; this file is what documents quote.
It holds every seed's row of `load()` (the config fields shared by all seeds stored once), the
held-out learning curves of every seed downsampled to at most `curve_points` points (the
first and last evaluation always kept), and where, when and with what it was produced.
`read_export()` turns it back into the frames `load()` and `load_metrics()` give, so
`aggregate()` and the figures compute from it exactly as from the runs.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqlab.config import ConfigError

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "seqlab-study/1"
CURVE_SPLITS = ("eval", "eval_length")
CURVE_KEYS = ("run", "seed", "split", "eval_length")  # a curve: one run, seed, split, length


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a study's results (seeds, curves) as one JSON file to commit"
    )
    p.add_argument("path", help="a sweep workdir or any folder of runs")
    p.add_argument("-o", "--output", required=True, help="the JSON file to write")
    p.add_argument(
        "--curve-points",
        type=int,
        default=100,
        help="most points kept per learning curve (default 100)",
    )
    p.set_defaults(run=run)


def run(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    if args.curve_points < 2:
        raise ConfigError(f"--curve-points must be at least 2, got {args.curve_points}")
    study = export(args.path, args.curve_points)
    from seqlab.train.rundir import write_json_atomic

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, study)
    print(
        f"wrote {out}: {len(study['seeds'])} seeds of {study['runs']} runs, "
        f"{len(study['curves'])} curves"
    )
    return 0


def export(path: str | Path, curve_points: int = 100) -> dict:
    """The study below `path` as a JSON-able dict (see the module docstring)."""
    from seqlab.results.load import check_directory, load, load_metrics

    check_directory(path)
    df = load(path)
    if df.empty:
        raise ConfigError(f"no runs found under {str(path)!r}; nothing to export")
    cfg_cols = [c for c in df.columns if c.startswith("cfg.")]
    common = {c: _plain(df[c].iloc[0]) for c in cfg_cols if df[c].nunique(dropna=False) == 1}
    seeds = df.drop(columns=[*common, "path"]).to_dict("records")
    curves = _curves(load_metrics(path), curve_points)
    return {
        "format": FORMAT,
        "study": Path(path).resolve().name,
        "written": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "seqlab_commit": _commit(),
        "machine": _machines(df),
        "runs": int(df["run"].nunique()),
        "common_config": common,
        "seeds": [{k: _plain(v) for k, v in row.items()} for row in seeds],
        "curves": curves,
    }


def _curves(metrics: pd.DataFrame, points: int) -> list[dict]:
    import numpy as np

    if metrics.empty:
        return []
    rows = metrics[metrics["split"].isin(CURVE_SPLITS)]
    skip = {"run", "run_id", "path", "task", "length", "model", "step", "seed", "split",
            "elapsed", "time", "eval_length"}  # fmt: skip
    out = []
    keys = [k for k in CURVE_KEYS if k in rows]
    for values, curve in rows.groupby(keys, dropna=False, sort=True):
        curve = curve.sort_values("step")
        keep = np.unique(np.linspace(0, len(curve) - 1, min(points, len(curve))).round())
        curve = curve.iloc[keep.astype(int)]
        entry = {k: _plain(v) for k, v in zip(keys, values, strict=True)}
        entry["step"] = [int(s) for s in curve["step"]]
        for col in curve.columns:
            if col not in skip and curve[col].notna().any():
                entry[col] = [_plain(v) for v in curve[col]]
        out.append(entry)
    return out


def _machines(df: pd.DataFrame) -> list[str]:
    """The machines the runs trained on (as their summaries record), else this one."""
    found = sorted(m for m in df.get("machine", []) if isinstance(m, str))
    if found:
        return sorted(set(found))
    from seqlab.devices import describe_machine

    return [f"{describe_machine()} (where exported; the runs did not record theirs)"]


def read_export(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(seeds, curves, meta) of an exported study: seeds as `load()`'s frame (common config
    fields restored), curves as `load_metrics()`'s eval rows, meta the rest of the file."""
    import pandas as pd

    study = json.loads(Path(path).read_text())
    if study.get("format") != FORMAT:
        raise ConfigError(f"{str(path)!r} is not a seqlab study export ({FORMAT})")
    seeds = pd.DataFrame(study["seeds"])
    for key, value in study["common_config"].items():
        seeds[key] = [tuple(value) if isinstance(value, list) else value] * len(seeds)
    for col in seeds.columns:
        if col.startswith("cfg.") and seeds[col].map(lambda v: isinstance(v, list)).any():
            seeds[col] = seeds[col].map(lambda v: tuple(v) if isinstance(v, list) else v)
    frames = []
    for c in study["curves"]:
        n = len(c["step"])
        frame = pd.DataFrame({k: v for k, v in c.items() if isinstance(v, list)})
        for k in CURVE_KEYS:
            if k in c:
                frame[k] = [c[k]] * n
        frames.append(frame)
    curves = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(curves):
        labels = seeds.drop_duplicates("run").set_index("run")[["task", "length", "model"]]
        curves = curves.join(labels, on="run")
    meta = {k: v for k, v in study.items() if k not in ("seeds", "curves")}
    return seeds, curves, meta


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python, NaN as None, tuples as lists."""
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
