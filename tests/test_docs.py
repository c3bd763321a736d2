"""seqlab docs: generated blocks rendered from committed results; the repository's documents
are up to date with its committed results."""

import json
from pathlib import Path

import pytest

from seqlab.cli import main
from seqlab.config import ConfigError
from seqlab.docs import blocks
from seqlab.docs.render import render
from seqlab.docs.studies import Studies

ROOT = Path(__file__).resolve().parents[1]


def test_committed_documents_match_the_committed_results(monkeypatch, capsys):
    """Every number in REPRODUCTIONS.md and experiments/*.md comes from experiments/results:
    a changed result file or a hand-edited table fails here until `seqlab docs` is run."""
    monkeypatch.chdir(ROOT)
    code = main(["docs", "--check"])
    assert code == 0, capsys.readouterr().out


def _study(path: Path, rows):
    """A minimal export file: the seeds of one study, no curves."""
    path.write_text(json.dumps({
        "format": "seqlab-study/1", "study": path.stem, "written": "2026-12-06 00:00:00 +0000",
        "seqlab_commit": "abc1234", "machine": ["a test machine"], "runs": len(rows),
        "common_config": {}, "seeds": rows, "curves": [],
    }))  # fmt: skip


def _seed(length, seed, solved_at, accuracy=1.0, step=300_000):
    """A seed at batch 1 with a ceiling of 300,000 steps; `step`: the step its run reached."""
    return {
        "run": f"r{length}", "task": "adding_1997", "length": length, "model": "lstm1997",
        "seed": seed, "solved": solved_at is not None, "solved_at": solved_at,
        "solved_sequences": solved_at, "budget_sequences": 300_000, "final.accuracy": accuracy,
        "status": "completed", "step": solved_at or step, "steps": 300_000,
        "cfg.train.batch_size": 1,
    }  # fmt: skip


def test_blocks_render_tables_from_the_results_and_keep_prose(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    _study(results / "hochreiter1997.json",
           [_seed(100, 0, 70_000), _seed(100, 1, 90_000), _seed(100, 2, None, 0.99)])  # fmt: skip
    doc = "Prose above.\n<!-- generated: hochreiter1997.table -->\nold\n<!-- end: hochreiter1997.table -->\nProse below.\n"  # noqa: E501
    studies = Studies(results, tmp_path / "figures", write_figures=False)
    out = render(doc, studies)
    assert out.startswith("Prose above.\n<!-- generated: hochreiter1997.table -->\n| T |")
    assert out.endswith("<!-- end: hochreiter1997.table -->\nProse below.\n")
    row = next(line for line in out.splitlines() if line.startswith("| 100 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "74,000"  # the paper's Table 7
    assert cells[2] == "2/3"
    assert cells[3].startswith("80,000 ± ") and cells[3].endswith("(80,000)")
    assert cells[4] == "300,000 (the ceiling)"  # the unsolved seed trained to the ceiling
    assert cells[5] == "1.08"  # 80,000 / 74,000
    assert render(out, studies) == out  # rendering is idempotent


def test_a_stopped_run_reports_the_sequences_it_trained_not_its_ceiling(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    _study(results / "hochreiter1997.json",
           [_seed(1000, 0, None, 0.5, step=120_000), _seed(1000, 1, 90_000)])  # fmt: skip
    studies = Studies(results, tmp_path / "figures", write_figures=False)
    row = next(line for line in blocks.hochreiter_table(studies).splitlines() if "| 1000 |" in line)
    assert "120,000 (stopped; ceiling 300,000)" in row


def test_a_study_without_results_says_how_to_make_them(tmp_path):
    studies = Studies(tmp_path, tmp_path / "figures", write_figures=False)
    doc = "<!-- generated: arjovsky2016.copy -->\n<!-- end: arjovsky2016.copy -->\n"
    out = render(doc, studies)
    assert "No committed results for `arjovsky2016`" in out
    assert "seqlab sweep experiments/arjovsky2016.py" in out


def test_unknown_block_is_a_one_line_error(tmp_path):
    studies = Studies(tmp_path, tmp_path, write_figures=False)
    with pytest.raises(ConfigError, match="unknown generated block 'nope'; valid: "):
        render("<!-- generated: nope -->\n<!-- end: nope -->\n", studies, where="X.md")


def test_check_reports_a_stale_document_and_render_fixes_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments" / "results").mkdir(parents=True)
    _study(tmp_path / "experiments" / "results" / "hochreiter1997.json", [_seed(500, 0, 200_000)])
    doc = tmp_path / "REPRODUCTIONS.md"
    doc.write_text("<!-- generated: hochreiter1997.table -->\n<!-- end: hochreiter1997.table -->\n")
    assert main(["docs", "--check"]) == 1
    assert "out of date: REPRODUCTIONS.md" in capsys.readouterr().out
    assert main(["docs"]) == 0
    assert "| 500 | 209,000 | 1/1 |" in doc.read_text()
    assert main(["docs", "--check"]) == 0


def test_every_block_is_listed_and_callable():
    assert all(callable(f) for f in blocks.BLOCKS.values())
    assert len(blocks.BLOCKS) == len(set(blocks.BLOCKS.values()))
