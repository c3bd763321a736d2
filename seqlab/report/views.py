"""Which figures the data supports, and the table that goes with each.

`views(report)` lists the dashboard's figures in page order, each a `View`: a figure kind (its
page section) and the task, length and swept setting it shows. Only figures that fit the data
are listed: against T only for a task run at several T; length generalisation only where runs
evaluated other lengths (`eval.lengths`); the metric against state size only where the runs of
one (task, T) that recorded their state size (older runs did not) have two or more sizes; a
hyper-parameter view only for a setting that takes several values for one model at one
(task, T). The page, `seqlab figures` and notebooks/analysis.ipynb all draw from this list.

`table(report, view)` is the view's numbers as text (no NaN: "–" where there is no value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from seqlab.report.data import CURVE_METRIC, Report, by_configuration, curve_bands
from seqlab.results.aggregate import aggregate, eval_lengths
from seqlab.results.labels import applies, format_value, series_labels, short, varied_keys

if TYPE_CHECKING:
    import pandas as pd

# (section id, heading) in page order.
SECTIONS = (
    ("curves", "Learning curves"),
    ("sequences", "Sequences to solve"),
    ("comparison", "Loss against sequence length"),
    ("solved", "Seeds solved, per length"),
    ("state", "Metric against state size"),
    ("lengths", "Length generalisation"),
    ("hyper", "Hyper-parameters"),
)


@dataclass(frozen=True)
class View:
    section: str  # one of SECTIONS
    task: str
    length: int | None = None  # the training length, for views of one (task, T)
    key: str | None = None  # the swept setting (a frame column) of a hyper-parameter view

    @property
    def name(self) -> str:
        """A file-name stem: `curves-copy-T10`, `hyper-adding-T20-lr`."""
        parts = [self.section, self.task]
        if self.length is not None:
            parts.append(f"T{self.length}")
        if self.key is not None:
            parts.append(short(self.key))
        return "-".join("".join(c if c.isalnum() or c in "._" else "_" for c in p) for p in parts)


def views(report: Report, section: str | None = None) -> list[View]:
    """The figures the runs support, in page order (of one `section` if given)."""
    runs = report.runs
    pairs = sorted(
        {(t, int(n)) for t, n in zip(runs["task"], runs["length"], strict=True) if t == t}
    )
    tasks = sorted({t for t, _ in pairs})
    several = [t for t in tasks if sum(1 for u, _ in pairs if u == t) > 1]
    curves = curve_bands(report)
    drawn = set(zip(curves["task"], curves["length"], strict=True))
    out = [View("curves", t, n) for t, n in pairs if (t, n) in drawn]
    out += [View("sequences", t) for t in tasks if _has_outcome(runs[runs["task"] == t])]
    out += [View("comparison", t) for t in several]
    out += [View("solved", t) for t in several]
    out += [View("state", t, n) for t, n in pairs if _state_sizes(report, View("state", t, n)) > 1]
    for t, n in pairs:
        at = runs[(runs["task"] == t) & (runs["length"] == n)]
        metric = _metric(at)
        if metric and eval_lengths(at, metric):
            out.append(View("lengths", t, n))
    for t, n in pairs:
        at = runs[(runs["task"] == t) & (runs["length"] == n)]
        out += [View("hyper", t, n, k) for k in swept_keys(at)]
    return [v for v in out if section is None or v.section == section]


def finished_unsolved(runs: pd.DataFrame) -> pd.Series:
    """Seeds that ended without solving (a running seed may still solve)."""
    return ~runs["solved"].astype(bool) & (runs["status"] != "running")


def _has_outcome(runs: pd.DataFrame) -> bool:
    """Some seed solved, or ended unsolved with a known budget: sequences to solve draws it."""
    ended = finished_unsolved(runs) & runs["budget_sequences"].notna()
    return bool(runs["solved"].astype(bool).any() or ended.any())


def _state_sizes(report: Report, view: View) -> int:
    """How many state sizes the metric-against-state-size figure of `view` would show."""
    return state_frame(report, view)["state_size"].nunique()


def _metric(runs: pd.DataFrame) -> str | None:
    values = runs["criterion"].dropna() if "criterion" in runs else ()
    return str(values.iloc[0]) if len(values) else None


def swept_keys(runs: pd.DataFrame) -> list[str]:
    """The settings that one model runs with several values of, among `runs` (one task and T)."""
    first = runs.drop_duplicates("path")
    out = []
    for key in varied_keys(first):
        for model, mine in first.groupby("model", sort=False):
            values = {format_value(v) for v in mine[key] if applies(model, key, v)}
            if len(values) > 1:
                out.append(key)
                break
    return out


# ---- the tables ---------------------------------------------------------------------------


def _pm(mean, ci, spec: str = ".4g") -> str:
    """ "mean ± ci"; the mean alone without an interval (one seed); "–" without a mean."""
    if mean is None or mean != mean:
        return "–"
    if ci is None or ci != ci:
        return format(mean, spec)
    return f"{mean:{spec}} ± {ci:{',.0f' if spec == ',.0f' else '.2g'}}"


def _count(value) -> str:
    return "–" if value is None or value != value else f"{value:,.0f}"


def table(report: Report, view: View) -> pd.DataFrame:
    """The numbers of `view`'s figure, as text."""
    return {
        "curves": curves_table,
        "sequences": sequences_table,
        "comparison": comparison_table,
        "solved": comparison_table,
        "state": state_table,
        "lengths": lengths_table,
        "hyper": hyper_table,
    }[view.section](report, view)


def _configurations(report: Report, view: View) -> pd.DataFrame:
    table = by_configuration(report)
    table = table[table["task"] == view.task]
    if view.length is not None:
        table = table[table["length"] == view.length]
    return table


def curves_table(report: Report, view: View) -> pd.DataFrame:
    """Per series: seeds, final and best held-out loss and metric, seeds solved, median step
    at which they solved."""
    import pandas as pd

    rows = []
    for r in _configurations(report, view).to_dict("records"):
        metric = r["metric"]
        rows.append(
            {
                "series": r["series"],
                "seeds": str(r["seeds"]),
                f"final {CURVE_METRIC}": _pm(r["final_loss_mean"], r["final_loss_ci"]),
                f"best {CURVE_METRIC}": _pm(r["best_loss_mean"], r["best_loss_ci"]),
                **(
                    {}
                    if metric == CURVE_METRIC
                    else {f"final {metric}": _pm(r["final_mean"], r["final_ci"])}
                ),
                "solved": f"{r['solved_seeds']}/{r['seeds']}",
                "steps to solve (median)": _count(r["steps_to_solve"]),
                "settings": _settings(report, view, r["series"]),
            }
        )
    return pd.DataFrame(rows)


def _settings(report: Report, view: View, series: str) -> str:
    runs = report.runs
    at = runs[(runs["task"] == view.task) & (runs["path"].map(report.series) == series)]
    if view.length is not None:
        at = at[at["length"] == view.length]
    return "; ".join(sorted({report.settings.get(p, "") for p in at["path"]} - {""})) or "–"


def sequences_table(report: Report, view: View) -> pd.DataFrame:
    """Per series and T: seeds solved, training sequences to solve (median, and mean ± 95% CI
    over the solved seeds), and the budget an unsolved seed had."""
    import pandas as pd

    rows = []
    table = _configurations(report, view).sort_values(["series", "length"], kind="stable")
    runs = report.runs[report.runs["task"] == view.task]
    running = runs[runs["status"] == "running"]
    running = running.groupby([running["path"].map(report.series), "length"]).size().to_dict()
    for r in table.to_dict("records"):
        unsolved = r["seeds"] - r["solved_seeds"]
        still = running.get((r["series"], r["length"]), 0)
        budget = f"> {_count(r['budget_sequences'])}" if unsolved > still else "–"
        rows.append(
            {
                "series": r["series"],
                "T": str(r["length"]),
                "solved": f"{r['solved_seeds']}/{r['seeds']}",
                "sequences to solve (median)": _count(r["sequences_to_solve"]),
                "mean ± 95% CI": _pm(
                    r["sequences_to_solve_mean"], r["sequences_to_solve_ci"], ",.0f"
                ),
                "unsolved: budget": budget + (f" ({still} running)" if still else ""),
            }
        )
    return pd.DataFrame(rows)


def comparison_table(report: Report, view: View) -> pd.DataFrame:
    """Per series: final held-out loss (mean ± 95% CI) and seeds solved, a column per T."""
    import pandas as pd

    table = _configurations(report, view)
    out = {}
    for r in table.sort_values("length").to_dict("records"):
        row = out.setdefault(r["series"], {"series": r["series"]})
        row[f"T={r['length']}"] = (
            f"{_pm(r['final_loss_mean'], r['final_loss_ci'])} ({r['solved_seeds']}/{r['seeds']})"
        )
    return pd.DataFrame(list(out.values())).fillna("–")


def trained_lengths(report: Report, view: View) -> str:
    """ "T=20", or "T=1..20" for a task trained on every length up to T."""
    runs = report.runs
    at = runs[(runs["task"] == view.task) & (runs["length"] == view.length)]
    shortest = at["min_length"].dropna() if "min_length" in at else ()
    return f"T={int(min(shortest))}..{view.length}" if len(shortest) else f"T={view.length}"


def lengths_table(report: Report, view: View) -> pd.DataFrame:
    """Per series: the final metric at the training lengths and at each evaluated length."""
    import pandas as pd

    table = _configurations(report, view)
    metric = table["metric"].iloc[0]
    lengths = eval_lengths(report.runs[report.runs["task"] == view.task], metric)
    rows = []
    for r in table.to_dict("records"):
        row = {"series": r["series"], "seeds": str(r["seeds"])}
        row[f"{trained_lengths(report, view)} (trained)"] = _pm(r["final_mean"], r["final_ci"])
        for n in lengths:
            row[f"T={n}"] = _pm(r.get(f"final@{n}_mean"), r.get(f"final@{n}_ci"))
        if r.get("deletang_lengths"):  # Delétang et al.'s score (seqlab.results.protocols)
            row["Delétang score"] = _pm(r.get("deletang_mean"), r.get("deletang_ci"), ".3f")
            row["its max over seeds"] = _pm(r.get("deletang_max"), None, ".3f")
        rows.append(row)
    return pd.DataFrame(rows).fillna("–")


def state_frame(report: Report, view: View) -> pd.DataFrame:
    """seqlab.results.aggregate per (series, model, state size) of the runs at the view's
    (task, T) that recorded their state size (older runs did not: left out), where the seeds
    have a final value of the metric."""
    cache_key = ("state", view)
    if cache_key not in report.cache:
        runs = report.runs
        at = runs[(runs["task"] == view.task) & (runs["length"] == view.length)]
        at = at[at["state_size"] > 0].copy()
        at["series"] = at["path"].map(report.series)
        frame = aggregate(at, by=["series", "model", "state_size"])
        report.cache[cache_key] = frame[frame["final_mean"].notna()] if len(frame) else frame
    return report.cache[cache_key]


def state_table(report: Report, view: View) -> pd.DataFrame:
    """Per series: its state size, seeds, the final metric (mean ± 95% CI) and seeds solved,
    by model and state size."""
    import pandas as pd

    frame = state_frame(report, view).sort_values(["model", "state_size", "series"])
    rows = [
        {
            "series": r["series"],
            "state size": _count(r["state_size"]),
            "seeds": str(r["seeds"]),
            f"final {r['metric']}": _pm(r["final_mean"], r["final_ci"]),
            "solved": f"{r['solved_seeds']}/{r['seeds']}",
        }
        for r in frame.to_dict("records")
    ]
    return pd.DataFrame(rows)


def hyper_seeds(report: Report, view: View) -> pd.DataFrame:
    """The seeds at the view's (task, T) to which the swept setting applies, each with its
    series label (the label without the swept setting)."""
    cache_key = ("hyper seeds", view)
    if cache_key not in report.cache:
        runs = report.runs
        at = runs[(runs["task"] == view.task) & (runs["length"] == view.length)].copy()
        at = at[[applies(m, view.key, v) for m, v in zip(at["model"], at[view.key], strict=True)]]
        at["series"] = at["path"].map(series_labels(at, axis=view.key))
        report.cache[cache_key] = at
    return report.cache[cache_key]


def hyper_frame(report: Report, view: View) -> pd.DataFrame:
    """seqlab.results.aggregate per (series without the swept setting, its value)."""
    cache_key = ("hyper", view)
    if cache_key not in report.cache:
        frame = aggregate(hyper_seeds(report, view), by=["series", "model", view.key])
        report.cache[cache_key] = frame
    return report.cache[cache_key]


def hyper_table(report: Report, view: View) -> pd.DataFrame:
    """Per series: the final metric (mean ± 95% CI) at each value of the swept setting, and the
    value with the best mean."""
    import pandas as pd

    frame = hyper_frame(report, view)
    name = short(view.key)
    rows = []
    for series, group in frame.groupby("series", sort=True):
        group = group.sort_values(view.key)
        row = {"series": series}
        for r in group.to_dict("records"):
            row[f"{name}={format_value(r[view.key])}"] = _pm(r["final_mean"], r["final_ci"])
        best = best_row(group, criterion_mode(report, view))
        row[f"best {name}"] = "–" if best is None else format_value(best[view.key])
        row["best single seed"] = _best_single(report, view, series, group["metric"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows).fillna("–")


def _best_single(report: Report, view: View, series: str, metric: str) -> str:
    """The best final metric of any one seed at any value of the swept setting, and where:
    what Zoology's Fig. 2 plots (seqlab.results.protocols.best_over's best_single)."""
    from seqlab.results.protocols import pick_best

    seeds = hyper_seeds(report, view)
    values = seeds.loc[seeds["series"] == series, f"final.{metric}"]
    i = pick_best(values, criterion_mode(report, view))
    if i is None:
        return "–"
    where = f"{short(view.key)}={format_value(seeds.loc[i, view.key])}, seed {seeds.loc[i, 'seed']}"
    return f"{format(values[i], '.4g')} ({where})"


def criterion_mode(report: Report, view: View) -> str:
    """ "max" or "min": which way the task's solved-criterion metric improves."""
    modes = report.runs.loc[report.runs["task"] == view.task, "criterion_mode"].dropna()
    return str(modes.iloc[0]) if len(modes) else "min"


def best_row(group: pd.DataFrame, mode: str) -> dict | None:
    """The row of `group` (aggregate rows of one series) with the best final mean."""
    finite = group[group["final_mean"].notna()]
    if not len(finite):
        return None
    index = finite["final_mean"].idxmin() if mode == "min" else finite["final_mean"].idxmax()
    return finite.loc[index].to_dict()
