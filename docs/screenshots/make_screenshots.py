"""Screenshots of the dashboard for docs/screenshots/ (README, issue notes).

    .venv/bin/seqlab sweep experiments/zoo_quick.py --workdir /tmp/zq --jobs 1     # the demo
    .venv/bin/seqlab sweep docs/screenshots/study.py --workdir /tmp/study --jobs 1
    .venv/bin/python docs/screenshots/make_screenshots.py --demo /tmp/zq --study /tmp/study

Renders each sweep's report (seqlab report) and photographs parts of it in Debian's chromium,
headless (tools/install_chromium.sh), driven by playwright as tests/report/test_browser.py
drives it; writes the static figures of `seqlab figures` to static/.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from seqlab import cli

HERE = Path(__file__).resolve().parent
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]  # fmt: skip
DRAWN = (
    "() => Array.from(document.querySelectorAll('.plot')).every(d => "
    "d.querySelector('svg.main-svg'))"
)


def open_report(page: Page, runs: Path, tmp: Path, width: int, height: int) -> None:
    output = tmp / f"{runs.name}.html"
    if not output.exists():
        assert cli.main(["report", str(runs), "-o", str(output)]) == 0
    page.set_viewport_size({"width": width, "height": height})
    page.goto(output.as_uri())
    page.wait_for_function(DRAWN)
    page.wait_for_timeout(800)


def figure(page: Page, view: str):
    return page.locator(f'.figure[data-view="{view}"]')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--demo", type=Path, required=True, help="the demo's workdir")
    parser.add_argument("--study", type=Path, required=True, help="docs/screenshots/study.py's")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    out = args.out
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        tmp = Path(tmp)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page()
        open_report(page, args.demo, tmp, 1400, 900)
        page.screenshot(path=out / "demo-dashboard.png")
        page.locator("#sequences").screenshot(path=out / "demo-sequences.png")
        curves = figure(page, "curves-copy-T10")
        curves.locator(".updatemenu-button", has_text="each seed").click()
        page.wait_for_timeout(800)
        curves.screenshot(path=out / "demo-curves-each-seed.png")
        open_report(page, args.demo, tmp, 1280, 800)  # a laptop's screen
        page.screenshot(path=out / "demo-laptop.png")

        open_report(page, args.study, tmp, 1400, 900)
        figure(page, "sequences-copy").screenshot(path=out / "study-sequences-against-T.png")
        page.locator("#lengths").screenshot(path=out / "study-length-generalisation.png")
        page.locator("#hyper").screenshot(path=out / "study-hyperparameters.png")
        figure(page, "comparison-copy").screenshot(path=out / "study-loss-against-T.png")
        browser.close()
    static = out / "static"
    for fmt, sections in (("png", ["sequences", "lengths", "hyper"]), ("svg", ["lengths"])):
        args_ = ["figures", str(args.study), "-o", str(static), "--format", fmt]
        assert cli.main(args_ + [a for s in sections for a in ("--section", s)]) == 0


if __name__ == "__main__":
    main()
