"""`seqlab report` and `seqlab dashboard` without a browser: content, escaping, robustness,
the live server's routes and its refusal of paths that leave the directory."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from seqlab import cli
from seqlab.report import collect
from seqlab.report.data import curve_bands, runs_table
from seqlab.report.server import fingerprint, make_server

MODELS = ("lstm", "rnn")


def run_dirs(workdir: Path) -> list[Path]:
    return sorted(p for p in workdir.iterdir() if (p / "summary.json").exists())


def write_report(workdir: Path, tmp_path: Path, capsys) -> str:
    out = tmp_path / "report.html"
    assert cli.main(["report", str(workdir), "-o", str(out)]) == 0
    assert f"dashboard: {out.resolve()}" in capsys.readouterr().out
    return out.read_text()


def plot_data(page: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/json" id="plot-\d+-data">(.*?)</script>', page)
    return [json.loads(b) for b in blocks]


def test_report_file_is_self_contained_with_every_section(sweep_copy, tmp_path, capsys):
    page = write_report(sweep_copy, tmp_path, capsys)
    for section in ("curves", "sequences", "comparison", "solved", "runs"):
        assert f'<section id="{section}">' in page
    for section in ("lengths", "hyper"):  # no eval.lengths, no swept setting
        assert f'<section id="{section}">' not in page
    assert "Plotly" in page and not re.search(r"<(script|link)[^>]+(src|href)=\"?https?:", page)
    plots = plot_data(page)
    # learning curves for copy T=4 and T=6, sequences to solve, loss against T, the heatmap
    assert len(plots) == 7  # ... and the final loss against state size at T=4 and T=6
    titles = [p["layout"]["title"]["text"] for p in plots]
    assert titles[:2] == ["copy T=4: held-out loss", "copy T=6: held-out loss"]
    curve_names = {t["name"] for t in plots[0]["data"] if t.get("showlegend") is not False}
    assert curve_names == set(MODELS)
    assert any("chance" in a["text"] for a in plots[0]["layout"]["annotations"])
    assert len(re.findall(r"<tr data-task=", page)) == 4
    heatmap = plots[4]["data"][0]
    assert heatmap["type"] == "heatmap" and sorted(heatmap["y"]) == sorted(MODELS)


def test_curves_are_seed_means_with_student_t_bands(tiny_sweep):
    report = collect(tiny_sweep)
    bands = curve_bands(report)
    assert set(bands["seeds"]) == {2} and bands["ci"].notna().all()
    m = report.metrics
    row = bands.iloc[len(bands) // 2]
    values = m[
        (m["split"] == "eval")
        & (m["model"] == row["model"])
        & (m["length"] == row["length"])
        & (m["step"] == row["step"])
    ]["loss"].to_numpy()
    assert len(values) == 2
    assert row["mean"] == pytest.approx(values.mean())
    half = 12.7062047 * values.std(ddof=1) / np.sqrt(2)  # t(0.975, 1 dof)
    assert row["ci"] == pytest.approx(half, rel=1e-6)


def test_config_is_shown_as_its_difference_from_the_sweeps_base(tiny_sweep):
    manifest = json.loads((tiny_sweep / "sweep.json").read_text())
    assert len(manifest["bases"]) == 1
    assert all(r["base"] in manifest["bases"] for r in manifest["runs"])
    rows = {(r["model"], r["length"]): r for r in runs_table(collect(tiny_sweep))}
    diff = rows[("rnn", 6)]["diff"]
    assert diff["model.name"] == "rnn" and diff["task.length"] == 6
    assert diff["model.hidden"] == 8 and diff["train.seeds"] == 2
    assert "optim.lr" not in diff  # the sweep does not change it
    assert diff["track.group"] == "tiny"  # W&B groups a sweep's runs under the sweep's name


def test_strings_from_runs_are_escaped(sweep_copy, tmp_path, capsys):
    payload = '<img src=x onerror="alert(1)">'
    victim = run_dirs(sweep_copy)[0]
    summary = json.loads((victim / "summary.json").read_text())
    summary["model"] = f"</script><script>alert(2)</script>{payload}"
    (victim / "summary.json").write_text(json.dumps(summary))
    config = json.loads((victim / "config.json").read_text())
    config["track"]["tags"] = [payload]
    (victim / "config.json").write_text(json.dumps(config))
    victim.rename(victim.with_name(f"{victim.name}{payload}"))
    page = write_report(sweep_copy, tmp_path, capsys)
    assert payload not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page  # shown, as text
    names = [t.get("name", "") for p in plot_data(page) for t in p["data"]]
    assert any("&lt;/script&gt;" in n for n in names)  # plotly gets escaped names too


def test_truncated_metrics_line_is_skipped_and_counted(sweep_copy, tmp_path, capsys):
    victim = run_dirs(sweep_copy)[1]
    with open(victim / "metrics.jsonl", "a") as f:
        f.write('{"step": 40, "seed": 0, "split": "ev')  # a crash mid-write
    page = write_report(sweep_copy, tmp_path, capsys)
    warnings = re.search(r'<div id="warnings".*?</div>', page, re.S).group(0)
    assert "1 unreadable line(s) in metrics.jsonl skipped" in warnings
    assert victim.name in warnings
    assert "(1 bad metrics lines)" in page
    assert len(plot_data(page)) == 7


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_bad_directory_is_one_line_exit_2_and_writes_nothing(kind, tmp_path, capsys):
    target = tmp_path / "runs"
    if kind == "empty":
        target.mkdir()
    elif kind == "file":
        target.write_text("x")
    out = tmp_path / "report.html"
    assert cli.main(["report", str(target), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    expected = {
        "missing": "does not exist",
        "empty": "no seqlab runs under",
        "file": "is not a directory",
    }
    assert len(err.splitlines()) == 1 and expected[kind] in err
    assert not out.exists() and not list(tmp_path.glob(".report.html*"))


# ---- the live server --------------------------------------------------------------------


@pytest.fixture
def serve():
    servers = []

    def start(root: Path) -> int:
        server = make_server(root, port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)  # sent as written: no client-side normalisation of ".."
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_dashboard_serves_the_page_version_and_run_files(sweep_copy, serve):
    port = serve(sweep_copy)
    status, page = get(port, "/")
    assert status == 200 and b'data-live="1"' in page and b'src="plotly.min.js"' in page
    assert page.count(b"<tr data-task=") == 4
    status, js = get(port, "/plotly.min.js")
    assert status == 200 and len(js) > 1_000_000
    run = run_dirs(sweep_copy)[0]
    status, body = get(port, f"/runs/{run.name}/config.json")
    assert status == 200 and json.loads(body) == json.loads((run / "config.json").read_text())
    assert f'href="/runs/{run.name}/config.json"'.encode() in page
    before = json.loads(get(port, "/version")[1])["version"]
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 99, "seed": 0, "split": "eval", "loss": 0.1}\n')
    assert json.loads(get(port, "/version")[1])["version"] != before


def test_dashboard_refuses_paths_that_leave_its_directory(sweep_copy, serve, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (sweep_copy / "link").symlink_to(secret)
    port = serve(sweep_copy)
    for path in (
        "/runs/../secret.txt",
        "/runs/%2e%2e/secret.txt",
        "/runs/..%2fsecret.txt",
        "/runs/link",
        "/../secret.txt",
    ):
        status, body = get(port, path)
        assert status == 403, path
        assert b"not yours" not in body
    assert get(port, "/runs/nothing/here.json")[0] == 404


def test_dashboard_of_an_empty_directory_waits_with_a_message(tmp_path, serve):
    port = serve(tmp_path)
    status, page = get(port, "/")
    assert status == 200 and b'id="message"' in page and b"no seqlab runs under" in page
    assert b'data-live="1"' in page  # and it keeps polling for the first run
    assert fingerprint(tmp_path) == json.loads(get(port, "/version")[1])["version"]


def test_dashboard_port_in_use_is_a_one_line_error(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["dashboard", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot serve on 127.0.0.1:{port}" in err
    assert cli.main(["dashboard", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
