"""Shared look of the dashboard's figures: layout, colours and dashes per series, escaping.

Buttons sit between the title and the plotting area, left, so they never cover the title; the
legend is on the right. Every text from a run goes through `esc` (plotly renders a subset of
HTML in names and titles).
"""

from __future__ import annotations

import html
import math

from seqlab.report.data import Report
from seqlab.results.labels import format_value

DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
HEIGHT = 420
UNSOLVED = "triangle-up-open"


def esc(value) -> str:
    return html.escape(str(value), quote=False)


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def layout(fig, title: str, xtitle: str, ytitle: str, buttons: list | None = None, **extra):
    """Title top left; buttons (if any) in a row of their own below it; legend on the right."""
    menus = []
    if buttons:
        menus = [
            dict(
                type="buttons",
                direction="right",
                buttons=buttons,
                showactive=True,
                x=0,
                xanchor="left",
                y=1,
                yanchor="bottom",
                pad=dict(b=6, l=0, r=0, t=0),
                font=dict(size=11),
                bgcolor="#f7f7f7",
            )
        ]
    fig.update_layout(
        template="plotly_white",
        title=dict(
            text=esc(title),
            x=0,
            xref="paper",
            xanchor="left",
            y=1,
            yref="container",
            yanchor="top",
            pad=dict(t=14),
            font=dict(size=15),
        ),
        xaxis_title=xtitle,
        yaxis_title=ytitle,
        updatemenus=menus,
        margin=dict(l=64, r=16, t=88 if buttons else 56, b=52),
        height=HEIGHT,
        legend=dict(font=dict(size=11), tracegroupgap=2),
        hoverlabel=dict(font=dict(size=12)),
        **extra,
    )
    return fig


def dashes(report: Report, task: str) -> dict[str, str]:
    """Series of the same model share its colour and differ in dash (within a task)."""
    out, seen = {}, {}
    first = report.runs.drop_duplicates("path")
    first = first[first["task"] == task].sort_values("path")
    for path, model in zip(first["path"], first["model"], strict=True):
        label = report.series[path]
        if label not in out:
            k = seen.get(model, 0)
            out[label], seen[model] = DASHES[k % len(DASHES)], k + 1
    return out


def settings_of(report: Report, paths) -> str:
    texts = sorted({report.settings.get(p, "") for p in paths} - {""})
    return f"<br>{esc('; '.join(texts))}" if texts else ""


def positive(values) -> bool:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return bool(finite) and all(v > 0 for v in finite)


def log_y_axis(fig, values) -> None:
    """A log y axis where the values are positive and span a factor of 10 or more (else the
    linear one reads better): ticks at whole decades where they span 100 or more, else at 1, 2
    and 5 times a power of ten (plotly's own labels every digit there)."""
    finite = [float(v) for v in values if v is not None and v == v]
    if not finite or min(finite) <= 0 or max(finite) / min(finite) < 10:
        return
    low, high = min(finite), max(finite)
    fig.update_yaxes(type="log", tickformat="~s" if low >= 1000 else "~g")
    if high / low >= 100:
        fig.update_yaxes(dtick=1)
    else:  # ticks at 1, 2 and 5 times a power of ten
        decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        ticks = [m * 10.0**k for k in decades for m in (1, 2, 5)]
        fig.update_yaxes(tickvals=[t for t in ticks if low / 1.5 <= t <= high * 1.5])


def log_x(fig, values, shown=None) -> None:
    """A log x axis with a tick at each value, where the values span a factor of 4 or more;
    `shown` (low, high): the range to show, a margin around it added."""
    values = sorted({float(v) for v in values})
    ticks = dict(tickvals=values, ticktext=[format_value(v) for v in values])
    if len(values) > 1 and values[0] > 0 and values[-1] / values[0] >= 4:
        fig.update_xaxes(type="log", **ticks)
        if shown is not None:
            fig.update_xaxes(range=[math.log10(shown[0]) - 0.12, math.log10(shown[1]) + 0.08])
    else:
        fig.update_xaxes(**ticks)


def series_paths(report: Report, task: str, length: int | None = None) -> dict[str, list[str]]:
    runs = report.runs.drop_duplicates("path")
    runs = runs[runs["task"] == task]
    if length is not None:
        runs = runs[runs["length"] == length]
    out: dict[str, list[str]] = {}
    for path in runs["path"]:
        out.setdefault(report.series[path], []).append(path)
    return out


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def hline(fig, y: float, text: str, colour: str, below: bool = False) -> None:
    """A dotted horizontal line across the plot at `y`, labelled at its right end (above it,
    or `below`). Call it after the y axis type is set: on a log axis plotly places an
    annotation at log10(y) (plotly.py's add_hline puts its label at 10**y there)."""
    fig.add_hline(y=y, line=dict(color=colour, dash="dot", width=1))
    log = fig.layout.yaxis.type == "log"
    fig.add_annotation(
        x=1, xref="paper", xanchor="right", y=math.log10(y) if log else y, yref="y",
        yanchor="top" if below else "bottom", text=text, showarrow=False,
        font=dict(size=11, color="#333"),
    )  # fmt: skip


def threshold(fig, report: Report, task: str) -> None:
    """The task's solved criterion as a line (after the y axis type is set)."""
    runs = report.runs[report.runs["task"] == task].dropna(subset=["criterion_threshold"])
    if len(runs):
        r = runs.iloc[0]
        op = "≥" if r["criterion_mode"] == "max" else "≤"
        value = float(r["criterion_threshold"])
        if fig.layout.yaxis.type == "log" and value <= 0:
            return
        text = f"solved: {esc(r['criterion'])} {op} {value:g}"
        hline(fig, value, text, "#2a7", below=True)
