"""The dashboard in a real browser: Debian's chromium, headless, driven by playwright.

The report file (opened as file://) and the live dashboard (served by make_server on
127.0.0.1) must draw every figure, filter and sort the runs table, reload by themselves when a
run appears, log no console error, and make no outside connection: every request a page
makes is recorded and must be file:, data:, blob:, about: or the test's own server.

Chromium comes from tools/install_chromium.sh (the `chromium` fixture, conftest.py; playwright's
browser download does not work here and is never used). Screenshots go to test-artifacts/
(gitignored), among them the synthetic demo's whole dashboard (demo-dashboard.png).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from seqlab import cli
from seqlab.report.server import make_server
from tests.report.synthetic import DEMO_NOTE, Seed, write_run

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# ENVIRONMENT-NOTES.md, "Headless Chromium"; playwright adds --headless and a fresh
# --user-data-dir (a new temporary profile per launch; it refuses one in `args`).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    # Every host name but the loopback ones fails to resolve: nothing can leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
ROWS = "#runs-table tbody tr"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser(chromium):
    """One headless chromium for the session."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


@dataclasses.dataclass
class Recorded:
    """What a page did: every request URL, console errors and uncaught exceptions."""

    page: Page
    requests: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    def assert_clean(self, port: int | None = None) -> None:
        """No console error, and no request but local ones (and http://127.0.0.1:`port`)."""
        assert self.requests, "no request recorded: the recorder is not attached"
        outside = [u for u in self.requests if not _local(u, port)]
        assert outside == [], "the browser made outside connections"
        assert self.errors == []

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location['url']})")


def _local(url: str, port: int | None) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return port is not None and parts.scheme == "http" and parts.netloc == f"127.0.0.1:{port}"


@pytest.fixture
def recorded(browser: Browser):
    """A fresh page (its own context) whose requests and errors are recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    rec = Recorded(page)
    page.on("request", lambda r: rec.requests.append(r.url))
    page.on("console", rec.on_console)
    page.on("pageerror", lambda e: rec.errors.append(f"pageerror: {e}"))
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield rec
    finally:
        page.close()


PLOTS_JS = """() => Array.from(document.querySelectorAll('.plot')).map(d => ({
  id: d.id,
  section: d.closest('section') ? d.closest('section').id : null,
  svg: d.querySelectorAll('svg.main-svg').length,
  traces: Array.isArray(d.data) ? d.data.length : -1,
  points: Array.isArray(d._fullData)
    ? Math.max(0, ...d._fullData.map(t => (t.x && t.x.length) || 0)) : 0,
  title: d.layout && d.layout.title ? d.layout.title.text : '',
  shapes: ((d.layout && d.layout.shapes) || []).map(s => s.y0),
  drawnShapes: d.querySelectorAll('.shapelayer path').length,
  annotations: Array.from(d.querySelectorAll('.annotation-text')).map(a => a.textContent),
}))"""

ROWS_JS = """() => Array.from(document.querySelectorAll('#runs-table tbody tr')).map(tr => ({
  model: tr.dataset.model,
  visible: getComputedStyle(tr).display !== 'none',
  sort: Array.from(tr.cells).map(td => td.dataset.sort),
}))"""


def _plots(page: Page) -> list[dict]:
    """The figures once Plotly has drawn them all, asserting that each has data."""
    page.wait_for_function(
        "() => document.querySelectorAll('.plot').length > 0 && Array.from("
        "document.querySelectorAll('.plot')).every(d => d.querySelector('svg.main-svg'))"
    )
    plots = page.evaluate(PLOTS_JS)
    for p in plots:
        assert p["svg"] > 0 and p["traces"] > 0 and p["points"] > 0, p
    # copy at T=4 and T=6: two learning-curve plots, sequences to solve (no seed solves in 30
    # steps: each drawn at its budget), loss against T, the solved heatmap, and the final loss
    # against state size at each T (the LSTM's 16 floats and the tanh RNN's 8).
    # (a live page early in the sweep may have a state size at one T only).
    drawn = [p["section"] for p in plots]
    assert [s for s in drawn if s != "state"] == ["curves", "curves", "sequences", "comparison",
                                                  "solved"]  # fmt: skip
    assert drawn[5:] in (["state"], ["state", "state"]), drawn
    return plots


def _assert_chance_lines(plots: list[dict]) -> None:
    """Each learning-curve plot draws copy's chance loss, 10 log 8 / (T + 20)."""
    for p in (p for p in plots if p["section"] == "curves"):
        length = int(re.search(r"T=(\d+)", p["title"]).group(1))
        chance = 10 * math.log(8) / (length + 20)
        assert p["shapes"] == [pytest.approx(chance)], p
        assert p["drawnShapes"] >= 1, p
        assert f"chance {chance:.3g}" in p["annotations"], p


def _rows(page: Page) -> list[dict]:
    return page.evaluate(ROWS_JS)


def _header_index(page: Page, name: str) -> int:
    names = page.locator("#runs-table thead th").all_inner_texts()
    return [n.strip() for n in names].index(name)


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    assert (ARTIFACTS / name).stat().st_size > 10_000


def test_report_file_draws_filters_and_sorts(sweep_copy, tmp_path, recorded):
    output = tmp_path / "report.html"
    assert cli.main(["report", str(sweep_copy), "-o", str(output)]) == 0
    page = recorded.page
    page.goto(output.as_uri())

    _assert_chance_lines(_plots(page))
    rows = _rows(page)
    assert len(rows) == 4 and all(r["visible"] for r in rows)
    assert page.inner_text("#runs-count") == "showing 4 of 4 runs"

    page.select_option("#filter-model", "lstm")
    rows = _rows(page)
    assert sorted(r["model"] for r in rows if r["visible"]) == ["lstm", "lstm"]
    assert page.inner_text("#runs-count") == "showing 2 of 4 runs"
    page.select_option("#filter-model", "")
    assert all(r["visible"] for r in _rows(page))
    assert page.inner_text("#runs-count") == "showing 4 of 4 runs"

    for column in ("T", "params"):
        i = _header_index(page, column)
        header = page.locator("#runs-table thead th").nth(i)
        header.click()
        values = [float(r["sort"][i]) for r in _rows(page)]
        assert values == sorted(values) and len(set(values)) > 1, column
        assert "sorted-asc" in (header.get_attribute("class") or "")
        header.click()
        values = [float(r["sort"][i]) for r in _rows(page)]
        assert values == sorted(values, reverse=True), column
        assert "sorted-desc" in (header.get_attribute("class") or "")

    _screenshot(page, "report.png")
    recorded.assert_clean(port=None)


def test_live_dashboard_reloads_when_a_run_appears(sweep_copy, tmp_path, recorded):
    run = sorted(p.parent for p in sweep_copy.rglob("summary.json"))[0]
    model = json.loads((run / "config.json").read_text())["model"]["name"]
    aside = tmp_path / "aside"
    aside.mkdir()
    shutil.move(run, aside / run.name)

    server = make_server(sweep_copy, port=0)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = recorded.page
        page.goto(f"http://127.0.0.1:{port}/")
        assert page.get_attribute("body", "data-live") == "1"
        _assert_chance_lines(_plots(page))
        assert len(_rows(page)) == 3
        # A filter set before the reload is kept by it (sessionStorage).
        page.select_option("#filter-model", model)
        shown = sum(r["visible"] for r in _rows(page))
        page.evaluate("() => { window.beforeReload = true; }")

        shutil.move(aside / run.name, run)
        page.wait_for_function(
            f"() => !window.beforeReload && document.querySelectorAll('{ROWS}').length === 4",
            timeout=TIMEOUT_MS,
        )
        _plots(page)
        rows = _rows(page)
        assert page.input_value("#filter-model") == model
        assert sorted(r["model"] for r in rows if r["visible"]) == [model] * (shown + 1)
        assert page.inner_text("#runs-count") == f"showing {shown + 1} of 4 runs"

        page.select_option("#filter-model", "")
        _screenshot(page, "dashboard.png")
        recorded.assert_clean(port=port)
        assert f"http://127.0.0.1:{port}/version" in recorded.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---- what a person sees: labels, figures that fit the data, controls, sizes ---------------

# Per figure, as drawn: its section, title, the traces drawn with data (visible and holding a
# finite value), the distinct x values they draw, the axis titles, and the boxes (in CSS
# pixels) of the title, the buttons, the legend, the plotting area and the figure.
SEEN_JS = """() => {
  const box = el => { if (!el) return null; const r = el.getBoundingClientRect();
    return r.width && r.height ? {x: r.left, y: r.top, w: r.width, h: r.height} : null; };
  const finite = v => typeof v === 'number' && isFinite(v);
  const values = a => a ? Array.from(a).flat(Infinity) : [];
  return Array.from(document.querySelectorAll('.plot')).map(d => {
    const drawn = (d._fullData || []).filter(t => t.visible === true &&
      values(t.type === 'heatmap' ? t.z : t.y).some(finite));
    const xs = new Set(drawn.flatMap(t => t.type === 'heatmap' ? values(t.x) : values(t.x)
      .filter((x, i) => finite(values(t.y)[i]))).map(String));
    const layout = d._fullLayout || {};
    return {
      id: d.id,
      section: d.closest('section') ? d.closest('section').id : null,
      title: layout.title ? layout.title.text : '',
      traces: (d.data || []).length,
      drawn: drawn.length,
      names: drawn.filter(t => t.showlegend !== false).map(t => t.name),
      xs: Array.from(xs),
      xtitle: layout.xaxis && layout.xaxis.title ? layout.xaxis.title.text : '',
      xtype: layout.xaxis ? layout.xaxis.type : '',
      ytitle: layout.yaxis && layout.yaxis.title ? layout.yaxis.title.text : '',
      shapes: (layout.shapes || []).map(s => ({x0: s.x0, x1: s.x1, y0: s.y0, y1: s.y1})),
      titleBox: box(d.querySelector('.gtitle')),
      buttons: Array.from(d.querySelectorAll('.updatemenu-button')).map(box).filter(b => b),
      buttonLabels: Array.from(d.querySelectorAll('.updatemenu-button text'))
        .map(t => t.textContent),
      legend: box(d.querySelector('g.legend')),
      area: box(d.querySelector('.draglayer .nsewdrag')),
      figure: box(d),
      table: !!(d.closest('.figure') && d.closest('.figure').querySelector('table')),
    };
  });
}"""
# Everything a reader can see: the page's rendered text and the figures' text (SVG).
TEXT_JS = """() => document.body.innerText + '\\n' +
  Array.from(document.querySelectorAll('.plot svg text')).map(t => t.textContent).join('\\n')"""
UNREADABLE = re.compile(r"\b(nan|NaN|NAN|None|undefined)\b")


def _overlap(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return False
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and (a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])
    )


def _seen(page: Page) -> list[dict]:
    """SEEN_JS once every figure is drawn, at its container's width (plotly redraws a figure
    after the window is resized)."""
    page.wait_for_function(
        "() => document.querySelectorAll('.plot').length > 0 && Array.from("
        "document.querySelectorAll('.plot')).every(d => { const s = d.querySelector("
        "'svg.main-svg'); return s && Math.abs(s.getBoundingClientRect().width - "
        "d.clientWidth) < 2; })"
    )
    return page.evaluate(SEEN_JS)


def _assert_reads_at_a_glance(page: Page, width: int) -> list[dict]:
    """The checks of issue 19 on whatever the page shows, at the viewport's size."""
    text = page.evaluate(TEXT_JS)
    bad = sorted({m.group(0) for m in UNREADABLE.finditer(text)})
    lines = [line for line in text.splitlines() if UNREADABLE.search(line)][:5]
    assert bad == [], f"the page shows {bad}: {lines}"
    figures = _seen(page)
    for f in figures:
        where = f"{f['section']}: {f['title']!r}"
        assert f["traces"] > 0 and f["drawn"] > 0, f"{where} draws nothing"
        if "sequence length" in f["xtitle"].lower():
            assert len(f["xs"]) >= 2, f"{where}: against T with one T ({f['xs']})"
        for button in f["buttons"]:
            assert not _overlap(button, f["titleBox"]), f"{where}: a button covers the title"
        assert not _overlap(f["legend"], f["titleBox"]), f"{where}: the legend covers the title"
        assert f["area"]["w"] >= 280 and f["area"]["h"] >= 180, f"{where}: plot area {f['area']}"
        assert f["figure"]["x"] + f["figure"]["w"] <= width, f"{where} runs off the page"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    return figures


LAPTOP = {"width": 1280, "height": 800}
WIDE = {"width": 1400, "height": 900}


def _open_report(runs: Path, tmp_path: Path, page: Page) -> None:
    output = tmp_path / "report.html"
    assert cli.main(["report", str(runs), "-o", str(output)]) == 0
    page.goto(output.as_uri())


def test_demo_dashboard_reads_at_a_glance(demo_runs, tmp_path, recorded):
    """The synthetic demo (one length per task; cells without heads beside block models with
    them; lr 1e-2 for cells, 3e-3 for block models): labels are the model names, no figure is
    drawn against T, no button covers a title, and it fits a wide and a laptop screen."""
    page = recorded.page
    _open_report(demo_runs, tmp_path, page)
    for viewport in (WIDE, LAPTOP):
        page.set_viewport_size(viewport)
        page.reload()
        figures = _assert_reads_at_a_glance(page, viewport["width"])
    assert page.inner_text("#note") == DEMO_NOTE
    sections = [f["section"] for f in figures]
    assert "comparison" not in sections and "solved" not in sections  # one T per task
    assert sections.count("curves") == 2 and sections.count("sequences") == 2
    models = {"lstm", "gru", "rnn", "transformer", "mlstm", "xlstm[1:1]"}
    for f in figures:
        assert set(f["names"]) <= models, f"{f['title']!r}: legend {f['names']}"
        assert f["table"], f"{f['title']!r} has no table"
    assert set(figures[0]["names"]) == models
    page.set_viewport_size(WIDE)
    page.reload()
    _seen(page)
    _screenshot(page, "demo-dashboard.png")
    recorded.assert_clean(port=None)


def test_study_dashboard_has_every_comparison(study_runs, tmp_path, recorded):
    """Curves with each seed on demand, sequences to solve against T (unsolved seeds at their
    budget), length generalisation (training lengths marked), the learning-rate view."""
    page = recorded.page
    page.set_viewport_size(WIDE)
    _open_report(study_runs, tmp_path, page)
    figures = _assert_reads_at_a_glance(page, WIDE["width"])
    by = {}
    for f in figures:
        by.setdefault(f["section"], []).append(f)
        # the heatmap is a table of seeds solved itself
        assert f["table"] == (f["section"] != "solved"), f"{f['title']!r}: table {f['table']}"
    assert set(by) == {"curves", "comparison", "sequences", "lengths", "hyper", "solved"}

    # sequences to solve against T for copy: the RNN's unsolved seeds at their budgets
    copy = next(f for f in by["sequences"] if f["title"].startswith("copy"))
    assert sorted(copy["xs"], key=float) == ["10", "20", "40"]
    unsolved = page.evaluate(
        "id => document.getElementById(id)._fullData.filter(t => t.meta === 'unsolved')"
        ".map(t => [t.name, Array.from(t.x), Array.from(t.y)])",
        copy["id"],
    )
    assert unsolved and {name for name, _, _ in unsolved} == {"rnn"}
    points = {(x, y) for _, xs, ys in unsolved for x, y in zip(xs, ys, strict=True)}
    assert points == {(20, 3000 * 64), (40, 6000 * 64)}  # train.steps x batch

    # length generalisation: score against the evaluated length, the training lengths marked
    (lengths,) = by["lengths"]
    assert sorted(lengths["xs"], key=float) == ["20", "40", "80"]
    assert "score" in lengths["ytitle"]
    shaded = [s for s in lengths["shapes"] if s["x0"] <= 1 and s["x1"] == pytest.approx(20)]
    assert shaded, lengths["shapes"]

    # the hyper-parameter view: final mse against lr, a line per model, on a log axis
    (hyper,) = by["hyper"]
    assert "lr" in hyper["xtitle"] and hyper["xtype"] == "log"
    assert sorted(hyper["xs"], key=float) == ["0.001", "0.003", "0.01"]
    assert set(hyper["names"]) == {"lstm", "transformer"}

    # each seed's own curve, on demand
    curve = next(f for f in by["curves"] if f["title"].startswith("copy T=40"))
    seeds_js = (
        "id => document.getElementById(id)._fullData"
        ".filter(t => t.meta === 'seed' && t.visible === true).length"
    )
    assert page.evaluate(seeds_js, curve["id"]) == 0
    page.locator(f"#{curve['id']} .updatemenu-button", has_text="each seed").click()
    page.wait_for_function(f"id => ({seeds_js})(id) > 0", arg=curve["id"])
    assert page.evaluate(seeds_js, curve["id"]) == 3 * 3  # three models, three seeds
    after = {f["id"]: f for f in _assert_reads_at_a_glance(page, WIDE["width"])}[curve["id"]]
    assert sorted(after["names"]) == ["gru", "lstm", "rnn"]  # the legend still names them
    _screenshot(page, "study-dashboard.png")
    recorded.assert_clean(port=None)


def test_a_sweep_that_has_just_started_draws_no_empty_figure(tmp_path, recorded):
    """What a live dashboard shows early in a sweep: one run finished, one half way (a seed
    solved, one still training), two not yet evaluated (one of them the only run of its
    task). Every figure drawn has data; the runs table lists all four."""
    root = tmp_path / "started"
    write_run(root, "copy10_lstm", model="lstm")
    write_run(root, "copy20_lstm", length=20, seeds=(Seed(150), Seed(None)), running_at=300)
    write_run(root, "copy10_gru", model="gru", running_at=-1)
    write_run(root, "adding20_lstm", task="adding", length=20, running_at=-1)
    page = recorded.page
    page.set_viewport_size(WIDE)
    _open_report(root, tmp_path, page)
    figures = _assert_reads_at_a_glance(page, WIDE["width"])
    assert not any(f["title"].startswith("adding") for f in figures)  # nothing to draw yet
    assert len(_rows(page)) == 4
    sequences = next(f for f in figures if f["section"] == "sequences")
    unsolved = page.evaluate(
        "id => document.getElementById(id)._fullData.filter(t => t.meta === 'unsolved').length",
        sequences["id"],
    )
    assert unsolved == 0  # the unsolved seed is still training: not drawn at its budget
    recorded.assert_clean(port=None)
