"""The papers' reporting protocols, computed from `load()`'s per-seed frame.

**Best over a grid** (`best_over`): the runs of one configuration differ in a swept setting
(a learning-rate grid) and the result is the best over it. Two numbers, both reported:

- the grid value whose mean final metric over seeds is best (max for accuracies and scores,
  min for losses: `seqlab.tasks.base.metric_mode`), with that setting's mean ± 95% CI, solved
  fraction and every other `aggregate` column: what a study that tunes the setting reports;
- the best single value over the grid and the seeds (`best_single`): what Zoology's Fig. 2
  plots. Their plot (HazyResearch/zoology, zoology/analysis/paper/zoology_paper/
  zoology_figure2.py; zoology/analysis/paper/figure2.py when the figure was made) takes
  `df.groupby([mixer, d_model, seq_len])["valid/accuracy"].max()` over W&B run summaries,
  one run per learning rate (and one seed, 123). A W&B summary holds the last value logged,
  and zoology/train.py logs valid/accuracy after every epoch and stops after the epoch where
  it exceeds 0.99: so per run it is the *final* validation accuracy (at the early stop, or
  after the last epoch), not the best during training. `best_single` is therefore the best
  `final.<metric>` of any seed at any grid value.

**Delétang et al. 2023's score** (`deletang_score`): google-deepmind/
neural_networks_chomsky_hierarchy evaluates the *final* parameters at every length 1..M
(experiments/range_evaluation.py: 512 sequences a length), and the score of a run is the plain
accuracy (not rescaled) averaged over the lengths above the training range; the paper's test
lengths are 41..500 for training lengths 1..40, and it reports the maximum over seeds and
learning rates (experiments/example.py prints the mean of `accuracies[41:]`, i.e. lengths 42..M:
its slice skips length 41). seqlab evaluates the lengths in `eval.lengths` only, so its
`deletang_score` is the mean of `final@<L>.accuracy` over the evaluated L above the training
length `task.length`: Delétang's score exactly when `eval.lengths` covers T+1..500, an estimate
from fewer lengths otherwise (the lengths used are named). seqlab's formal-language `score`
metric is another quantity: accuracy rescaled so chance is 0.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

from seqlab.config import ConfigError
from seqlab.results.aggregate import (
    NOT_KEY_PREFIXES,
    NOT_KEYS,
    _built_instead,
    aggregate,
    group_keys,
    metrics_in,
)

if TYPE_CHECKING:
    import pandas as pd

DELETANG_METRIC = "accuracy"  # plain accuracy, as Delétang et al. score
SEED_FIELDS = ("cfg.train.seed", "cfg.train.seeds")


# ---- Delétang et al.'s score ----------------------------------------------------------------


def length_columns(df: pd.DataFrame, metric: str = DELETANG_METRIC) -> list[tuple[int, str]]:
    """(L, column) of every final@<L>.<metric> column of `df`, by L."""
    out = []
    for c in df.columns:
        if c.startswith("final@") and c.endswith(f".{metric}"):
            length = c[len("final@") : -len(metric) - 1]
            if length.isdigit():
                out.append((int(length), c))
    return sorted(out)


def deletang_score(df: pd.DataFrame, metric: str = DELETANG_METRIC) -> pd.Series:
    """Per seed (row of a `load` frame): the mean final `metric` (Delétang et al.: accuracy)
    over the evaluated lengths above that run's training length (`length`, the task's T); NaN
    where none was evaluated."""
    import numpy as np
    import pandas as pd

    columns = length_columns(df, metric)
    if not columns or not len(df):
        return pd.Series(math.nan, index=df.index, name="deletang_score", dtype=float)
    trained = pd.to_numeric(df["length"], errors="coerce").to_numpy(dtype=float)
    values = np.stack([df[c].to_numpy(dtype=float) for _, c in columns], axis=1)
    above = np.array([n for n, _ in columns], dtype=float)[None, :] > trained[:, None]
    values = np.where(above, values, np.nan)
    counted = np.isfinite(values).sum(axis=1)
    with np.errstate(invalid="ignore"):
        score = np.where(counted > 0, np.nansum(values, axis=1) / np.maximum(counted, 1), np.nan)
    return pd.Series(score, index=df.index, name="deletang_score")


def deletang_lengths(df: pd.DataFrame, metric: str = DELETANG_METRIC) -> list[int]:
    """The evaluated lengths that enter some row's `deletang_score(df, metric)`."""
    import pandas as pd

    if not len(df):
        return []
    trained = pd.to_numeric(df["length"], errors="coerce")
    return [n for n, c in length_columns(df, metric) if (df[c].notna() & (n > trained)).any()]


def lengths_text(lengths: list[int]) -> str:
    """ "41..500" for a run of consecutive lengths, else "64, 128, 256"."""
    if len(lengths) > 2 and lengths == list(range(lengths[0], lengths[-1] + 1)):
        return f"{lengths[0]}..{lengths[-1]}"
    return ", ".join(str(n) for n in lengths)


# ---- best over a grid -----------------------------------------------------------------------


def grid_columns(df: pd.DataFrame, fields: str | list[str] | tuple[str, ...]) -> list[str]:
    """The frame columns of grid `fields` ("optim.lr" or "cfg.optim.lr"); ConfigError (one
    line) for a field that is not a config field, does not change results, or does not vary."""
    fields = [fields] if isinstance(fields, str) else list(fields)
    if not fields:
        raise ConfigError("best over a grid needs at least one config field, e.g. optim.lr")
    varying = sorted(
        c.removeprefix("cfg.")
        for c in df.columns
        if c.startswith("cfg.")
        and c not in (*NOT_KEYS, *SEED_FIELDS)
        and not c.startswith(NOT_KEY_PREFIXES)
        and df[c].nunique(dropna=False) > 1
    )
    hint = f"valid choices (the fields that vary in these runs): {', '.join(varying) or 'none'}"
    out = []
    for field in fields:
        name = field.strip().removeprefix("cfg.")
        column = f"cfg.{name}"
        if column not in df.columns:
            raise ConfigError(f"--best-over {field!r} is not a config field; {hint}")
        if column in SEED_FIELDS:
            raise ConfigError(
                f"--best-over {name}: seeds are what the mean is over, and best_single is "
                f"already the best over seeds; {hint}"
            )
        if column in NOT_KEYS or column.startswith(NOT_KEY_PREFIXES):
            raise ConfigError(f"--best-over {name} does not change a result; {hint}")
        values = df[column].drop_duplicates().tolist()
        if len(values) < 2:
            from seqlab.results.labels import format_value

            shown = format_value(values[0]) if values else "none"
            raise ConfigError(f"--best-over {name} takes one value ({shown}) in these runs; {hint}")
        if column not in out:
            out.append(column)
    return out


def _keys(df: pd.DataFrame, grid: list[str]) -> list[str]:
    """`group_keys` without the grid; a grid over a model field (model.hidden) also frees the
    built sizes it determines, and the configured model fields stand for them."""
    keys = group_keys(df)
    built = [k for k in keys if k.startswith("built.")]
    if built and any(c.startswith("cfg.model.") for c in grid):
        keys = [k for k in keys if k not in built]
        keys += sorted(c for c in _built_instead(df) if c in df and df[c].nunique(dropna=False) > 1)
    return [k for k in keys if k not in grid]


def mode_of(metric: str, criterion: str | None, criterion_mode: str | None) -> str:
    """ "max" or "min": the criterion's own mode for the criterion's metric, else by name."""
    if metric == criterion and criterion_mode in ("max", "min"):
        return str(criterion_mode)
    from seqlab.tasks.base import metric_mode

    return metric_mode(metric)


def pick_best(values: pd.Series, mode: str):
    """Index of the best finite value (the first of equals, so the grid's order decides
    ties), or None when there is none."""
    finite = values[values.notna()].astype(float)
    if not len(finite):
        return None
    return finite.idxmax() if mode == "max" else finite.idxmin()


def _where(row: pd.Series, grid: list[str]) -> str:
    from seqlab.results.labels import format_value

    parts = [f"{c.removeprefix('cfg.')}={format_value(row[c])}" for c in grid]
    seed = row.get("seed")
    return ", ".join([*parts, f"seed={format_value(seed)}"] if seed is not None else parts)


def _grid_text(points: pd.DataFrame, grid: list[str]) -> str:
    from seqlab.results.labels import format_value

    if len(grid) == 1:
        return ", ".join(format_value(v) for v in points[grid[0]])
    return "; ".join(
        ", ".join(f"{c.removeprefix('cfg.')}={format_value(r[c])}" for c in grid)
        for _, r in points.iterrows()
    )


def best_over(
    df: pd.DataFrame,
    fields: str | list[str] | tuple[str, ...],
    metric: str | None = None,
    by: list[str] | None = None,
) -> pd.DataFrame:
    """One row per configuration without the grid `fields`: the best grid point and the best
    single seed (module docstring).

    `df` is a `load()` frame; `fields` one config field or several (a joint grid), written
    "optim.lr" or "cfg.optim.lr"; `metric` as in `aggregate` (default: the task's criterion
    metric); `by` the group columns (default: `aggregate`'s group keys without the grid).
    Columns: the group keys; each grid column (`cfg.optim.lr`) holding the best value; every
    `aggregate` column of that grid point (seeds, final_mean, final_ci, solved, ...); then
    grid_points (how many values the group ran), grid_values (them, as text), best_single
    (the best final metric of any seed at any grid value) and best_single_at (where:
    "optim.lr=0.001, seed=2"), and, where runs evaluated lengths beyond their training length,
    deletang_best and deletang_best_at (Delétang et al.'s reported number: the best
    `deletang_score` over the grid and the seeds). Raises ConfigError for a bad field.
    """
    import pandas as pd

    if metric is not None and metric not in metrics_in(df):
        valid = ", ".join(metrics_in(df)) or "none recorded yet"
        raise ConfigError(f"unknown metric {metric!r}; valid choices: {valid}")
    grid = grid_columns(df, fields)
    keys = list(by) if by is not None else _keys(df, grid)
    seeds = df.assign(deletang_score=deletang_score(df))
    rows = []
    for values, group in seeds.groupby(keys, dropna=False, sort=False):
        head = dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True))
        points = aggregate(group.drop(columns="deletang_score"), by=grid, metric=metric)
        name = str(points["metric"].iloc[0])
        first = group.iloc[0]
        mode = mode_of(name, first.get("criterion"), first.get("criterion_mode"))
        best = pick_best(points["final_mean"], mode)
        if best is None:  # nothing finished: the group is listed, with no best value
            row = {**head, **dict.fromkeys(grid), "metric": name, "seeds": len(group)}
        else:
            row = {**head, **points.loc[best].to_dict()}
        row.update(grid_points=len(points), grid_values=_grid_text(points, grid))
        finished = group[group["diverged_at"].isna()] if "diverged_at" in group else group
        final = f"final.{name}"
        at = pick_best(finished[final], mode) if final in finished else None
        row["best_single"] = math.nan if at is None else float(finished.at[at, final])
        row["best_single_at"] = "" if at is None else _where(finished.loc[at], grid)
        if seeds["deletang_score"].notna().any():
            at = pick_best(finished["deletang_score"], "max")
            row["deletang_best"] = math.nan if at is None else finished.at[at, "deletang_score"]
            row["deletang_best_at"] = "" if at is None else _where(finished.loc[at], grid)
        rows.append(row)
    out = pd.DataFrame(rows)
    if not len(out):
        return pd.DataFrame(columns=[*keys, *grid, "metric", "seeds"])
    # a key column mixing types (str and int) cannot be sorted: keep the frame's order
    with contextlib.suppress(TypeError):
        out = out.sort_values(keys, kind="stable", na_position="last")
    return out.reset_index(drop=True)
