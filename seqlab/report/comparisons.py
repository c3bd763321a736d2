"""The comparisons a study is run for: sequences to solve, length generalisation, the metric
against state size, and the hyper-parameter view (seqlab.report.figures re-exports them;
views.py says when each is drawn).
"""

from __future__ import annotations

import math

from seqlab.report.data import Report, by_configuration
from seqlab.report.plotstyle import (
    UNSOLVED,
    dashes,
    esc,
    layout,
    log_x,
    log_y_axis,
    positive,
    rgba,
    threshold,
)
from seqlab.report.views import (
    View,
    best_row,
    criterion_mode,
    finished_unsolved,
    hyper_frame,
    state_frame,
    trained_lengths,
)
from seqlab.results.labels import format_value, short

# ---- sequences to solve ---------------------------------------------------------------------


def sequences_to_solve(report: Report, task: str):
    """Training sequences (steps × batch) to solve, per series: each solved seed a dot, the
    median over solved seeds a line (against T where the task ran at several T, else a bar per
    series), each unsolved seed an open triangle at its budget (not solved by then)."""
    import plotly.graph_objects as go

    runs = report.runs[report.runs["task"] == task].copy()
    runs["series"] = runs["path"].map(report.series)
    lengths = sorted(runs["length"].unique())
    against_t = len(lengths) > 1
    dash_of = dashes(report, task)
    fig = go.Figure()
    for (label, model), seeds in runs.groupby(["series", "model"], sort=True):
        colour = report.colours.get(model, "#444444")
        name = esc(label)

        def x_of(seeds, name=name):
            return seeds["length"] if against_t else [name] * len(seeds)

        done = seeds[seeds["solved"].astype(bool) & seeds["solved_sequences"].notna()]
        open_ = seeds[finished_unsolved(seeds) & seeds["budget_sequences"].notna()]
        medians = (
            done.groupby("length")["solved_sequences"]
            .median()
            .reindex(sorted(seeds["length"].unique()))
        )
        fig.add_trace(
            go.Scatter(
                x=list(medians.index) if against_t else [name],
                y=list(medians.to_numpy()) if against_t else [medians.iloc[0]],
                mode="lines+markers" if against_t else "markers",
                line=dict(color=colour, dash=dash_of.get(label, "solid"), width=2),
                marker=dict(
                    color=colour,
                    size=8 if against_t else 26,
                    symbol="circle" if against_t else "line-ew-open",
                    line=dict(width=3, color=colour),
                ),
                name=name,
                legendgroup=name,
                meta="median",
                showlegend=against_t,  # else the x axis names the series
                hovertemplate=f"{name}<br>T=%{{x}}<br>median %{{y:,.0f}} sequences<extra></extra>"
                if against_t
                else f"{name}<br>median %{{y:,.0f}} sequences<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x_of(done),
                y=done["solved_sequences"],
                mode="markers",
                marker=dict(color=rgba(colour, 0.55), size=7),
                name=f"{name} solved seeds",
                legendgroup=name,
                showlegend=False,
                meta="solved",
                customdata=list(zip(done["seed"], done["solved_at"], strict=True)),
                hovertemplate=f"{name}, seed %{{customdata[0]}}<br>solved at step "
                "%{customdata[1]}: %{y:,.0f} sequences<extra></extra>",
            )
        )
        if len(open_):
            fig.add_trace(
                go.Scatter(
                    x=x_of(open_),
                    y=open_["budget_sequences"],
                    mode="markers",
                    marker=dict(color=colour, size=11, symbol=UNSOLVED, line=dict(width=2)),
                    name=name,
                    legendgroup=name,
                    showlegend=False,
                    meta="unsolved",
                    customdata=open_["seed"],
                    hovertemplate=f"{name}, seed %{{customdata}}<br>not solved within its "
                    "budget of %{y:,.0f} sequences<extra></extra>",
                )
            )
    if any(t.meta == "unsolved" for t in fig.data):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name="not solved (at its budget)",
                marker=dict(color="#777", size=11, symbol=UNSOLVED, line=dict(width=2)),
            )
        )
    if against_t:
        title, xtitle = f"{task}: training sequences to solve against T", "sequence length T"
    else:
        title, xtitle = f"{task} T={lengths[0]}: training sequences to solve", ""
    layout(fig, title, xtitle, "sequences to solve (steps × batch)")
    log_y_axis(fig, [*runs["solved_sequences"], *runs["budget_sequences"]])
    if against_t:
        log_x(fig, lengths)
    return fig


# ---- length generalisation, state size and hyper-parameters ---------------------------------


def length_generalisation(report: Report, task: str, length: int):
    """The final metric (mean ± 95% CI over seeds) at each evaluated length, a line per series
    trained at `length`; the training lengths shaded (T=1..T for the formal languages)."""
    import plotly.graph_objects as go

    table = by_configuration(report)
    table = table[(table["task"] == task) & (table["length"] == length)]
    metric = str(table["metric"].iloc[0])
    evaluated = sorted(
        int(c[len("final@") : -len("_mean")])
        for c in table.columns
        if c.startswith("final@") and c.endswith("_mean") and table[c].notna().any()
    )
    trained = trained_lengths(report, View("lengths", task, length))
    dash_of = dashes(report, task)
    fig = go.Figure()
    for r in table.sort_values("series").to_dict("records"):
        points = [(n, r[f"final@{n}_mean"], r[f"final@{n}_ci"]) for n in evaluated]
        if length not in evaluated:  # the training length itself, from the final evaluation
            points = sorted([*points, (length, r["final_mean"], r["final_ci"])])
        xs, ys, cis = zip(*points, strict=True)
        name = esc(r["series"])
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                error_y=dict(type="data", array=[0 if c != c else c for c in cis]),
                mode="lines+markers",
                name=name,
                line=dict(
                    color=report.colours.get(r["model"], "#444"), dash=dash_of.get(r["series"])
                ),
                hovertemplate=f"{name}<br>evaluated at T=%{{x}}<br>final {metric} %{{y:.4g}}"
                f"<br>trained at {trained}, {r['seeds']} seed(s)<extra></extra>",
            )
        )
    runs = report.runs[(report.runs["task"] == task) & (report.runs["length"] == length)]
    shortest = runs["min_length"].dropna()
    low = int(shortest.min()) if len(shortest) else length
    fig.add_vrect(
        x0=low,
        x1=length,
        fillcolor="#999",
        opacity=0.15,
        line_width=0 if low < length else 2,
    )
    layout(
        fig,
        f"{task} trained at {trained}: final {metric} at other lengths",
        "evaluated sequence length T",
        f"final {metric} (mean ± 95% CI)",
    )
    shown = [*evaluated, length]
    log_x(fig, [low, *shown] if low < length else shown, shown=(min(shown), max(shown)))
    log = fig.layout.xaxis.type == "log"
    fig.add_annotation(
        x=math.log10(length) if log else length, xanchor="right", y=1, yref="paper",
        yanchor="top", text=f"trained ({trained})", showarrow=False, font=dict(size=11),
    )  # fmt: skip
    threshold(fig, report, task)
    return fig


def state_size(report: Report, task: str, length: int):
    """The final metric (mean ± 95% CI over seeds) against the state size, the numbers a model
    carries from one step to the next (Zoology's plot): a marker per series, a model's markers
    joined in order of size. Runs that did not record their state size are left out."""
    import plotly.graph_objects as go

    view = View("state", task, length)
    frame = state_frame(report, view)
    metric = str(frame["metric"].iloc[0])
    fig = go.Figure()
    for model, group in frame.groupby("model", sort=True):
        group = group.sort_values(["state_size", "series"])
        colour = report.colours.get(model, "#444")
        one_per_size = group["state_size"].is_unique  # else a line would join unlike series
        fig.add_trace(
            go.Scatter(
                x=group["state_size"],
                y=group["final_mean"],
                mode="lines+markers" if one_per_size else "markers",
                name=esc(model),
                error_y=dict(type="data", array=group["final_ci"].fillna(0)),
                line=dict(color=colour),
                marker=dict(color=colour, size=9),
                customdata=[
                    [esc(s), int(n)] for s, n in zip(group["series"], group["seeds"], strict=True)
                ],
                hovertemplate=f"%{{customdata[0]}}<br>state size %{{x:,.0f}}<br>final {metric} "
                "%{y:.4g}<br>%{customdata[1]} seed(s)<extra></extra>",
            )
        )
    layout(
        fig,
        f"{task} T={length}: final {metric} against state size",
        "state size (numbers carried from step to step)",
        f"final {metric} (mean ± 95% CI)",
    )
    size_axis(fig, frame["state_size"])
    if criterion_mode(report, view) == "min" and positive(frame["final_mean"]):
        log_y_axis(fig, frame["final_mean"])
    threshold(fig, report, task)
    return fig


def size_axis(fig, sizes, ticked: int = 6) -> None:
    """A log x axis, as Zoology's: a tick at each state size where there are at most `ticked`,
    else plotly's own (a label at each size would overlap)."""
    sizes = sorted({float(v) for v in sizes})
    fig.update_xaxes(type="log")
    if len(sizes) <= ticked:
        fig.update_xaxes(tickvals=sizes, ticktext=[format_value(v) for v in sizes])
    else:
        fig.update_xaxes(tickformat="~s")


def hyperparameter(report: Report, task: str, length: int, key: str):
    """The final metric (mean ± 95% CI over seeds) against the swept setting `key`, a line per
    series (model and any other varied setting); each series' best value starred. Where the
    line peaks reads the best setting; how far it falls off, the sensitivity."""
    import plotly.graph_objects as go

    view = View("hyper", task, length, key)
    frame = hyper_frame(report, view)
    metric = str(frame["metric"].iloc[0])
    mode = criterion_mode(report, view)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in frame[key])
    name_of = short(key)
    fig = go.Figure()
    for (label, model), group in frame.groupby(["series", "model"], sort=True):
        group = group.sort_values(key)
        colour = report.colours.get(model, "#444")
        name = esc(label)
        xs = list(group[key]) if numeric else [esc(format_value(v)) for v in group[key]]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=group["final_mean"],
                mode="lines+markers",
                name=name,
                legendgroup=name,
                error_y=dict(type="data", array=group["final_ci"].fillna(0)),
                line=dict(color=colour),
                customdata=group["seeds"],
                hovertemplate=f"{name}<br>{esc(name_of)}=%{{x}}<br>final {metric} %{{y:.4g}}"
                "<br>%{customdata} seed(s)<extra></extra>",
            )
        )
        best = best_row(group, mode)
        if best is not None:
            fig.add_trace(
                go.Scatter(
                    x=[best[key] if numeric else esc(format_value(best[key]))],
                    y=[best["final_mean"]],
                    mode="markers",
                    legendgroup=name,
                    showlegend=False,
                    marker=dict(
                        symbol="star", size=15, color=colour, line=dict(width=1, color="#222")
                    ),
                    name=f"{name} best",
                    meta="best",
                    hovertemplate=f"{name}: best {esc(name_of)}=%{{x}}<extra></extra>",
                )
            )
    layout(
        fig,
        f"{task} T={length}: final {metric} against {name_of}",
        f"{name_of} ({key.removeprefix('cfg.')})",
        f"final {metric} (mean ± 95% CI)",
    )
    if numeric:
        log_x(fig, frame[key])
    if mode == "min" and positive(frame["final_mean"]):
        log_y_axis(fig, frame["final_mean"])
    threshold(fig, report, task)
    return fig
