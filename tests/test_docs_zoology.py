"""REPRODUCTIONS.md's Zoology blocks, on a hand-written study exported as `seqlab export`
writes it: accuracy against width (the best single seed over the learning-rate grid beside
the mean ± CI at the best learning rate), and the attention diagnosis runs kept apart."""

import json

import pytest

from seqlab.docs import papers, zoology
from seqlab.docs.studies import Studies
from seqlab.results.export import export
from tests.results import test_protocols as runs


def _run(
    root,
    name,
    model,
    width,
    lr,
    finals,
    *,
    steps=3000,
    positions="learned",
    solved=(),
    status="completed",
    length=64,
):
    seeds = [
        runs.seed(i, {"accuracy": f, "loss": 1 - f}, solved_at=100 if i in solved else None)
        for i, f in enumerate(finals)
    ]
    cfg = {"optim.lr": lr, "train.steps": steps, "model.positions": positions}
    cfg |= {"model.hidden": width, "train.batch_size": 64}
    run = runs.write_run(root, name, seeds, task="mqar", length=length, model=model, cfg=cfg)
    summary = json.loads((run / "summary.json").read_text())
    summary["size"] = {"hidden": width, "layers": 2, "embed_dim": 0}
    summary["status"] = status
    (run / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def studies(tmp_path, monkeypatch):
    monkeypatch.setitem(runs.CRITERIA, "mqar", ("accuracy", "max", 0.99))
    root = tmp_path / "runs" / "zoology2023"
    # attention: lr 1e-3 has the best mean (0.6), lr 1e-2 the best single seed (0.95)
    _run(root, "att64_a", "transformer", 64, 1e-3, (0.6, 0.6))
    _run(root, "att64_b", "transformer", 64, 1e-2, (0.95, 0.05))
    _run(root, "att128", "transformer", 128, 1e-3, (1.0, 0.995), solved=(0, 1))
    _run(root, "mlstm64", "mlstm", 64, 1e-3, (0.99, 0.97), solved=(0,))
    # the next point, (128, 8): its own rows, and not the diagnosis's grid run
    _run(root, "att64_128", "transformer", 64, 1e-3, (0.31, 0.21), length=128)
    # a program the sweep had not finished when exported: its last evaluation is no result
    _run(root, "gru64", "gru", 64, 1e-3, (0.5, 0.5), status="running")
    # diagnosis: the grid's attention run at lr 1e-3, trained longer and with rotary positions
    _run(root, "att64_long", "transformer", 64, 1e-3, (1.0,), steps=12_500, solved=(0,))
    _run(root, "att64_rot", "transformer", 64, 1e-3, (0.25,), positions="rotary")
    results = tmp_path / "results"
    results.mkdir()
    (results / "zoology2023.json").write_text(json.dumps(export(root)))
    return Studies(results, tmp_path / "figures", write_figures=False)


def _line(table, start):
    return next(r for r in table.splitlines() if r.startswith(start))


def test_width_table_best_single_beside_the_best_mean(studies):
    table = zoology.width_table(studies)
    att64 = _line(table, "| (64, 4) | transformer | 64 |")
    assert "| 2 of 2 | 0.950 | optim.lr=0.01, seed=0 |" in att64  # Zoology's number: best seed
    assert "| 0.600 ± 0 |" in att64  # the mean at the best lr (1e-3), not at 1e-2
    assert papers.ZOOLOGY_2023_FIGURE_2["transformer"] in att64
    assert "| 2/2 · " in _line(table, "| (64, 4) | transformer | 128 |")
    assert "not in Fig. 2" in _line(table, "| (64, 4) | mlstm | 64 |")
    assert "| 1 of 2 |" in _line(table, "| (64, 4) | mlstm | 64 |")  # its grid has not finished
    longer = _line(table, "| (128, 8) | transformer | 64 |")
    assert "| 1 of 2 | 0.310 | optim.lr=0.001, seed=0 | 0.260 ± " in longer
    assert "MQAR at (T, pairs) (64, 4), (128, 8)," in table
    assert "| gru |" not in table
    # the diagnosis runs are not grid points: a 1.0 at 12,500 steps is not attention's number
    assert "12,500" not in table and "at most 3,000 steps of batch 64" in table


def test_diagnosis_lists_the_grid_run_and_its_variants(studies):
    table = zoology.diagnosis_table(studies)
    assert "| learned | 3,000 | 2 | 0.600 ± 0 |" in table
    assert "| learned | 12,500 | 1 | 1.000 |" in table
    assert "| rotary | 3,000 | 1 | 0.250 |" in table
    assert "att64_b" not in table and "0.950" not in table  # lr 1e-2 is not the diagnosis lr
    assert "0.260" not in table and "| 3 |" not in table  # nor is (128, 8) its point
    assert "on MQAR (64, 4) at width 64" in table


def test_width_figure_draws_one_panel_per_point(studies):
    seeds = zoology._grid(zoology._seeds(studies))
    fig = zoology._draw_widths(seeds)
    assert [ax.get_title() for ax in fig.axes] == ["MQAR (64, 4)", "MQAR (128, 8)"]
    assert len(fig.axes[1].get_lines()) == 1  # only attention ran at (128, 8)
