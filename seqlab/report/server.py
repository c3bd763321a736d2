"""`seqlab dashboard`: the report page served live from a directory of runs.

The page is rebuilt when the runs' records change (their files' sizes and modification
times, polled by the page every 2 s at /version), so a dashboard opened on a running sweep
follows it. Besides the page it serves plotly.js and the files of the runs below the
directory, read-only; a path that leaves the directory is refused (403).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from seqlab.report.data import NoRuns, collect
from seqlab.report.page import render
from seqlab.results.load import check_directory

# The files whose changes show in the dashboard.
WATCHED = frozenset({"summary.json", "metrics.jsonl", "config.json", "sweep.json"})
FILES_PREFIX = "/runs/"
CONTENT_TYPES = {".json": "application/json", ".jsonl": "text/plain", ".log": "text/plain"}


def fingerprint(root: Path) -> str:
    """Changes whenever a run below `root` records something the dashboard shows."""
    h = hashlib.sha1()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "checkpoints" and not d.startswith("."))
        for name in sorted(WATCHED.intersection(filenames)):
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            h.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class Dashboard:
    """Builds the page for `root`, once per change of its runs."""

    def __init__(self, root: Path):
        self.root = check_directory(root).resolve()
        self._lock = threading.Lock()
        self._cached: tuple[str, bytes] | None = None

    def page(self) -> bytes:
        version = fingerprint(self.root)
        with self._lock:
            if self._cached is None or self._cached[0] != version:
                self._cached = (version, self._build().encode())
            return self._cached[1]

    def _build(self) -> str:
        title = f"seqlab: {self.root.name}"
        tag = '<script src="plotly.min.js"></script>'
        try:
            report = collect(self.root)
        except NoRuns as e:
            return render(None, title=title, plotly_tag=tag, live=True, message=str(e))
        return render(report, title=title, plotly_tag=tag, link=self._link, live=True)

    def _link(self, path: str, name: str) -> str | None:
        run_dir = Path(path).resolve()
        if not (run_dir / name).is_file():
            return None
        return FILES_PREFIX + quote(f"{run_dir.relative_to(self.root).as_posix()}/{name}")

    def run_file(self, url_path: str) -> Path:
        """The file below root that /runs/<path> names; PermissionError if it leaves root."""
        relative = unquote(url_path[len(FILES_PREFIX) :])
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root):
            raise PermissionError(relative)
        if not target.is_file():
            raise FileNotFoundError(relative)
        return target


def _handler(dashboard: Dashboard) -> type[BaseHTTPRequestHandler]:
    from plotly.offline import get_plotlyjs

    plotly_js = get_plotlyjs().encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "seqlab-dashboard"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if ".." in unquote(path).split("/"):
                self._send(HTTPStatus.FORBIDDEN, b"forbidden: the path leaves the directory")
            elif path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, dashboard.page(), "text/html; charset=utf-8")
            elif path == "/version":
                body = json.dumps({"version": fingerprint(dashboard.root)}).encode()
                self._send(HTTPStatus.OK, body, "application/json", cache=False)
            elif path == "/plotly.min.js":
                self._send(HTTPStatus.OK, plotly_js, "text/javascript", cache=True)
            elif path.startswith(FILES_PREFIX):
                self._send_run_file(path)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found")

        def _send_run_file(self, path: str) -> None:
            try:
                target = dashboard.run_file(path)
            except PermissionError:
                self._send(HTTPStatus.FORBIDDEN, b"forbidden: the path leaves the directory")
                return
            except (FileNotFoundError, OSError):
                self._send(HTTPStatus.NOT_FOUND, b"not found")
                return
            kind = CONTENT_TYPES.get(target.suffix, "application/octet-stream")
            self._send(HTTPStatus.OK, target.read_bytes(), f"{kind}; charset=utf-8")

        def _send(self, status, body: bytes, kind="text/plain; charset=utf-8", cache=False):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=86400" if cache else "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:
            pass  # quiet: the terminal shows the address and the sweep's progress

    return Handler


def make_server(root: str | Path, host: str = "127.0.0.1", port: int = 8050) -> ThreadingHTTPServer:
    """The dashboard server (not yet serving: call serve_forever). Port 0 picks a free port."""
    dashboard = Dashboard(Path(root))
    server = ThreadingHTTPServer((host, port), _handler(dashboard))
    server.daemon_threads = True
    return server
