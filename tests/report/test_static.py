"""`seqlab figures`: the dashboard's figures as PNG and SVG files, drawn offline by kaleido in
the system chromium; a missing requirement or bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import struct
import sys
import xml.etree.ElementTree as ET

import pytest

from seqlab import cli
from seqlab.report import collect
from seqlab.report.views import views


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def svg_text(path) -> str:
    svg = ET.fromstring(path.read_text())
    return " ".join(t.text or "" for t in svg.iter() if t.tag.endswith("text"))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_writes_every_dashboard_figure_as_png_and_svg(study_runs, tmp_path, chromium, capsys):
    names = [v.name for v in views(collect(study_runs))]
    out = tmp_path / "figures"
    args = ["figures", str(study_runs), "-o", str(out), "--width", "600", "--scale", "1"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / f"{n}.png") for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.png" for n in names)
    assert png_size((out / "curves-copy-T10.png").read_bytes()) == (600, 420)
    assert png_size((out / "hyper-adding-T20-lr.png").read_bytes()) == (600, 420)

    sections = ["--section", "lengths", "--section", "curves"]
    assert cli.main([*args, "--format", "svg", *sections]) == 0
    text = svg_text(out / "lengths-parity-T20.svg")
    assert "parity trained at T=1..20: final score at other lengths" in text
    assert "lstm" in text and "transformer" in text and "trained (T=1..20)" in text
    text = svg_text(out / "curves-copy-T10.svg")
    assert "copy T=10: held-out loss" in text and "chance" in text
    assert "each seed" not in text  # no buttons in a document


def test_the_page_kaleido_draws_in_loads_nothing_from_a_network():
    from kaleido import PageGenerator

    page = PageGenerator(mathjax=False).generate_index()  # what static.py asks kaleido for
    assert "http://" not in page and "https://" not in page
    assert "plotly.min.js" in page


@pytest.mark.parametrize("missing", ["kaleido", "browser", "browser_path"])
def test_missing_requirement_is_one_line_naming_the_fix(
    missing, demo_runs, tmp_path, monkeypatch, capsys
):
    if missing == "kaleido":
        monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido raises ImportError
    elif missing == "browser":
        monkeypatch.delenv("BROWSER_PATH", raising=False)
        monkeypatch.setenv("PATH", str(tmp_path))  # no chromium, chrome, google-chrome
    else:
        monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    out = tmp_path / "figures"
    assert cli.main(["figures", str(demo_runs), "-o", str(out)]) == 2
    err = one_line_error(capsys)
    expected = {
        "kaleido": "pip install 'kaleido>=1'",
        "browser": "tools/install_chromium.sh",
        "browser_path": "is not an executable",
    }[missing]
    assert expected in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "jpeg"], "unknown format 'jpeg'; valid choices: png, svg"),
        (["--section", "nope"], "unknown section 'nope'; valid choices: curves, sequences"),
        (["--width", "5"], "--width 5 is not a figure width"),
        (["--section", "lengths"], "no figure of section(s) lengths for these runs"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(extra, message, demo_runs, tmp_path, capsys):
    out = tmp_path / "figures"
    assert cli.main(["figures", str(demo_runs), "-o", str(out), *extra]) == 2
    assert message in one_line_error(capsys)
    assert not out.exists()


def test_output_that_is_a_file_or_runs_that_are_missing(demo_runs, tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("x")
    assert cli.main(["figures", str(demo_runs), "-o", str(taken)]) == 2
    assert "is a file; give a directory" in one_line_error(capsys)
    assert taken.read_text() == "x"
    assert cli.main(["figures", str(tmp_path / "none"), "-o", str(tmp_path / "f")]) == 2
    assert "does not exist" in one_line_error(capsys)


def test_draws_where_an_event_loop_already_runs(demo_runs, tmp_path, chromium):
    """A notebook's kernel runs an asyncio loop: write_figures draws in a thread of its own."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from seqlab.report.static import write_figures

    async def in_a_loop():
        return write_figures(demo_runs, tmp_path / "f", width=400, scale=1, sections=["curves"])

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of the test's own, whatever
        written = pool.submit(asyncio.run, in_a_loop()).result()  # runs in this one
    assert [p.name for p in written] == ["curves-adding-T20.png", "curves-copy-T10.png"]
    assert png_size(written[0].read_bytes()) == (400, 420)
