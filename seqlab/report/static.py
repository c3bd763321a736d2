"""`seqlab figures PATH -o DIR`: the dashboard's figures as PNG or SVG files, for documents.

    seqlab figures runs/zoo_copy -o docs/figures/zoo_copy               # PNG, 900 px wide, 2x
    seqlab figures runs/zoo_copy -o paper/figures --format svg --section sequences

Every figure the dashboard shows (seqlab.report.views) becomes DIR/<view>.<format>, e.g.
`curves-copy-T10.png`, `sequences-copy.svg`, `hyper-adding-T20-lr.png`: the same plotly
figures, in their default state (means over seeds, final loss) and without their buttons.

They are drawn by plotly's static export, kaleido (>= 1), in the Chrome or Chromium already on
the machine: $BROWSER_PATH, else `chromium`, `chromium-browser`, `google-chrome` or `chrome`
on PATH (Debian: tools/install_chromium.sh). Nothing is downloaded: the page kaleido renders
loads plotly.js from the installed plotly package and MathJax is off, so it works offline.
Missing kaleido or browser, or bad input, is a one-line error (exit 2) before anything is
written; the files are written only once every figure has been drawn.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from seqlab.config import ConfigError

FORMATS = ("png", "svg")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FIX_BROWSER = (
    "install Chromium (Debian/Ubuntu, as root: tools/install_chromium.sh) or set BROWSER_PATH "
    "to a Chrome or Chromium executable"
)
RENDER_TIMEOUT_S = 120


def add_parser(subparsers) -> None:
    """Registers `figures` on the CLI's subparsers."""
    from seqlab.report.views import SECTIONS

    p = subparsers.add_parser(
        "figures", help="write the dashboard's figures of the runs below a directory as PNG/SVG"
    )
    p.add_argument("path", help="a sweep workdir, a run directory, or any folder of runs")
    p.add_argument("-o", "--output", required=True, help="directory to write the files into")
    p.add_argument("--format", default="png", help=f"{' or '.join(FORMATS)} (default png)")
    p.add_argument("--width", type=int, default=900, help="width in px (default 900)")
    p.add_argument("--scale", type=float, default=2.0, help="PNG pixels per px (default 2)")
    p.add_argument(
        "--section",
        action="append",
        default=None,
        help="only these figures: " + ", ".join(s for s, _ in SECTIONS) + " (repeatable)",
    )
    p.set_defaults(run=run)


def run(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    for path in write_figures(
        args.path, args.output, args.format, args.width, args.scale, args.section
    ):
        print(path)
    return 0


def find_browser() -> str:
    """The Chrome/Chromium executable to draw with; ConfigError naming the fix if none."""
    given = os.environ.get("BROWSER_PATH")
    if given:
        if not (Path(given).is_file() and os.access(given, os.X_OK)):
            raise ConfigError(f"BROWSER_PATH={given!r} is not an executable; {FIX_BROWSER}")
        return given
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        f"seqlab figures draws with Chrome or Chromium and found neither; {FIX_BROWSER}"
    )


def _kaleido():
    try:
        import kaleido
    except ImportError:
        raise ConfigError(
            "seqlab figures needs plotly's static export, kaleido >= 1: pip install 'kaleido>=1' "
            "(or reinstall seqlab: pip install -e .)"
        ) from None
    return kaleido


def _check(fmt: str, width: int, scale: float, sections, output: Path) -> None:
    from seqlab.report.views import SECTIONS

    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; valid choices: {', '.join(FORMATS)}")
    if not 100 <= width <= 10_000:
        raise ConfigError(f"--width {width} is not a figure width in px (100-10000)")
    if not 0 < scale <= 10:
        raise ConfigError(f"--scale {scale} is not a scale (above 0, at most 10)")
    known = [s for s, _ in SECTIONS]
    for section in sections or ():
        if section not in known:
            raise ConfigError(f"unknown section {section!r}; valid choices: {', '.join(known)}")
    if output.exists() and not output.is_dir():
        raise ConfigError(f"--output {str(output)!r} is a file; give a directory")
    if not output.parent.exists():
        raise ConfigError(f"--output {str(output)!r}: directory {str(output.parent)!r} is missing")


def static_figure(fig):
    """`fig` for a document: no buttons (a file cannot be clicked), white background."""
    fig = fig.to_dict()
    fig["layout"].pop("updatemenus", None)
    margin = fig["layout"].get("margin", {})
    if margin.get("t", 0) > 60:  # the buttons' row is gone
        fig["layout"]["margin"] = {**margin, "t": 56}
    return fig


def write_figures(
    path, output, fmt: str = "png", width: int = 900, scale: float = 2.0, sections=None
) -> list[Path]:
    """Draws every dashboard figure of the runs below `path` into directory `output`.

    Returns the files written. Raises ConfigError (bad input, no runs, kaleido or a browser
    missing, a figure that could not be drawn) before writing anything.
    """
    from seqlab.report import figures
    from seqlab.report.data import collect
    from seqlab.report.views import views

    output = Path(output)
    _check(fmt, width, scale, sections, output)
    report = collect(path)
    kaleido = _kaleido()
    browser = find_browser()
    chosen = [v for v in views(report) if not sections or v.section in sections]
    if not chosen:
        raise ConfigError(f"no figure of section(s) {', '.join(sections)} for these runs")
    figs = [(v.name, static_figure(figures.figure(report, v))) for v in chosen]
    images = _run(_render(kaleido, browser, figs, fmt, width, scale))
    output.mkdir(exist_ok=True)
    written = []
    for name, data in images:
        target = output / f"{name}.{fmt}"
        fd, tmp = tempfile.mkstemp(dir=output, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def _run(coroutine):
    """Runs `coroutine` to its end, also where an event loop already runs in this thread (a
    notebook, playwright's sync API): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _render(kaleido, browser: str, figs, fmt: str, width: int, scale: float):
    out = []
    try:
        async with kaleido.Kaleido(n=1, mathjax=False, path=browser, timeout=RENDER_TIMEOUT_S) as k:
            for name, fig in figs:
                height = fig["layout"].get("height") or 420
                opts = dict(format=fmt, width=width, height=height, scale=scale)
                out.append((name, await k.calc_fig(fig, opts=opts)))
    except ConfigError:
        raise
    except Exception as e:  # the browser would not start, or a figure failed to render
        first = (str(e).strip().splitlines() or [""])[0][:300]
        raise ConfigError(
            f"drawing the figures with {browser!r} failed: {type(e).__name__}: {first}"
        ) from None
    return out
