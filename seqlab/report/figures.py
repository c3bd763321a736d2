"""The dashboard's plotly figures, also drawn by notebooks/analysis.ipynb and `seqlab figures`.

    from seqlab.report import collect, figures
    report = collect("runs/zoo_copy")
    figures.learning_curves(report, "copy", 100).show()
    for view in figures.views(report):          # every figure the runs support
        figures.figure(report, view).show()

A line is a series (seqlab.results.labels): a model's colour, a dash per series of that model.
This module draws the learning curves and the figures against T, comparisons.py sequences to
solve, length generalisation, the metric against state size and the hyper-parameter view,
plotstyle.py their shared layout (buttons never over a title) and escaping of every text that
comes from a run.
"""

from __future__ import annotations

from seqlab.report.comparisons import (
    hyperparameter,
    length_generalisation,
    sequences_to_solve,
    state_size,
)
from seqlab.report.data import (
    CURVE_METRIC,
    Report,
    baselines,
    by_configuration,
    curve_bands,
    seed_curves,
)
from seqlab.report.plotstyle import (
    dashes,
    esc,
    hline,
    layout,
    log_x,
    log_y_axis,
    missing,
    positive,
    rgba,
    series_paths,
    settings_of,
)
from seqlab.report.views import View, views

__all__ = [
    "figure",
    "hyperparameter",
    "learning_curves",
    "length_generalisation",
    "loss_vs_length",
    "sequences_to_solve",
    "solved_heatmap",
    "state_size",
    "views",
]


# ---- learning curves ------------------------------------------------------------------------


def learning_curves(report: Report, task: str, length: int, metric: str = CURVE_METRIC):
    """Held-out `metric` against step: per series the mean over seeds with its 95% CI band;
    the buttons show each seed's own curve instead (or both). A solved seed's curve ends in a
    dot where it solved; a stopped seed counts in the mean with its last evaluation."""
    import plotly.graph_objects as go

    bands = curve_bands(report, metric)
    bands = bands[(bands["task"] == task) & (bands["length"] == length)]
    curves = seed_curves(report, metric)
    curves = curves[(curves["task"] == task) & (curves["length"] == length) & ~curves["carried"]]
    paths = series_paths(report, task, length)
    solved = report.runs.set_index(["path", "seed"])["solved_at"].to_dict()
    dash_of = dashes(report, task)
    log_y = positive(bands["mean"]) and positive(curves["value"])
    fig, kinds = go.Figure(), []
    alpha = 0.16 if bands["series"].nunique() <= 4 else 0.09  # many bands: see through them
    for (label, model), b in bands.groupby(["series", "model"], sort=True):
        colour = report.colours.get(model, "#444444")
        name, more = esc(label), settings_of(report, paths.get(label, []))
        if b["ci"].notna().any():
            upper, lower = b["mean"] + b["ci"].fillna(0), b["mean"] - b["ci"].fillna(0)
            if log_y:  # a log axis drops values <= 0: the band ends at 1% of the mean there
                lower = lower.where(lower > 0, b["mean"] * 0.01)
            fig.add_trace(
                go.Scatter(
                    x=list(b["step"]) + list(b["step"])[::-1],
                    y=list(upper) + list(lower)[::-1],
                    mode="lines",
                    fill="toself",
                    fillcolor=rgba(colour, alpha),
                    line=dict(width=0),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=name,
                    name=f"{name} 95% CI",
                    meta="band",
                )
            )
            kinds.append("band")
        fig.add_trace(
            go.Scatter(
                x=b["step"],
                y=b["mean"],
                customdata=list(zip(b["seeds"], b["carried"], strict=True)),
                mode="lines+markers" if len(b) < 30 else "lines",
                line=dict(color=colour, dash=dash_of.get(label, "solid"), width=2),
                name=name,
                legendgroup=name,
                meta="mean",
                hovertemplate=f"{name}<br>step %{{x}}<br>{metric} %{{y:.4g}}<br>mean of "
                f"%{{customdata[0]}} seed(s), %{{customdata[1]}} stopped (last value){more}"
                "<extra></extra>",
            )
        )
        kinds.append("mean")
        mine = curves[curves["series"] == label].groupby(["path", "seed"], sort=True)
        for i, ((_, seed), c) in enumerate(mine):
            ends_solved = not missing(solved.get((c["path"].iloc[0], seed)))
            sizes = [0] * (len(c) - 1) + [7 if ends_solved else 0]
            fig.add_trace(
                go.Scatter(
                    x=c["step"],
                    y=c["value"],
                    mode="lines+markers",
                    visible=False,
                    line=dict(color=colour, width=1, dash=dash_of.get(label, "solid")),
                    marker=dict(size=sizes, color=colour),
                    opacity=0.75,
                    name=name,
                    legendgroup=name,
                    showlegend=False,
                    meta="seed",
                    hovertemplate=f"{name}, seed {seed}<br>step %{{x}}<br>{metric} %{{y:.4g}}"
                    "<extra></extra>",
                )
            )
            kinds.append("seed" if i else "first seed")  # its legend entry when seeds show
    # (label, the kinds shown, the kind whose trace carries the series' legend entry)
    shows = [("mean ± 95% CI", ("band", "mean"), "mean"),
             ("each seed", ("seed", "first seed"), "first seed"),
             ("both", ("band", "mean", "seed", "first seed"), "mean")]  # fmt: skip
    buttons = [
        dict(
            label=text,
            method="restyle",
            args=[{"visible": [k in on for k in kinds], "showlegend": [k == key for k in kinds]}],
        )
        for text, on, key in shows
    ]
    layout(fig, f"{task} T={length}: held-out {metric}", "step", metric, buttons)
    if log_y:
        low = bands["mean"] - bands["ci"].fillna(0)  # where the bands reach (1% of the mean)
        low = low.where(low > 0, bands["mean"] * 0.01)
        log_y_axis(fig, [*bands["mean"], *low, *curves["value"]])
    baseline = baselines(report).get((task, length))
    if baseline is not None and metric == CURVE_METRIC:
        hline(fig, baseline, f"chance {baseline:.3g}", "#333")
    return fig


# ---- against T --------------------------------------------------------------------------------


def loss_vs_length(report: Report, task: str, which: str = "final"):
    """The classic comparison: `which` (final|best) loss against T, a line per series.

    Buttons switch between the final and the best loss; error bars are 95% CIs over seeds.
    """
    import plotly.graph_objects as go

    table = by_configuration(report)
    table = table[table["task"] == task].sort_values("length")
    dash_of = dashes(report, task)
    paths = series_paths(report, task)
    fig = go.Figure()
    kinds = ("final", "best")
    for kind in kinds:
        for (label, model), rows in table.groupby(["series", "model"], sort=True):
            name = esc(label)
            fig.add_trace(
                go.Scatter(
                    x=rows["length"],
                    y=rows[f"{kind}_loss_mean"],
                    error_y=dict(type="data", array=rows[f"{kind}_loss_ci"].fillna(0)),
                    mode="lines+markers",
                    line=dict(color=report.colours.get(model, "#444"), dash=dash_of.get(label)),
                    name=name,
                    visible=kind == which,
                    customdata=rows["solved"],
                    meta=kind,
                    hovertemplate=f"{name}<br>T=%{{x}}<br>{kind} loss %{{y:.4g}}<br>solved "
                    f"%{{customdata:.0%}} of seeds{settings_of(report, paths.get(label, []))}"
                    "<extra></extra>",
                )
            )
    n = len(fig.data) // 2
    buttons = [
        dict(
            label=f"{kind} loss",
            method="update",
            args=[{"visible": [k == kind for k in kinds for _ in range(n)]}],
        )
        for kind in kinds
    ]
    layout(
        fig,
        f"{task}: held-out loss against T",
        "sequence length T",
        "held-out loss (mean ± 95% CI)",
        buttons,
    )
    if positive(table["final_loss_mean"]) and positive(table["best_loss_mean"]):
        log_y_axis(fig, [*table["final_loss_mean"], *table["best_loss_mean"]])
    log_x(fig, table["length"])
    return fig


def solved_heatmap(report: Report, task: str):
    """Fraction of seeds solved, series × sequence length."""
    import plotly.graph_objects as go

    table = by_configuration(report)
    table = table[table["task"] == task]
    lengths = sorted(table["length"].unique())
    series = sorted(table["series"].unique())
    z, text = [], []
    for label in series:
        row_z, row_t = [], []
        for length in lengths:
            cell = table[(table["series"] == label) & (table["length"] == length)]
            if len(cell):
                solved, seeds = int(cell["solved_seeds"].iloc[0]), int(cell["seeds"].iloc[0])
                row_z.append(solved / seeds)
                row_t.append(f"{solved}/{seeds}")
            else:
                row_z.append(None)
                row_t.append("")
        z.append(row_z)
        text.append(row_t)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"T={t}" for t in lengths],
            y=[esc(s) for s in series],
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale="Greens",
            colorbar=dict(title="solved", thickness=12),
            hovertemplate="%{y}<br>%{x}<br>%{text} seeds solved<extra></extra>",
        )
    )
    layout(fig, f"{task}: seeds that solved it", "sequence length", "")
    fig.update_layout(height=max(300, 150 + 30 * len(series)))
    return fig


def figure(report: Report, view: View):
    """The plotly figure of a `views(report)` entry."""
    if view.section == "curves":
        return learning_curves(report, view.task, view.length)
    if view.section == "sequences":
        return sequences_to_solve(report, view.task)
    if view.section == "comparison":
        return loss_vs_length(report, view.task)
    if view.section == "solved":
        return solved_heatmap(report, view.task)
    if view.section == "state":
        return state_size(report, view.task, view.length)
    if view.section == "lengths":
        return length_generalisation(report, view.task, view.length)
    if view.section == "hyper":
        return hyperparameter(report, view.task, view.length, view.key)
    raise ValueError(f"unknown view section {view.section!r}")
