"""Seeds into one row per configuration: means with Student-t 95% confidence intervals.

A configuration is (task, length, model) plus every config field that varies within the
frame, except the seed fields and fields that cannot change a result (tracking, checkpoint
cadence, evaluation cadence). So a sweep's learning-rate grid becomes an `cfg.optim.lr`
group key without being named.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

from seqlab.config import ConfigError

if TYPE_CHECKING:
    import pandas as pd

BASE_KEYS = ("task", "length", "model")
# Columns never used as group keys: seeds are what is aggregated; the rest record or label a
# run without changing its numbers (task.name, task.length and model.name are BASE_KEYS).
NOT_KEYS = ("cfg.train.seed", "cfg.train.seeds", "cfg.eval.every", "cfg.eval.lengths",
            "cfg.task.name", "cfg.task.length", "cfg.model.name")  # fmt: skip
NOT_KEY_PREFIXES = ("cfg.track.", "cfg.checkpoint.")
CONFIDENCE = 0.95


def _built_instead(df: pd.DataFrame) -> set[str]:
    """Configured size columns that the built size (`built.*`, recorded by every run) replaces:
    `model.hidden` is not what a `model.size=tiny` run built."""
    built = [c for c in df.columns if c.startswith("built.")]
    always = ("built.hidden", "built.layers")  # every model has them; heads only some
    if not all(c in df and df[c].notna().all() for c in always):
        return set()
    return {"cfg.model.size"} | {f"cfg.model.{c.removeprefix('built.')}" for c in built}


def group_keys(df: pd.DataFrame) -> list[str]:
    """(task, length, model) and the cfg.* (and built.*) columns whose value varies in `df`.

    Where every run recorded its built size, the built width and depth stand for the
    configured `model.size`, `model.hidden`, `model.layers`, `model.embed_dim`, `model.heads`.
    """
    replaced = _built_instead(df)
    prefixes = ("cfg.", "built.") if replaced else ("cfg.",)
    varying = [
        c
        for c in df.columns
        if c.startswith(prefixes)
        and c not in NOT_KEYS
        and c not in replaced
        and not c.startswith(NOT_KEY_PREFIXES)
        and df[c].nunique(dropna=False) > 1
    ]
    return [*BASE_KEYS, *sorted(varying)]


def t_quantile(dof):
    """Student t's two-sided CONFIDENCE quantile for `dof` degrees of freedom (array-like)."""
    from scipy.special import stdtrit  # imported here, like pandas: see the package docstring

    return stdtrit(dof, 0.5 + CONFIDENCE / 2)


def mean_ci(values) -> tuple[float, float]:
    """Mean and the half-width of its 95% Student-t interval (n-1 dof) over finite values.

    One value has no interval (NaN); no values give (NaN, NaN).
    """
    import numpy as np

    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), math.nan
    half = t_quantile(len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(half)


def metrics_in(df: pd.DataFrame) -> list[str]:
    """Names of the metrics with a final value somewhere in `df`."""
    return sorted(c[len("final.") :] for c in df.columns if c.startswith("final."))


def _column(group: pd.DataFrame, name: str) -> pd.Series:
    import pandas as pd

    return group[name] if name in group else pd.Series(math.nan, index=group.index)


def _status(statuses: pd.Series) -> str:
    counts = statuses.fillna("unknown").value_counts()
    if len(counts) == 1:
        return str(counts.index[0])
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def _per_run_mean(group: pd.DataFrame, column: str) -> float:
    # Run-level values (parameters, the program's tokens/s) are repeated on each seed's row:
    # average over runs, so a 3-seed program does not count three times.
    values = group.drop_duplicates("path")[column] if "path" in group else group[column]
    values = values[values.map(lambda v: isinstance(v, int | float))].astype(float).dropna()
    return float(values.mean()) if len(values) else math.nan


def _summarise(group: pd.DataFrame, metric: str | None) -> dict:
    name = metric or next((c for c in _column(group, "criterion").dropna()), None) or "loss"
    diverged = _column(group, "diverged_at").notna()
    # A diverged seed's last recorded evaluation predates its divergence; it is not a final
    # result, so final means are over the seeds that did not diverge (best values stay).
    final = _column(group, f"final.{name}").where(~diverged)
    final_loss = _column(group, "final.loss").where(~diverged)
    solved = _column(group, "solved").fillna(False).astype(bool)
    solved_at = _column(group, "solved_at")[solved].dropna()
    out = {"metric": name, "seeds": len(group)}
    for label, values in (
        ("final", final),
        ("best", _column(group, f"best.{name}")),
        ("final_loss", final_loss),
        ("best_loss", _column(group, "best.loss")),
    ):
        out[f"{label}_mean"], out[f"{label}_ci"] = mean_ci(values.tolist())
    for length in eval_lengths(group, name):  # length generalisation (eval.lengths)
        final_at = _column(group, f"final@{length}.{name}").where(~diverged)
        out[f"final@{length}_mean"], out[f"final@{length}_ci"] = mean_ci(final_at.tolist())
        best_at = _column(group, f"best@{length}.{name}")
        out[f"best@{length}_mean"], out[f"best@{length}_ci"] = mean_ci(best_at.tolist())
    if "deletang_score" in group:  # Delétang et al.'s score (seqlab.results.protocols)
        from seqlab.results.protocols import deletang_lengths, lengths_text

        score = group["deletang_score"].where(~diverged)
        out["deletang_mean"], out["deletang_ci"] = mean_ci(score.tolist())
        out["deletang_max"] = float(score.max()) if score.notna().any() else math.nan
        out["deletang_lengths"] = lengths_text(deletang_lengths(group))
    sequences = _column(group, "solved_sequences")[solved].dropna()
    out["sequences_to_solve_mean"], out["sequences_to_solve_ci"] = mean_ci(sequences.tolist())
    out.update(
        solved=float(solved.mean()) if len(group) else math.nan,
        solved_seeds=int(solved.sum()),
        steps_to_solve=float(solved_at.median()) if len(solved_at) else math.nan,
        sequences_to_solve=float(sequences.median()) if len(sequences) else math.nan,
        budget_sequences=float(_column(group, "budget_sequences").max()),
        diverged=int(diverged.sum()),
        params=_per_run_mean(group, "params"),
        state_size=_per_run_mean(group, "state_size"),
        tokens_per_s=_per_run_mean(group, "tokens_per_s"),
        status=_status(_column(group, "status")),
        runs=int(group["path"].nunique()) if "path" in group else math.nan,
    )
    return out


def aggregate(
    df: pd.DataFrame, by: list[str] | None = None, metric: str | None = None
) -> pd.DataFrame:
    """One row per configuration (see `group_keys`, or the columns `by`) of a `load` frame.

    Per group: metric (the one summarised: `metric`, else the task's criterion metric),
    seeds, final_mean/final_ci and best_mean/best_ci of that metric, the same for the loss
    (final_loss_*, best_loss_*), solved (fraction of seeds), solved_seeds, steps_to_solve and
    sequences_to_solve (medians over the solved seeds; NaN if none), sequences_to_solve_mean
    and _ci (over the solved seeds), budget_sequences (the most any seed could train: steps x
    batch, so an unsolved seed is reported at its budget), diverged (seeds), params, state_size
    (numbers carried per sequence) and tokens_per_s (means over runs),
    status (of the seeds) and runs; for runs that evaluated other task lengths (eval.lengths),
    final@<L>_mean/_ci and best@<L>_mean/_ci of the metric at each length L, and where some
    of those lengths lie above the training length and recorded accuracy, Delétang et al.'s
    score (`seqlab.results.protocols.deletang_score`: plain final accuracy averaged over those
    lengths, per seed): deletang_mean/_ci, deletang_max (over seeds), deletang_lengths (the
    lengths averaged, as text). `*_ci` is the half-width of the 95% Student-t interval; final
    values (and the Delétang score) leave out diverged seeds.
    """
    import pandas as pd

    from seqlab.results.protocols import deletang_score

    if metric is not None and metric not in metrics_in(df):
        valid = ", ".join(metrics_in(df)) or "none recorded yet"
        raise ConfigError(f"unknown metric {metric!r}; valid choices: {valid}")
    keys = list(by) if by is not None else group_keys(df)
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise ConfigError(
            f"cannot group by {', '.join(missing)}: not a column; columns: {', '.join(df.columns)}"
        )
    scores = deletang_score(df)
    if scores.notna().any():
        df = df.assign(deletang_score=scores)
    rows = []
    if len(df):
        for values, group in df.groupby(keys, dropna=False, sort=False):
            rows.append({**dict(zip(keys, values, strict=True)), **_summarise(group, metric)})
    out = pd.DataFrame(rows, columns=None if rows else [*keys, "metric", "seeds"])
    if len(out):
        # A key column mixing types (str and int) cannot be sorted: keep the frame's order.
        with contextlib.suppress(TypeError):
            out = out.sort_values(keys, kind="stable", na_position="last")
    return out.reset_index(drop=True)


def eval_lengths(df: pd.DataFrame, metric: str) -> list[int]:
    """The other task lengths at which `metric` was recorded in `df` (final@<L>.<metric>)."""
    found = [c for c in df.columns if c.startswith("final@") and c.endswith(f".{metric}")]
    return sorted(int(c[len("final@") :].split(".")[0]) for c in found if df[c].notna().any())
