"""What the dashboard shows, computed from run directories with `seqlab.results`.

`collect(path)` reads every run below `path` once and derives the frames the figures and the
runs table draw from: learning curves (each seed's, and their mean with a seed band),
per-configuration aggregates, the runs table, and each run's config as its difference from the
sweep's base config. Series labels come from `seqlab.results.labels`.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqlab.config import ConfigError, flatten
from seqlab.results.aggregate import aggregate, t_quantile
from seqlab.results.labels import series_labels, settings
from seqlab.results.load import RunSkipped, check_directory, find_runs, load, load_metrics
from seqlab.sweep.plan import MANIFEST

if TYPE_CHECKING:
    import pandas as pd

CURVE_METRIC = "loss"  # the learning curves' metric: the tasks' baselines are losses


class NoRuns(ConfigError):
    """The directory exists but holds no run yet."""


@dataclass
class Report:
    root: Path
    runs: pd.DataFrame  # seqlab.results.load: one row per (run, seed)
    metrics: pd.DataFrame  # seqlab.results.load_metrics: every metrics.jsonl row
    series: dict[str, str]  # run path -> its series label (model + the settings that vary)
    colours: dict[str, str]  # model -> colour
    diffs: dict[str, dict[str, Any]]  # run path -> {config key: value} that differ from base
    base_source: str  # where the base config of the diffs comes from, in words
    unreadable_lines: dict[str, int] = field(default_factory=dict)  # run path -> lines skipped
    skipped_runs: list[str] = field(default_factory=list)  # why unreadable runs were left out
    note: str = ""  # what the sweep's results show, in words (its sweep file's NOTE)
    cache: dict = field(default_factory=dict, repr=False)  # derived frames, computed once
    settings: dict[str, str] = field(default_factory=dict)  # run path -> its varied settings


def collect(path: str | Path) -> Report:
    """Everything the dashboard shows about the runs below `path`.

    Raises ConfigError when `path` is missing or not a directory, NoRuns when it holds no
    run. Runs that cannot be read and unreadable metrics lines are left out and counted.
    """
    root = check_directory(path)
    if not find_runs(root):
        raise NoRuns(
            f"no seqlab runs under {str(root)!r} yet (no run directory with summary.json); "
            "start one with `seqlab sweep FILE --workdir DIR` or `seqlab train`"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RunSkipped)
        runs = load(root)
        metrics = load_metrics(root)
    skipped = sorted({str(w.message) for w in caught if "skipping run" in str(w.message)})
    if not len(runs):
        raise NoRuns(f"no readable seqlab run under {str(root)!r}: " + "; ".join(skipped))
    configs = _configs(runs)
    base, source = _base(root, configs)
    return Report(
        root=root,
        runs=runs,
        metrics=metrics,
        series=_per_task(runs, series_labels),
        settings=_per_task(runs, settings),
        colours=_colours(runs),
        diffs={p: _diff(c, base.get(p, {})) for p, c in configs.items()},
        base_source=source,
        unreadable_lines=dict(metrics.attrs.get("unreadable_lines", {})),
        skipped_runs=skipped,
        note=sweep_note(root),
    )


# Plotly's default qualitative palette, then D3's: distinct colours for up to 20 models.
PALETTE = [
    "#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880",
    "#ff97ff", "#fecb52", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip


def _colours(runs: pd.DataFrame) -> dict[str, str]:
    models = sorted(runs["model"].dropna().astype(str).unique())
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def _per_task(runs: pd.DataFrame, label) -> dict[str, str]:
    """`label(runs of one task)` for every task: a task's figures share its series."""
    out = {}
    for _, task_runs in runs.groupby("task", dropna=False, sort=False):
        out.update(label(task_runs))
    return out


def _configs(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    cfg_cols = [c for c in runs.columns if c.startswith("cfg.")]
    first = runs.drop_duplicates("path").set_index("path")
    return {
        path: {c.removeprefix("cfg."): _plain(row[c]) for c in cfg_cols}
        for path, row in first.iterrows()
    }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def sweep_note(root: Path) -> str:
    """The NOTE of the sweep whose workdir is `root` (sweep.json), or ""."""
    try:
        return str(json.loads((Path(root) / MANIFEST).read_text()).get("note") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def _base(root: Path, configs: dict[str, dict]) -> tuple[dict[str, dict], str]:
    """The base config of each run (flattened), and where it comes from, in words.

    A run listed in its sweep's manifest (sweep.json beside it, written by `seqlab sweep`) is
    compared with the config file its sweep entry started from; other runs with the values
    all runs share.
    """
    shared = _shared(list(configs.values()))
    bases, from_sweep = {}, 0
    for path in configs:
        base = _sweep_base(Path(path))
        if base is not None:
            from_sweep += 1
        bases[path] = base if base is not None else shared
    if from_sweep == len(configs):
        return bases, "the sweep's base config file (sweep.json)"
    if from_sweep:
        return bases, "the sweep's base config file, or the values all runs share"
    return bases, "the values all runs share"


def _shared(configs: list[dict]) -> dict:
    if not configs:
        return {}
    first = configs[0]
    return {k: v for k, v in first.items() if all(c.get(k, object()) == v for c in configs)}


_MANIFESTS: dict[Path, tuple[float, dict | None]] = {}


def _read_manifest(path: Path) -> dict | None:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _MANIFESTS.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        manifest = json.loads(path.read_text())
        manifest = manifest if isinstance(manifest, dict) else None
    except (OSError, ValueError):
        manifest = None
    _MANIFESTS[path] = (mtime, manifest)
    return manifest


def _sweep_base(run_dir: Path) -> dict | None:
    manifest = _read_manifest(run_dir.parent / MANIFEST)
    if not manifest or not isinstance(manifest.get("bases"), dict):
        return None
    for entry in manifest.get("runs", []):
        if isinstance(entry, dict) and entry.get("dir") == run_dir.name:
            base = manifest["bases"].get(entry.get("base"))
            return flatten(base) if isinstance(base, dict) else None
    return None


def _diff(config: dict, base: dict) -> dict:
    missing = object()
    return {k: v for k, v in sorted(config.items()) if base.get(k, missing) != v}


# ---- frames the figures draw ---------------------------------------------------------------


def seed_curves(report: Report, metric: str = CURVE_METRIC) -> pd.DataFrame:
    """Each seed's held-out curve, as evaluated, and carried on where the seed stopped.

    Columns: task, length, series, model, path, seed, step, value, carried. A seed that
    stopped when solved (`train.stop_when_solved`) is frozen: its last evaluation stands for
    it at the later steps at which other seeds of its series were evaluated (carried=True), so
    the mean over seeds does not become a mean over the seeds still training. Seeds that
    diverged, or are still running, are not carried.
    """
    key = ("seed_curves", metric)
    if key not in report.cache:
        report.cache[key] = _seed_curves(report, metric)
    return report.cache[key]


def _seed_curves(report: Report, metric: str) -> pd.DataFrame:
    import pandas as pd

    m = report.metrics
    columns = ["task", "length", "series", "model", "path", "seed", "step", "value", "carried"]
    if not len(m) or metric not in m or "split" not in m:
        return pd.DataFrame(columns=columns)
    rows = m[(m["split"] == "eval") & m[metric].notna()].copy()
    rows["series"] = rows["path"].map(report.series)
    rows = rows.rename(columns={metric: "value"}).assign(carried=False)[columns]
    runs = report.runs
    stopped = runs[runs["stopped_at"].notna() & runs["diverged_at"].isna()]
    frozen = set(zip(stopped["path"], stopped["seed"], strict=True))
    parts = []
    for _, group in rows.groupby(["task", "length", "series"], dropna=False, sort=False):
        steps = sorted(group["step"].unique())
        parts.append(group)
        for (path, seed), curve in group.groupby(["path", "seed"], sort=False):
            if (path, seed) not in frozen:
                continue
            last = curve.loc[curve["step"].idxmax()]
            later = [s for s in steps if s > last["step"]]
            if later:
                parts.append(pd.DataFrame([{**last, "step": s, "carried": True} for s in later]))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return out.sort_values(["task", "length", "series", "path", "seed", "step"], kind="stable")


def curve_bands(report: Report, metric: str = CURVE_METRIC) -> pd.DataFrame:
    """The seeds' curves (`seed_curves`), mean and 95% Student-t half-width at each step.

    Columns: task, length, series, model, step, mean, ci (NaN with one seed), seeds, carried
    (how many of the seeds had stopped and count with their last evaluation).
    """
    key = ("curve_bands", metric)
    if key not in report.cache:
        report.cache[key] = _curve_bands(report, metric)
    return report.cache[key]


def _curve_bands(report: Report, metric: str) -> pd.DataFrame:
    import numpy as np

    curves = seed_curves(report, metric)
    keys = ["task", "length", "series", "model", "step"]
    grouped = curves.groupby(keys, dropna=False)
    out = grouped["value"].agg(["mean", "std", "count"]).reset_index()
    out["carried"] = grouped["carried"].sum().to_numpy(dtype=int)
    n = out["count"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = t_quantile(np.maximum(n - 1, 1))
        out["ci"] = np.where(n > 1, t * out["std"].to_numpy(dtype=float) / np.sqrt(n), np.nan)
    out = out.rename(columns={"count": "seeds"})
    columns = [*keys, "mean", "ci", "seeds", "carried"]
    return out[columns].sort_values(["task", "length", "series", "step"], kind="stable")


def by_configuration(report: Report) -> pd.DataFrame:
    """seqlab.results.aggregate per (task, length, series): the comparison and the heatmap."""
    if "by_configuration" not in report.cache:
        runs = report.runs.copy()
        runs["series"] = runs["path"].map(report.series)
        report.cache["by_configuration"] = aggregate(runs, by=["task", "length", "series", "model"])
    return report.cache["by_configuration"]


def baselines(report: Report) -> dict[tuple[str, int], float]:
    """(task, length) -> chance-level loss, where the runs recorded one."""
    out = {}
    first = report.runs.drop_duplicates(["task", "length"])
    for _, row in first.iterrows():
        value = row.get("baseline")
        if isinstance(value, int | float) and math.isfinite(value):
            out[(row["task"], row["length"])] = float(value)
    return out


def runs_table(report: Report) -> list[dict[str, Any]]:
    """One row per run directory: what the dashboard's runs table lists."""
    runs = report.runs
    table = aggregate(runs, by=["path"])
    first = runs.drop_duplicates("path").set_index("path")
    rows = []
    for _, agg in table.iterrows():
        path = agg["path"]
        seeds = runs[runs["path"] == path]
        diverged = seeds[seeds["diverged_at"].notna()]
        rows.append(
            {
                "path": path,
                "run": first.at[path, "run"],
                "task": first.at[path, "task"],
                "length": first.at[path, "length"],
                "model": first.at[path, "model"],
                "series": report.series.get(path, first.at[path, "model"]),
                "status": agg["status"],
                "seeds": int(agg["seeds"]),
                "params": agg["params"],
                "tokens_per_s": agg["tokens_per_s"],
                "metric": agg["metric"],
                "metric_mode": first.at[path, "criterion_mode"],
                "best": agg["best_mean"],
                "best_ci": agg["best_ci"],
                "solved": f"{round(agg['solved'] * agg['seeds'])}/{int(agg['seeds'])}",
                "diverged": [
                    (int(r["seed"]), int(r["diverged_at"])) for _, r in diverged.iterrows()
                ],
                "step": first.at[path, "step"],
                "steps": first.at[path, "steps"],
                "unreadable_lines": report.unreadable_lines.get(path, 0),
                "diff": report.diffs.get(path, {}),
            }
        )
    return rows
