"""The dashboard's plotly figures, also used by notebooks/analysis.ipynb.

    from seqlab.report import collect, figures
    report = collect("runs/zoo_copy")
    figures.learning_curves(report, "copy", 100).show()

Every text that comes from a run (model names, config values) is HTML-escaped here: plotly
renders a subset of HTML in names and titles.
"""

from __future__ import annotations

import html
import math

from seqlab.report.data import CURVE_METRIC, Report, baselines, by_configuration, curve_bands

DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50), height=420)


def _esc(value) -> str:
    return html.escape(str(value), quote=False)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _dashes(report: Report) -> dict[str, str]:
    """Series of the same model share its colour and differ in dash."""
    dashes, seen = {}, {}
    first = report.runs.drop_duplicates("path")
    for path, model in zip(first["path"], first["model"], strict=True):
        label = report.series[path]
        if label not in dashes:
            k = seen.get(model, 0)
            dashes[label], seen[model] = DASHES[k % len(DASHES)], k + 1
    return dashes


def learning_curves(report: Report, task: str, length: int, metric: str = CURVE_METRIC):
    """Evaluation `metric` against step: a line per series, seeds as a mean ± 95% CI band."""
    import plotly.graph_objects as go

    bands = curve_bands(report, metric)
    bands = bands[(bands["task"] == task) & (bands["length"] == length)]
    dashes = _dashes(report)
    log_y = _positive(bands["mean"])
    fig = go.Figure()
    for (label, model), b in bands.groupby(["series", "model"], sort=True):
        colour = report.colours.get(model, "#444444")
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
                    fillcolor=_rgba(colour, 0.18),
                    line=dict(width=0),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=_esc(label),
                    name=_esc(f"{label} 95% CI"),
                )
            )
        seeds = int(b["seeds"].max())
        fig.add_trace(
            go.Scatter(
                x=b["step"],
                y=b["mean"],
                mode="lines+markers" if len(b) < 30 else "lines",
                line=dict(color=colour, dash=dashes.get(label, "solid")),
                name=_esc(label),
                legendgroup=_esc(label),
                hovertemplate=f"{_esc(label)}<br>step %{{x}}<br>{metric} %{{y:.4g}}"
                f"<br>mean of {seeds} seed(s)<extra></extra>",
            )
        )
    baseline = baselines(report).get((task, length))
    if baseline is not None and metric == CURVE_METRIC:
        fig.add_hline(
            y=baseline,
            line=dict(color="#333", dash="dot", width=1),
            annotation_text=f"chance {baseline:.3g}",
            annotation_position="top right",
        )
    fig.update_layout(
        title=_esc(f"{task} T={length}: held-out {metric}"),
        xaxis_title="step",
        yaxis_title=metric,
        **LAYOUT,
    )
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def _positive(values) -> bool:
    return len(values) > 0 and all(v > 0 for v in values if not math.isnan(v))


def loss_vs_length(report: Report, task: str, which: str = "final"):
    """The classic comparison: `which` (final|best) loss against T, a line per series.

    Buttons switch between the final and the best loss; error bars are 95% CIs over seeds.
    """
    import plotly.graph_objects as go

    table = by_configuration(report)
    table = table[table["task"] == task].sort_values("length")
    dashes = _dashes(report)
    fig = go.Figure()
    kinds = ("final", "best")
    for kind in kinds:
        for (label, model), rows in table.groupby(["series", "model"], sort=True):
            fig.add_trace(
                go.Scatter(
                    x=rows["length"],
                    y=rows[f"{kind}_loss_mean"],
                    error_y=dict(type="data", array=rows[f"{kind}_loss_ci"].fillna(0)),
                    mode="lines+markers",
                    line=dict(color=report.colours.get(model, "#444"), dash=dashes.get(label)),
                    name=_esc(label),
                    visible=kind == which,
                    customdata=rows["solved"],
                    hovertemplate=f"{_esc(label)}<br>T=%{{x}}<br>{kind} loss %{{y:.4g}}"
                    "<br>solved %{customdata:.0%} of seeds<extra></extra>",
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
    fig.update_layout(
        title=_esc(f"{task}: loss against sequence length"),
        xaxis_title="sequence length T",
        yaxis_title="held-out loss (mean ± 95% CI over seeds)",
        updatemenus=[dict(type="buttons", direction="right", x=1, y=1.15, buttons=buttons)],
        **LAYOUT,
    )
    if _positive(table["final_loss_mean"]) and _positive(table["best_loss_mean"]):
        fig.update_yaxes(type="log")
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
                solved, seeds = float(cell["solved"].iloc[0]), int(cell["seeds"].iloc[0])
                row_z.append(solved)
                row_t.append(f"{round(solved * seeds)}/{seeds}")
            else:
                row_z.append(None)
                row_t.append("")
        z.append(row_z)
        text.append(row_t)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"T={t}" for t in lengths],
            y=[_esc(s) for s in series],
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale="Greens",
            colorbar=dict(title="solved"),
            hovertemplate="%{y}<br>%{x}<br>%{text} seeds solved<extra></extra>",
        )
    )
    fig.update_layout(
        title=_esc(f"{task}: seeds that solved the task"),
        xaxis_title="sequence length",
        **{**LAYOUT, "height": max(260, 60 + 32 * len(series))},
    )
    return fig
