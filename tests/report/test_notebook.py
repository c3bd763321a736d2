"""notebooks/analysis.ipynb: stored without outputs, and executed on the tiny sweep.

The notebook runs once per module in a real python3 kernel (this venv's ipykernel) started by
nbclient in notebooks/, as Jupyter starts it, with SEQLAB_RUNS naming the `tiny_sweep` fixture
(lstm and rnn on copy at T=4 and T=6, two seeds each). Two cells are added around the
notebook's own in the executed copy: one first that refuses and records any connection to a
host other than this one, one last that reports what was recorded.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "analysis.ipynb"
MODELS = ("lstm", "rnn")
# Cell id -> the figures it shows on the tiny sweep: one task (copy) at two lengths, no
# evaluation at other lengths, no swept setting.
FIGURE_CELLS = {
    "learning-curves": 2,
    "sequences-to-solve": 1,
    "loss-vs-length": 1,
    "solved-heatmap": 1,
    "length-generalisation": 0,
    "hyper-parameters": 0,
}
TABLE_CELLS = ("load", "table", "learning-curves", "sequences-to-solve", "loss-vs-length",
               "pivot-best-loss", "steps-to-solve")  # fmt: skip
PLOTLY = "application/vnd.plotly.v1+json"
CELL_TIMEOUT_S = 120

GUARD = """
import socket as _socket

_network_attempts = []
_LOCAL = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "")


def _is_local(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    return host in _LOCAL or host.startswith("127.")


def _check(what, host):
    if not _is_local(host):
        _network_attempts.append(f"{what} {host!r}")
        raise OSError(f"the notebook test allows no network: {what} {host!r}")


def _guard_connect(connect):
    def guarded(self, address, *args):
        if self.family in (_socket.AF_INET, _socket.AF_INET6):
            _check("connect to", address[0])
        return connect(self, address, *args)

    return guarded


_getaddrinfo = _socket.getaddrinfo


def _guarded_getaddrinfo(host, *args, **kwargs):
    _check("look up", host if host is not None else "")
    return _getaddrinfo(host, *args, **kwargs)


_socket.socket.connect = _guard_connect(_socket.socket.connect)
_socket.socket.connect_ex = _guard_connect(_socket.socket.connect_ex)
_socket.getaddrinfo = _guarded_getaddrinfo
"""
REPORT = """
import json as _json
import sys as _sys

print(_json.dumps({"network": _network_attempts, "executable": _sys.executable}))
"""
# A script or module a browser would fetch from another host when it shows an output.
REMOTE = re.compile(r"""(?:\bsrc\s*=\s*|\bimport\s*\(?\s*|\bhref\s*=\s*)["']https?://""")


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert {c.id for c in code} >= {*FIGURE_CELLS, *TABLE_CELLS}
    for cell in code:
        assert cell.outputs == [], f"cell {cell.id} is stored with outputs"
        assert cell.execution_count is None, f"cell {cell.id} is stored with an execution count"
    for before, cell in zip(nb.cells, nb.cells[1:], strict=False):
        if cell.cell_type == "code":
            assert before.cell_type == "markdown", f"no text explains cell {cell.id}"


@pytest.fixture(scope="module")
def executed(tiny_sweep) -> dict:
    """Outputs of each executed cell (by cell id), and what the report cell printed."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    run = copy.deepcopy(nb)
    run.cells.insert(0, new_code_cell(GUARD, id="test-guard"))
    run.cells.append(new_code_cell(REPORT, id="test-report"))
    # Relative to the repository root, not to notebooks/ where the kernel starts: this also
    # checks that the notebook resolves a relative SEQLAB_RUNS from the repository root.
    runs = os.path.relpath(tiny_sweep, ROOT)
    client = NotebookClient(
        run,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute(env={**os.environ, "SEQLAB_RUNS": runs})
    outputs = {cell.id: cell.outputs for cell in run.cells if cell.cell_type == "code"}
    report = json.loads(_stdout(outputs.pop("test-report")).strip().splitlines()[-1])
    return {"outputs": outputs, "report": report, "runs": tiny_sweep}


def _stdout(outputs) -> str:
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")


def _text(outputs, mime: str) -> str:
    return "".join(o.data.get(mime, "") for o in outputs if "data" in o)


def _values(v) -> np.ndarray:
    """A plotly array: a list, or (plotly >= 6) base64-encoded with a dtype."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return a.reshape(v["shape"]) if "shape" in v else a
    return np.asarray(v, dtype=object)


def _finite(v) -> bool:
    a = np.asarray(_values(v).tolist(), dtype=float)  # None -> NaN
    return bool(np.isfinite(a).any())


def _models_with_data(fig: dict) -> set[str]:
    """Models drawn with at least one finite value: a trace named after one, or a heatmap row."""
    drawn = set()
    for trace in fig["data"]:
        if trace.get("type") == "heatmap":
            rows = zip(_values(trace["y"]).tolist(), _values(trace["z"]).tolist(), strict=True)
            drawn |= {str(label) for label, z in rows if _finite(z)}
        elif "x" in trace and "y" in trace and len(_values(trace["x"])) and _finite(trace["y"]):
            drawn.add(trace.get("name"))
    return drawn


def test_no_cell_errors(executed):
    errors = [
        f"cell {cell_id}: {o.ename}: {o.evalue}\n" + "\n".join(o.traceback)
        for cell_id, outputs in executed["outputs"].items()
        for o in outputs
        if o.output_type == "error"
    ]
    assert not errors, "\n\n".join(errors)


def test_reads_the_sweep_named_by_seqlab_runs(executed):
    setup = _stdout(executed["outputs"]["setup"])
    assert setup.strip() == f"reading runs under {executed['runs'].resolve()}"
    load = _stdout(executed["outputs"]["load"])
    assert "4 runs, 8 seeds in all" in load
    assert "{'completed': 8}" in load


def test_figure_cells_show_plotly_figures_of_both_models(executed):
    for cell_id, count in FIGURE_CELLS.items():
        figs = [o.data[PLOTLY] for o in executed["outputs"][cell_id] if PLOTLY in o.get("data", {})]
        assert len(figs) == count, f"cell {cell_id}: {len(figs)} plotly figures, not {count}"
        for fig in figs:
            title = fig["layout"]["title"]["text"]
            assert _models_with_data(fig) >= set(MODELS), f"cell {cell_id}, {title!r}"
    outputs = executed["outputs"]["learning-curves"]
    curves = [o.data[PLOTLY] for o in outputs if PLOTLY in o.get("data", {})]
    titles = [fig["layout"]["title"]["text"] for fig in curves]
    assert [t.split(":")[0] for t in titles] == ["copy T=4", "copy T=6"]


def test_tables_name_both_models(executed):
    for cell_id in TABLE_CELLS:
        outputs = executed["outputs"][cell_id]
        for mime in ("text/plain", "text/html"):
            text = _text(outputs, mime)
            for model in MODELS:
                assert model in text, f"cell {cell_id}'s {mime} output does not name {model}"
    table = _text(executed["outputs"]["table"], "text/plain")
    assert "recall_accuracy" in table  # copy's solved-criterion metric, summarised per row


def test_runs_in_this_venv_and_reaches_no_network(executed):
    report = executed["report"]
    assert os.path.samefile(report["executable"], sys.executable)
    assert report["network"] == []
    for cell_id, outputs in executed["outputs"].items():
        for mime in ("text/html", "application/javascript"):
            match = REMOTE.search(_text(outputs, mime))
            assert match is None, f"cell {cell_id}'s {mime} output loads {match.group(0)}..."


UNREADABLE = re.compile(r"\b(nan|NaN|None|undefined)\b")


def _figure_texts(fig: dict) -> list[str]:
    """The texts a reader sees in a plotly figure: title, axis titles, trace names, annotations,
    heatmap labels."""
    layout = fig.get("layout", {})
    texts = [str((layout.get("title") or {}).get("text", ""))]
    for axis in ("xaxis", "yaxis"):
        texts.append(str(((layout.get(axis) or {}).get("title") or {}).get("text", "")))
    texts += [str(a.get("text", "")) for a in layout.get("annotations", [])]
    for trace in fig.get("data", []):
        texts.append(str(trace.get("name", "")))
        if trace.get("type") == "heatmap":
            texts += [str(v) for v in _values(trace.get("y", [])).tolist()]
            texts += [str(v) for row in trace.get("text", []) for v in row]
    return texts


def test_no_output_shows_nan_none_or_undefined(executed):
    for cell_id, outputs in executed["outputs"].items():
        shown = [_stdout(outputs), _text(outputs, "text/plain"), _text(outputs, "text/html")]
        for o in outputs:
            if PLOTLY in o.get("data", {}):
                shown += _figure_texts(o.data[PLOTLY])
        for text in shown:
            match = UNREADABLE.search(text)
            line = next((x for x in text.splitlines() if UNREADABLE.search(x)), "")
            assert match is None, f"cell {cell_id} shows {match.group(0)!r}: {line.strip()!r}"
