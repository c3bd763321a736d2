"""The dashboard as one HTML page: figures, the runs table, and the script that drives them.

Every string from a run (names, config values, paths) is escaped; figure data travels as JSON
inside <script type="application/json"> with <, > and & escaped, so no run can inject markup.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from seqlab.report import figures
from seqlab.report.data import Report, runs_table
from seqlab.report.views import SECTIONS, table, views

# (run path, file name) -> href of that file of the run, or None for no link.
LinkFn = Callable[[str, str], str | None]
RUN_FILES = ("config.json", "summary.json", "metrics.jsonl", "train.log")


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("seqlab.report").joinpath(name).read_text()


def _number(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return format(value, spec)


# What each section shows and how to read it, in a sentence or two.
READING = {
    "curves": "Held-out loss against training step, a line per model (the mean over seeds, "
    "with its 95% CI band); 'each seed' shows every seed's own curve, where plateaus and "
    "sudden drops that a mean blurs stay visible. A dot ends a seed that solved the task; "
    "a stopped seed counts in the mean with its last evaluation. Dotted: chance level.",
    "sequences": "Training sequences (steps × batch size) until each seed solved the task: "
    "dots are seeds, the line their median; an open triangle is a seed that did not solve "
    "it, drawn at the budget it had (Hochreiter & Schmidhuber's presentation).",
    "comparison": "Final (or best) held-out loss against the sequence length T, mean ± 95% "
    "CI over seeds: which model still learns the dependency at which T.",
    "solved": "Seeds that met the task's solved criterion, model × length.",
    "state": "The final value of the task's metric against the state size, the numbers a model "
    "carries from one step to the next (as Zoology plots it), mean ± 95% CI over seeds: a "
    "marker per series, a model's joined by a line. Runs that did not record it are left out.",
    "lengths": "Trained at the shaded lengths, evaluated at others (eval.lengths): the final "
    "value of the task's metric at each evaluated length, mean ± 95% CI over seeds.",
    "hyper": "The final value of the task's metric against a swept setting, a line per model: "
    "the star marks each model's best setting, the slope around it its sensitivity.",
}


def _plots_html(report: Report) -> tuple[str, str]:
    """(navigation links, the figure sections, each figure with its table)."""
    plan = views(report)
    nav, sections, n = [], [], 0
    for section, heading in SECTIONS:
        chosen = [v for v in plan if v.section == section]
        if not chosen:
            continue
        nav.append(f'<a href="#{section}">{esc(heading)}</a>')
        parts = [
            f'<section id="{section}"><h2>{esc(heading)}</h2>'
            f'<p class="muted reading">{esc(READING[section])}</p><div class="grid">'
        ]
        for view in chosen:
            fig = figures.figure(report, view)
            parts.append(
                f'<div class="figure" data-view="{esc(view.name)}">'
                f'<div class="plot" id="plot-{n}"></div>'
                f'<script type="application/json" id="plot-{n}-data">'
                f"{script_json(fig.to_json())}</script>"
                f"{'' if section == 'solved' else _view_table_html(table(report, view))}</div>"
            )
            n += 1
        parts.append("</div></section>")
        sections.append("".join(parts))
    return " · ".join(nav), "\n".join(sections)


def _view_table_html(frame) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        f'<div class="table-wrap"><table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _diff_html(diff: dict) -> str:
    if not diff:
        return '<span class="muted">same as base</span>'
    lines = "\n".join(f"{k}: {json.dumps(v, default=str)}" for k, v in diff.items())
    return f"<details><summary>{len(diff)} field(s)</summary><pre>{esc(lines)}</pre></details>"


def _links_html(path: str, link: LinkFn) -> str:
    out = []
    for name in RUN_FILES:
        href = link(path, name)
        if href:
            out.append(f'<a href="{esc(href)}">{esc(name.split(".")[0])}</a>')
    return " ".join(out)


def _table_html(report: Report, link: LinkFn) -> str:
    rows = runs_table(report)
    head = [
        ("run", "text"), ("task", "text"), ("T", "num"), ("model", "text"), ("status", "text"),
        ("seeds", "num"), ("step", "num"), ("params", "num"), ("tokens/s", "num"),
        ("best metric", "num"), ("solved", "text"), ("diverged seeds", "text"),
        ("config vs base", "text"), ("files", "text"),
    ]  # fmt: skip
    th = "".join(f'<th data-type="{kind}">{esc(name)}</th>' for name, kind in head)
    body = []
    for r in rows:
        best = _number(r["best"], ".4g")
        if best and not math.isnan(r["best_ci"]):
            best += f" ± {_number(r['best_ci'], '.2g')}"
        diverged = ", ".join(f"{s} (step {at})" for s, at in r["diverged"])
        status = esc(r["status"])
        if r["unreadable_lines"]:
            status += f' <span class="warn">({r["unreadable_lines"]} bad metrics lines)</span>'
        cells = [
            (r["run"], esc(r["run"])),
            (r["task"], esc(r["task"])),
            (r["length"], esc(r["length"])),
            (r["series"], esc(r["series"])),
            (r["status"], status),
            (r["seeds"], esc(r["seeds"])),
            (r["step"], f"{esc(r['step'])}/{esc(r['steps'])}"),
            (r["params"], _number(r["params"], ",.0f")),
            (r["tokens_per_s"], _number(r["tokens_per_s"], ",.0f")),
            (r["best"], f'<span class="metric">{esc(r["metric"])}</span> {best}'),
            (r["solved"], esc(r["solved"])),
            (len(r["diverged"]), esc(diverged)),
            (len(r["diff"]), _diff_html(r["diff"])),
            ("", _links_html(r["path"], link)),
        ]
        tds = "".join(f'<td data-sort="{esc(_sort_key(v))}">{h}</td>' for v, h in cells)
        body.append(f'<tr data-task="{esc(r["task"])}" data-model="{esc(r["model"])}">{tds}</tr>')
    tasks = sorted({str(r["task"]) for r in rows})
    models = sorted({str(r["model"]) for r in rows})
    return f"""
<section id="runs"><h2>Runs</h2>
<div class="filters">
  <label>task {_select("filter-task", tasks)}</label>
  <label>model {_select("filter-model", models)}</label>
  <label>search <input id="filter-text" type="search" placeholder="run, status, config…"></label>
  <span id="runs-count"></span>
</div>
<p class="muted">Config differences are against {esc(report.base_source)}.
Click a column to sort.</p>
<table id="runs-table"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table>
</section>"""


def _select(element_id: str, values: list[str]) -> str:
    options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
    return f'<select id="{element_id}"><option value="">all</option>{options}</select>'


def _sort_key(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _warnings_html(report: Report) -> str:
    items = []
    if report.unreadable_lines:
        total = sum(report.unreadable_lines.values())
        which = ", ".join(
            f"{esc(Path(p).name)} ({n})" for p, n in sorted(report.unreadable_lines.items())
        )
        items.append(
            f"{total} unreadable line(s) in metrics.jsonl skipped (a crash mid-write?): {which}"
        )
    items.extend(esc(s) for s in report.skipped_runs)
    if not items:
        return ""
    lis = "".join(f"<li>{i}</li>" for i in items)
    return f'<div id="warnings" class="warnings"><ul>{lis}</ul></div>'


def _summary_html(report: Report) -> str:
    runs = report.runs.drop_duplicates("path")
    counts = runs["run_status"].fillna("unknown").value_counts()
    status = ", ".join(f"{n} {esc(s)}" for s, n in sorted(counts.items()))
    note = f'<p id="note" class="note">{esc(report.note)}</p>' if report.note else ""
    return note + (
        f'<p id="summary">{len(runs)} run(s), {len(report.runs)} seed(s): {status}. '
        f"Generated {esc(time.strftime('%Y-%m-%d %H:%M:%S'))}.</p>"
    )


def render(
    report: Report | None,
    *,
    title: str,
    plotly_tag: str,
    link: LinkFn = lambda path, name: None,
    live: bool = False,
    message: str = "",
) -> str:
    """The page. `plotly_tag` loads plotly.js (inline for a file, a URL for the server);
    `report` None shows only `message` (an empty directory that a live page waits on)."""
    if report is None:
        nav, content = "", f'<p id="message" class="message">{esc(message)}</p>'
    else:
        nav, plots = _plots_html(report)
        nav += ' · <a href="#runs">Runs</a>'
        content = _summary_html(report) + _warnings_html(report) + plots + _table_html(report, link)
    live_note = '<span id="live">live: reloads when runs record new results</span>' if live else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="icon" href="data:,">
<style>{_asset("dashboard.css")}</style>
{plotly_tag}
</head><body data-live="{"1" if live else ""}">
<header><h1>{esc(title)}</h1><nav>{nav}</nav>{live_note}</header>
<main>{content}</main>
<script>{_asset("dashboard.js")}</script>
</body></html>
"""


def inline_plotly() -> str:
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'
