"""REPRODUCTIONS.md's Delétang et al. blocks: the score is their protocol (mean accuracy above
the training length, maximum over seeds and learning rates), placed beside their Table 2."""

import json
from pathlib import Path

from seqlab.docs import deletang, papers
from seqlab.docs.studies import Studies


def _row(task, model, lr, seed, beyond, train_acc=1.0):
    """A seed trained on lengths 1..40, evaluated at 41, 100 (both `beyond[0]`) and 500."""
    return {
        "run": f"{task}-{model}-{lr}", "task": task, "length": 40, "model": model, "seed": seed,
        "cfg.optim.lr": lr, "final_step": 1500, "params": 1000, "built.hidden": 8,
        "final.accuracy": train_acc, "final@41.accuracy": beyond[0],
        "final@500.accuracy": beyond[1], "final@100.accuracy": beyond[0], "status": "completed",
        "run_status": "completed",
    }  # fmt: skip


def _studies(tmp_path: Path, rows, study: str = "deletang2023") -> Studies:
    results = tmp_path / "results"
    results.mkdir()
    (results / f"{study}.json").write_text(json.dumps({
        "format": "seqlab-study/1", "study": study, "written": "2026-12-07",
        "seqlab_commit": "abc1234", "machine": ["a test machine"], "runs": 2,
        "common_config": {}, "seeds": rows, "curves": [],
    }))  # fmt: skip
    return Studies(results, tmp_path / "figures", write_figures=False)


def _cells(table: str, first: str, second: str) -> list[str]:
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[:2] == [first, second]:
            return cells
    raise AssertionError(f"no row {first} {second} in\n{table}")


def test_paper_table_scores_the_best_seed_and_learning_rate(tmp_path):
    rows = [
        _row("parity", "lstm", 1e-3, 0, (1.0, 0.9)),  # score 0.967: the best single seed
        _row("parity", "lstm", 1e-3, 1, (0.5, 0.5)),  # this lr's mean: 0.733
        _row("parity", "lstm", 5e-4, 0, (0.8, 0.8)),  # this lr's mean: 0.8, the best lr
        _row("parity", "lstm", 5e-4, 1, (0.8, 0.8)),
    ]
    table = deletang.paper_table(_studies(tmp_path, rows))
    cells = _cells(table, "parity", "lstm")
    assert cells[2] == f"{papers.DELETANG_2023_TABLE_2['parity']['lstm']:.1f}"
    assert cells[3] == "96.7"  # max over seeds and learning rates
    assert cells[4].startswith("80.0")  # the best lr's mean over its seeds
    assert cells[6] == "1500 steps · lr 0.0005, 0.001 · 4 seeds"
    assert "lengths 41, 100, 500" in table


def test_parity_zoo_table_names_what_the_theorem_predicts(tmp_path):
    rows = [_row("parity", "mamba", 1e-3, s, (0.5, 0.5), 0.6) for s in (0, 1)]
    rows += [_row("parity", "lstm", 1e-3, s, (1.0, 1.0)) for s in (0, 1)]
    table = deletang.parity_zoo_table(_studies(tmp_path, rows, "grazzi2024"))
    lines = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert lines[0].startswith("| lstm (8)") and lines[1].startswith("| mamba (8)")  # by score
    assert _cells(table, "mamba (8)", "1,000")[-1] == papers.GRAZZI_2024_PARITY["mamba"]


def test_paper_table_flags_the_numbers_not_checked_against_the_paper(tmp_path):
    rows = [_row("even_pairs", m, 1e-3, 0, (1.0, 1.0)) for m in ("transformer", "lstm")]
    table = deletang.paper_table(_studies(tmp_path, rows))
    assert _cells(table, "even_pairs", "transformer")[2].endswith("(unchecked)")
    assert _cells(table, "even_pairs", "lstm")[2] == "100.0"


def _curve(run, split, accuracy, length=None):
    """An exported curve (columns over the evaluations at steps 1,000, 2,000, ...)."""
    steps = [1000 * (i + 1) for i in range(len(accuracy))]
    return {"run": run, "seed": 0, "split": split, "eval_length": length, "step": steps,
            "accuracy": accuracy, "loss": [1.0] * len(steps)}  # fmt: skip


def test_budget_table_follows_each_model_over_training(tmp_path):
    rows = [
        {**_row("modular_arithmetic", m, 1e-3, 0, (0.2, 0.2)), "run": m,
         "cfg.train.batch_size": 128}
        for m in ("lstm", "rnn")
    ]  # fmt: skip
    curves = [
        _curve("lstm", "eval", [0.3, 1.0]),
        _curve("lstm", "eval_length", [0.2, 1.0], 41),
        _curve("lstm", "eval_length", [0.4, 0.9], 500),
        _curve("rnn", "eval", [0.25]),
        _curve("rnn", "eval_length", [0.2], 41),
        _curve("rnn", "eval_length", [0.2], 500),
    ]
    studies = _studies(tmp_path, rows, "deletang2023_budget")
    path = tmp_path / "results" / "deletang2023_budget.json"
    path.write_text(path.read_text().replace('"curves": []', f'"curves": {json.dumps(curves)}'))
    table = deletang.budget_table(studies)
    assert table.splitlines()[0].endswith("| 1,000 | 2,000 |")
    lstm, rnn = "modular_arithmetic | lstm", "modular_arithmetic | rnn"
    assert f"| {lstm} | accuracy at 1..40 | 0.30 | 1.00 |" in table
    assert f"| {lstm} | score beyond (%) | 30.0 | 95.0 |" in table
    assert f"| {rnn} | score beyond (%) | 20.0 | – |" in table  # not evaluated at 2,000 yet
    assert "lengths 41, 500" in table


def test_positions_table_puts_each_encoding_beside_their_best_of_five(tmp_path):
    def transformer(positions, seed, beyond, task="even_pairs"):
        row = _row(task, "transformer", 1e-3, seed, beyond)
        return {**row, "run": f"{task}-{positions}", "cfg.model.positions": positions}

    main = [transformer("sinusoidal", s, (0.6, 0.6)) for s in (0, 1)]
    main += [{**_row("even_pairs", "lstm", 1e-3, 0, (1.0, 1.0)), "cfg.model.positions": "learned"}]
    main += [transformer("sinusoidal", 0, (0.5, 0.5), task="parity")]  # not a task studied here
    studies = _studies(tmp_path, main)
    positions = [transformer("rotary", 0, (0.9, 0.8)), transformer("rotary", 1, (0.7, 0.7))]
    positions += [transformer("alibi", 0, (0.7, 0.7))]
    positions += [transformer("none", s, (0.5, 0.5)) for s in (0, 1)]
    export = json.loads((tmp_path / "results" / "deletang2023.json").read_text())
    export.update(study="deletang2023_positions", seeds=positions)
    (tmp_path / "results" / "deletang2023_positions.json").write_text(json.dumps(export))
    table = deletang.positions_table(studies)
    rows = [line for line in table.splitlines() if line.startswith("| even_pairs")]
    assert [r.split("|")[2].strip() for r in rows] == ["sin/cos", "RoPE", "ALiBi", "none (NoPE)"]
    rope = _cells(table, "even_pairs", "RoPE")
    assert rope[2] == f"{papers.DELETANG_2023_TABLE_2['even_pairs']['transformer']:.1f} (unchecked)"
    assert rope[3] == "86.7"  # the best seed: (0.9 + 0.9 + 0.8) / 3 over lengths 41, 100, 500
    assert rope[4].startswith("78.3 ± ")  # the mean over the two seeds (86.7, 70.0)
    assert _cells(table, "even_pairs", "sin/cos")[3] == "60.0"
    assert "| parity |" not in table
