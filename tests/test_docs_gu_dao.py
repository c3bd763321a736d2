"""REPRODUCTIONS.md's Gu & Dao 2023 blocks: selective copying beside Table 1, induction heads
at every tested length beside Table 2."""

import json

from seqlab.docs import gu_dao, papers
from seqlab.docs.studies import Studies


def _row(task, model, seed, solved_at=None, **finals):
    return {
        "run": f"{task}-{model}", "task": task, "length": 64, "model": model, "seed": seed,
        "params": 5000, "state_size": 1024, "built.hidden": 64, "solved": solved_at is not None,
        "solved_sequences": solved_at, "budget_sequences": 96_000, "status": "completed",
        **finals,
    }  # fmt: skip


def _studies(tmp_path, rows) -> Studies:
    results = tmp_path / "results"
    results.mkdir()
    (results / "gu_dao2023.json").write_text(json.dumps({
        "format": "seqlab-study/1", "study": "gu_dao2023", "written": "2026-12-07",
        "seqlab_commit": "abc1234", "machine": ["a test machine"], "runs": 2,
        "common_config": {}, "seeds": rows, "curves": [],
    }))  # fmt: skip
    return Studies(results, tmp_path / "figures", write_figures=False)


def test_copying_counts_solved_seeds_and_places_the_papers_layer(tmp_path):
    rows = [_row("selective_copy", "mamba", s, 6400 * (s + 1), **{"final.accuracy": 1.0})
            for s in (0, 1)]  # fmt: skip
    rows += [_row("selective_copy", "lru", s, **{"final.accuracy": 0.3}) for s in (0, 1)]
    table = gu_dao.copying_table(_studies(tmp_path, rows))
    mamba = next(r for r in table.splitlines() if r.startswith("| mamba (64)"))
    lru = next(r for r in table.splitlines() if r.startswith("| lru (64)"))
    assert "| 2/2 · 9,600 |" in mamba and papers.GU_DAO_2023_TABLE_1["mamba"] in mamba
    assert "| 0/2 · > 96,000 |" in lru and "0.300" in lru


def test_induction_shows_every_tested_length(tmp_path):
    finals = {"final.accuracy": 1.0, "final@128.accuracy": 1.0, "final@4096.accuracy": 0.25}
    rows = [_row("induction_heads", "transformer", s, **finals) for s in (0, 1)]
    table = gu_dao.induction_table(_studies(tmp_path, rows))
    assert table.splitlines()[0].startswith("| model (width) | T=64 (trained) | 128 | 4096 |")
    assert "| 0.250 ± 0 |" in table
