"""REPRODUCTIONS.md's xLSTM formal-language block, on a hand-written study exported as
`seqlab export` writes it: the score beyond the training lengths averaged over the evaluated
lengths (the training length itself left out), mean ± CI and best seed, beside the paper."""

import json

import pytest

from seqlab.docs import beck, papers
from seqlab.docs.studies import Studies
from seqlab.results.export import export
from tests.results import test_protocols as runs


def _run(root, name, model, scores, *, status="completed"):
    """scores: per seed, {L: score at L} with L=39 the training length (the 'final' score)."""
    seeds = []
    for i, by_length in enumerate(scores):
        at = {n: {"score": v, "accuracy": (1 + v) / 2} for n, v in by_length.items()}
        seeds.append(runs.seed(i, at.pop(39), lengths=at))
    run = runs.write_run(root, name, seeds, task="parity", length=39, model=model)
    summary = json.loads((run / "summary.json").read_text())
    summary["status"] = status
    summary["task"]["min_length"] = 2
    (run / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def studies(tmp_path):
    root = tmp_path / "runs" / "beck2024"
    _run(
        root, "xlstm11", "xlstm[1:1]", [{39: 1.0, 64: 1.0, 255: 0.8}, {39: 1.0, 64: 0.9, 255: 0.5}]
    )
    _run(root, "xlstm10", "xlstm[1:0]", [{39: 0.4, 64: 0.0, 255: 0.0}])
    _run(root, "lstm", "lstm", [{39: 0.2, 64: 0.2, 255: 0.2}], status="running")
    results = tmp_path / "results"
    results.mkdir()
    (results / "beck2024.json").write_text(json.dumps(export(root)))
    return Studies(results, tmp_path / "figures", write_figures=False)


def test_scores_beyond_the_training_length_beside_the_paper(studies):
    table = beck.formal_table(studies)
    rows = {r.split(" | ")[1]: r for r in table.splitlines() if r.startswith("| parity |")}
    # seed 0: (1.0 + 0.8) / 2 = 0.9; seed 1: (0.9 + 0.5) / 2 = 0.7; mean 0.8, best 0.9
    assert "| 0.80 ± " in rows["xlstm[1:1]"] and "| 0.90 | 1.00 ± 0 |" in rows["xlstm[1:1]"]
    assert papers.BECK_2024_FIGURE_4[("parity", "xlstm[1:1]")] in rows["xlstm[1:1]"]
    assert "| 0.00 | 0.00 | 0.40 |" in rows["xlstm[1:0]"]
    assert "lstm" not in rows  # its program had not finished
    assert "trained on lengths 2..39" in table and "lengths 64, 255" in table


def _curve(seed, split, values, length=None):
    """An exported curve of xLSTM[1:1]'s program: evaluations at steps 2,000, 4,000, ...;
    `values` the accuracy, the score being its chance-0 rescaling."""
    steps = [2000 * (i + 1) for i in range(len(values))]
    return {"run": "xlstm11", "seed": seed, "split": split, "eval_length": length, "step": steps,
            "accuracy": values, "score": [2 * v - 1 for v in values],
            "loss": [1.0] * len(steps)}  # fmt: skip


def test_longer_table_follows_each_seed_over_training(tmp_path):
    seeds = [
        {"run": "xlstm11", "task": "parity", "model": "xlstm[1:1]", "seed": i, "length": 39,
         "min_length": 2, "cfg.train.steps": 20000, "cfg.train.batch_size": 256,
         "cfg.optim.lr": 1e-3, "cfg.optim.warmup_steps": 2000, "run_status": "running",
         "final_step": 4000}
        for i in (1, 0)
    ]  # fmt: skip
    curves = [
        _curve(0, "eval", [0.6, 1.0]),
        _curve(0, "eval_length", [0.5, 1.0], 64),
        _curve(0, "eval_length", [0.5, 0.9], 255),
        _curve(1, "eval", [0.7]),  # seed 1's second evaluation is not in yet
        _curve(1, "eval_length", [0.55], 64),
        _curve(1, "eval_length", [0.45], 255),
    ]
    results = tmp_path / "results"
    results.mkdir()
    (results / "beck2024_longer.json").write_text(json.dumps({
        "format": "seqlab-study/1", "study": "beck2024_longer", "written": "2026-12-07",
        "seqlab_commit": "abc1234", "machine": ["a test machine"], "runs": 1,
        "common_config": {}, "seeds": seeds, "curves": curves,
    }))  # fmt: skip
    table = beck.longer_table(Studies(results, tmp_path / "figures", write_figures=False))
    lines = table.splitlines()
    assert lines[0].endswith("| measure | 2,000 | 4,000 |")
    row = "| parity | xlstm[1:1] |"
    assert lines[2] == f"{row} 0 | accuracy at 2..39 | 0.60 | 1.00 |"  # seeds in order
    assert lines[3] == f"{row} 0 | score beyond | 0.00 | 0.90 |"  # mean of 1.0 and 0.8
    assert lines[5] == f"{row} 1 | score beyond | 0.00 | – |"  # (0.1 - 0.1) / 2
    assert "training steps of 20,000" in table and "2,000 warm-up steps" in table
    assert "lengths 64, 255" in table and "stopped at step 4,000; it resumes" in table


def test_configs_table_follows_the_schedules_first_steps(tmp_path):
    """beck2024_configs: the score beyond at each evaluation (mean over seeds), the final cells
    only for finished programs, and a footnote naming the schedule the steps are a part of."""
    root = tmp_path / "runs" / "beck2024_configs"
    schedule = {"train.steps": 6000, "optim.schedule_steps": 20000, "optim.warmup_steps": 2000}
    programs = [("x11", "xlstm[1:1]", "completed"), ("lstm", "lstm", "running")]
    programs.append(("x10", "xlstm[1:0]", "running"))  # started, evaluated at step 0 only
    for name, model, status in programs:
        seeds = [runs.seed(i, {"score": 1.0}, lengths={64: {"score": 0.5 + i / 4}}) for i in (0, 1)]
        run = runs.write_run(root, name, seeds, task="parity", length=39, model=model, cfg=schedule)
        summary = json.loads((run / "summary.json").read_text())
        summary.update(status=status)
        summary["task"]["min_length"] = 2
        (run / "summary.json").write_text(json.dumps(summary))
    study = export(root)
    study["curves"] = [
        {"run": run, "seed": seed, "split": "eval_length", "eval_length": 64, "step": steps,
         "score": values, "accuracy": [(1 + v) / 2 for v in values], "loss": [1.0] * len(steps)}
        for run, seed, steps, values in [
            ("x11", 0, [0, 2000, 4000, 6000], [0.0, 0.2, 0.9, 0.5]),
            ("x11", 1, [0, 2000, 4000, 6000], [0.0, 0.4, 1.0, 0.75]),
            ("lstm", 0, [0, 2000], [0.0, 0.6]),
            ("x10", 0, [0], [0.0]),
        ]
    ]  # fmt: skip
    results = tmp_path / "results"
    results.mkdir()
    (results / "beck2024_configs.json").write_text(json.dumps(study))
    table = beck.configs_table(Studies(results, tmp_path / "figures", write_figures=False))
    lines = table.splitlines()
    assert "| beyond at 2,000 | beyond at 4,000 | beyond at 6,000 |" in lines[0]
    assert "| beyond at 0 " not in lines[0]  # the untrained evaluation is left out
    rows = {r.split(" | ")[1]: r for r in lines if r.startswith("| parity |")}
    # means over the two seeds at 2,000 / 4,000 / 6,000; final 0.5 and 0.75 from the summaries
    assert "| 0.30 | 0.95 | 0.62 | 0.62 ± " in rows["xlstm[1:1]"]
    assert rows["xlstm[1:1]"].endswith("| 0.75 | 1.00 ± 0 |")
    assert rows["lstm"].endswith("| 0.60 | – | – | – | – | – |")  # still training
    assert "xlstm[1:0]" not in rows  # nothing to show yet
    assert list(rows) == ["lstm", "xlstm[1:1]"]  # in order
    assert "the first 6,000 steps of the configs' 20,000-step schedule" in table
    assert "2,000 warm-up steps" in table and "lengths 64" in table
