"""`seqlab report PATH -o report.html`, `seqlab dashboard PATH --port 8050`, and
`seqlab figures PATH -o DIR` (seqlab/report/static.py).

seqlab report runs/zoo_quick -o runs/zoo_quick/report.html
seqlab dashboard runs/zoo_copy            # http://127.0.0.1:8050/, live
seqlab figures runs/zoo_copy -o figures/  # the dashboard's figures as PNG (or --format svg)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from seqlab.config import ConfigError


def add_parsers(subparsers) -> None:
    """Registers `report` and `dashboard` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "report", help="write the results dashboard of the runs below a directory to one HTML file"
    )
    p.add_argument("path", help="a sweep workdir, a run directory, or any folder of runs")
    p.add_argument("-o", "--output", help="HTML file to write (default PATH/report.html)")
    p.set_defaults(run=run_report)
    p = subparsers.add_parser(
        "dashboard", help="serve the results dashboard of a directory, live, on localhost"
    )
    p.add_argument("path", help="a sweep workdir (it may still be empty) or any folder of runs")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050; 0: any free)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.set_defaults(run=run_dashboard)
    from seqlab.report.static import add_parser as add_figures

    add_figures(subparsers)


def write_report(path: str | Path, output: str | Path) -> Path:
    """Writes the self-contained dashboard of the runs below `path` to `output`, atomically.

    Raises ConfigError (a missing directory, no runs) before anything is written.
    """
    from seqlab.report.data import collect
    from seqlab.report.page import inline_plotly, render

    report = collect(path)
    output = Path(output)
    if output.exists() and output.is_dir():
        raise ConfigError(f"--output {str(output)!r} is a directory; give an .html file path")
    if not output.parent.exists():
        raise ConfigError(f"--output {str(output)!r}: directory {str(output.parent)!r} is missing")
    base = output.parent.resolve()

    def link(run_path: str, name: str) -> str | None:
        target = Path(run_path).resolve() / name
        return Path(os.path.relpath(target, base)).as_posix() if target.is_file() else None

    title = f"seqlab: {Path(path).resolve().name}"
    text = render(report, title=title, plotly_tag=inline_plotly(), link=link)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; a report is not
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output


def run_report(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    output = args.output or str(Path(args.path) / "report.html")
    written = write_report(args.path, output)
    print(f"dashboard: {written.resolve()}")
    return 0


def run_dashboard(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a port number (0-65535)")
    from seqlab.report.server import make_server

    try:
        server = make_server(args.path, args.host, args.port)
    except OSError as e:
        raise ConfigError(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}") from None
    host, port = server.server_address[:2]
    print(f"dashboard of {args.path} at http://{host}:{port}/ (live; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.stdout.flush()
    return 0
