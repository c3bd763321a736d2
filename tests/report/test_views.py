"""What the dashboard draws, without a browser: series labels, the figures the data supports,
seeds' curves carried past where they stopped, and the numbers of each figure and its table.

Everything runs on the synthetic sweeps of tests/report/synthetic.py (no training).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from seqlab.report import collect, figures
from seqlab.report.data import curve_bands, seed_curves
from seqlab.report.views import View, table, views
from seqlab.results import load
from seqlab.results.labels import applies, format_value, series_labels, short
from tests.report.synthetic import Seed, write_run

UNREADABLE = re.compile(r"\b(nan|NaN|None|undefined)\b")
DEMO_MODELS = {"lstm", "gru", "rnn", "transformer", "mlstm", "xlstm[1:1]"}


@pytest.fixture(scope="module")
def demo(demo_runs):
    return collect(demo_runs)


@pytest.fixture(scope="module")
def study(study_runs):
    return collect(study_runs)


def _with_state_size(run: Path, size: int) -> None:
    """The run's summary.json with `state_size`, as runs since 2026-12-06 record it."""
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "state_size": size}))


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    """copy T=10: lstm at hidden 32 and 64 (state sizes 64 and 128; the smaller one seed
    solves, one never learns), gru with one seed (32), and an lstm (hidden 16) and an rnn that
    recorded no state size; copy T=20: lstm and gru of one state size (64); adding T=20: one
    run with a state size and one without."""
    root = tmp_path_factory.mktemp("states")
    never = (Seed(300), Seed(None))
    for name, model, hidden, seeds, size in (
        ("copy10_lstm32", "lstm", 32, never, 64),
        ("copy10_lstm64", "lstm", 64, (Seed(300), Seed(500)), 128),
        ("copy10_gru", "gru", 32, (Seed(None),), 32),
        ("copy10_lstm16", "lstm", 16, (Seed(200), Seed(250)), None),
        ("copy10_rnn", "rnn", 32, (Seed(400), Seed(450)), None),
    ):
        run = write_run(root, name, model=model, seeds=seeds, cfg={"model.hidden": hidden})
        if size is not None:
            _with_state_size(run, size)
    for name, model, size in (("copy20_lstm", "lstm", 64), ("copy20_gru", "gru", 64)):
        _with_state_size(write_run(root, name, length=20, model=model), size)
    _with_state_size(write_run(root, "adding20_lstm", task="adding", length=20), 64)
    write_run(root, "adding20_gru", task="adding", length=20, model="gru")
    return collect(root)


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.0, "2"), (2, "2"), (1e-3, "0.001"), (3e-4, "0.0003"), (0.5, "0.5"), (True, "true"),
     ((40, 64), "(40, 64)"), ("", '""'), (math.nan, "–"), (None, "–"), ("rotary", "rotary")],
)  # fmt: skip
def test_values_are_written_as_a_person_writes_them(value, text):
    assert format_value(value) == text


def test_a_setting_applies_only_to_the_families_that_read_it():
    assert applies("mlstm", "cfg.model.mlstm_form", "chunkwise")
    assert applies("xlstm[1:1]", "cfg.model.mlstm_form", "parallel")
    assert not applies("lstm", "cfg.model.mlstm_form", "parallel")
    assert applies("transformer", "cfg.model.positions", "rotary")
    assert not applies("gru", "cfg.model.positions", "learned")
    assert applies("slstm", "cfg.model.heads", 4) and not applies("lstm", "cfg.model.heads", 4)
    assert not applies("transformer", "built.heads", math.nan)  # not built: no value
    assert applies("lru", "cfg.model.state_dim", 64)
    assert not applies("gru", "cfg.model.state_dim", 0)
    assert applies("lru", "cfg.model.scan_form", "chunked")
    assert not applies("lstm", "cfg.model.scan_form", "scan")  # one form: nothing to choose
    assert applies("lstm", "cfg.optim.lr", 1e-3) and applies("no-such-model", "cfg.model.x", 1)
    assert short("cfg.optim.lr") == "lr" and short("built.heads") == "heads"
    keys = ["cfg.train.batch_size", "cfg.eval.batch_size"]
    assert short(keys[0], keys) == "train.batch_size"


def test_demo_labels_are_model_names(demo):
    """Settings fixed per model (heads, the block models' lr, mlstm_form) tell no two lines
    apart: the labels are the model names; the settings go to hover texts and tables."""
    assert set(demo.series.values()) == DEMO_MODELS
    mlstm = next(p for p, label in demo.series.items() if label == "mlstm")
    lstm = next(p for p, label in demo.series.items() if label == "lstm")
    assert demo.settings[mlstm] == "heads=2, layers=1, mlstm_form=chunkwise, lr=0.003"
    assert demo.settings[lstm] == "layers=1, lr=0.01"  # no heads, positions or mlstm_form


def test_labels_name_what_varies_within_a_model(tmp_path):
    """An lr grid names lr; a setting that varies only with T does not split a model's line
    against T; a setting of another family is never named."""
    for lr in (1e-3, 1e-2):
        write_run(tmp_path, f"lstm_{lr}", model="lstm", cfg={"optim.lr": lr})
    for length, form in ((10, "parallel"), (20, "chunkwise")):
        cfg = {"model.heads": 2, "model.mlstm_form": form}
        write_run(tmp_path, f"mlstm_{length}", model="mlstm", length=length, cfg=cfg)
    runs = load(tmp_path)
    labels = series_labels(runs)
    assert sorted(set(labels.values())) == ["lstm (lr=0.001)", "lstm (lr=0.01)", "mlstm"]
    by_lr = series_labels(runs[runs["model"] == "lstm"], axis="cfg.optim.lr")
    assert set(by_lr.values()) == {"lstm"}


def test_views_fit_the_data(demo, study):
    demo_views = views(demo)
    assert {v.section for v in demo_views} == {"curves", "sequences"}  # one T per task
    assert [v.name for v in views(study, "hyper")] == ["hyper-adding-T20-lr"]
    assert [v.name for v in views(study, "lengths")] == ["lengths-parity-T20"]
    assert [v.task for v in views(study, "comparison")] == ["copy"]  # the only task at 3 T
    assert {v.section for v in views(study)} == {
        "curves", "sequences", "comparison", "solved", "lengths", "hyper"
    }  # fmt: skip


def test_a_stopped_seed_counts_with_its_last_value(demo):
    """lstm on copy: seed 0 solves (and stops) at step 950, seed 1 at 1450; the mean at 1450
    is over both, seed 0 at its last evaluation."""
    curves = seed_curves(demo)
    lstm = curves[(curves["task"] == "copy") & (curves["series"] == "lstm")]
    own = lstm[~lstm["carried"]]
    assert own.groupby("seed")["step"].max().to_dict() == {0: 950, 1: 1450}
    carried = lstm[lstm["carried"]]
    assert set(carried["seed"]) == {0} and carried["step"].min() == 975
    last = own[(own["seed"] == 0) & (own["step"] == 950)]["value"].item()
    assert (carried["value"] == last).all()
    bands = curve_bands(demo)
    band = bands[(bands["task"] == "copy") & (bands["series"] == "lstm")]
    assert (band["seeds"] == 2).all() and band["step"].max() == 1450
    at = band[band["step"] == 1450].iloc[0]
    seed1 = own[(own["seed"] == 1) & (own["step"] == 1450)]["value"].item()
    assert at["mean"] == pytest.approx((last + seed1) / 2) and at["carried"] == 1


def test_seeds_curves_on_demand(study):
    fig = figures.learning_curves(study, "copy", 40)
    seeds = [t for t in fig.data if t.meta == "seed"]
    assert len(seeds) == 9 and not any(t.visible for t in seeds)  # 3 models x 3 seeds
    (menu,) = fig.layout.updatemenus
    labels = [b.label for b in menu.buttons]
    assert labels == ["mean ± 95% CI", "each seed", "both"]
    each = menu.buttons[1].args[0]
    assert [t.meta == "seed" for t in fig.data] == list(each["visible"])
    # the legend still names the series: through its first seed's trace
    named = [t.name for t, shown in zip(fig.data, each["showlegend"], strict=True) if shown]
    assert named == ["gru", "lstm", "rnn"]
    assert menu.y == 1 and menu.yanchor == "bottom" and fig.layout.title.yref == "container"


def test_sequences_to_solve_marks_unsolved_seeds_at_their_budget(study, demo):
    fig = figures.sequences_to_solve(study, "copy")
    unsolved = [t for t in fig.data if t.meta == "unsolved"]
    assert [t.name for t in unsolved] == ["rnn"]
    assert list(zip(unsolved[0].x, unsolved[0].y, strict=True)) == [
        (20, 3000 * 64), (20, 3000 * 64), (20, 3000 * 64),
        (40, 6000 * 64), (40, 6000 * 64), (40, 6000 * 64),
    ]  # fmt: skip
    medians = {t.name: list(t.y) for t in fig.data if t.meta == "median"}
    assert medians["lstm"] == [27200.0, 46400.0, 84800.0]  # the solved seeds' medians
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == "sequence length T"
    single = figures.sequences_to_solve(demo, "copy")  # one T: a column per model
    assert {t.x[0] for t in single.data if t.meta == "median"} == DEMO_MODELS
    assert "sequence length" not in (single.layout.xaxis.title.text or "")


def test_length_generalisation_marks_the_training_lengths(study):
    fig = figures.length_generalisation(study, "parity", 20)
    lines = {t.name: (list(t.x), list(t.y)) for t in fig.data}
    assert lines["lstm"][0] == [20, 40, 80]
    assert lines["transformer"][1] == pytest.approx([1.0, 0.6, 0.36])
    shaded = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(s.x0, s.x1) for s in shaded] == [(1, 20)]
    assert fig.layout.title.text == "parity trained at T=1..20: final score at other lengths"
    rows = table(study, View("lengths", "parity", 20)).set_index("series")
    assert rows.loc["transformer", "T=80"] == "0.36 ± 0"
    assert list(rows.columns) == ["seeds", "T=1..20 (trained)", "T=20", "T=40", "T=80",
                                  "Delétang score", "its max over seeds"]  # fmt: skip
    # Delétang et al.'s score: plain accuracy averaged over the lengths above T=20 (40 and 80)
    assert rows.loc["transformer", "Delétang score"] == f"{(0.8 + 0.68) / 2:.3f} ± 0"


def test_hyperparameter_view_reads_best_and_sensitivity(study):
    fig = figures.hyperparameter(study, "adding", 20, "cfg.optim.lr")
    lines = {t.name: t for t in fig.data if t.meta != "best"}
    assert set(lines) == {"lstm", "transformer"}
    assert list(lines["transformer"].x) == [0.001, 0.003, 0.01]
    best = {t.name: (t.x[0], t.y[0]) for t in fig.data if t.meta == "best"}
    finals = dict(zip(lines["transformer"].x, lines["transformer"].y, strict=True))
    assert best["transformer best"] == (0.003, min(finals.values()))  # mse: lower is better
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == "lr (optim.lr)"
    rows = table(study, View("hyper", "adding", 20, "cfg.optim.lr")).set_index("series")
    assert rows.loc["transformer", "best lr"] == "0.003"
    assert list(rows.columns) == ["lr=0.001", "lr=0.003", "lr=0.01", "best lr", "best single seed"]
    # Zoology's number: the best final value of any one seed at any learning rate, and where
    runs = study.runs[(study.runs["task"] == "adding") & (study.runs["model"] == "transformer")]
    best = runs.loc[runs["final.mse"].idxmin()]
    where = f"(lr={best['cfg.optim.lr']:g}, seed {best['seed']})"
    assert rows.loc["transformer", "best single seed"] == f"{best['final.mse']:.4g} {where}"


def test_tables_and_figure_texts_show_no_missing_values(demo, study):
    for report in (demo, study):
        for view in views(report):
            if view.section != "solved":
                text = table(report, view).to_string()
                assert not UNREADABLE.search(text), (view, text)
            fig = figures.figure(report, view).to_plotly_json()
            names = [str(t.get("name", "")) for t in fig["data"]]
            texts = [fig["layout"]["title"]["text"], *names]
            texts += [str(t.get("hovertemplate", "")) for t in fig["data"]]
            assert not any(UNREADABLE.search(t) for t in texts), (view, texts)


def test_a_figure_per_view_with_finite_data(study):
    for view in views(study):
        fig = figures.figure(study, view)
        ys = [np.asarray(t.z if t.type == "heatmap" else t.y, dtype=float) for t in fig.data]
        assert any(np.isfinite(y).any() for y in ys if y.size), view


def test_state_size_view_only_with_two_sizes_or_more(states, study):
    """copy T=10 has three state sizes; copy T=20 one (two models); adding T=20 one, its other
    run recorded none; the study's runs recorded none."""
    assert [v.name for v in views(states, "state")] == ["state-copy-T10"]
    assert views(study, "state") == []


def test_state_size_figure_draws_the_seed_mean_against_state_size(states):
    fig = figures.state_size(states, "copy", 10)
    lines = {t.name: t for t in fig.data}
    assert set(lines) == {"gru", "lstm"}  # the rnn recorded no state size
    lstm, gru = lines["lstm"], lines["gru"]
    assert list(lstm.x) == [64, 128] and list(gru.x) == [32]  # not the lstm at hidden 16
    runs = load(states.root)
    finals = runs.groupby("run")["final.recall_accuracy"].apply(list)
    assert list(lstm.y) == pytest.approx(
        [np.mean(finals[r]) for r in ("copy10_lstm32", "copy10_lstm64")]
    )
    low, high = finals["copy10_lstm32"]
    t_1 = 12.7062  # the 97.5% quantile of Student's t with one degree of freedom
    assert lstm.error_y.array[0] == pytest.approx(t_1 * abs(high - low) / 2, rel=1e-4)
    assert lstm.error_y.array[0] > 0.5  # one seed solved, one stayed at chance
    assert list(gru.error_y.array) == [0]  # one seed: no interval
    assert lstm.mode == "lines+markers"
    assert [c[0] for c in lstm.customdata] == ["lstm (hidden=32)", "lstm (hidden=64)"]
    assert "state size %{x:,.0f}" in lstm.hovertemplate
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.tickvals) == [32, 64, 128]
    assert [s.y0 for s in fig.layout.shapes] == [0.99]  # solved: recall_accuracy >= 0.99
    assert fig.layout.title.text == "copy T=10: final recall_accuracy against state size"


def test_state_size_table_lists_the_series_that_recorded_it(states):
    rows = table(states, View("state", "copy", 10))
    assert list(rows["series"]) == ["gru", "lstm (hidden=32)", "lstm (hidden=64)"]
    assert list(rows["state size"]) == ["32", "64", "128"]
    assert list(rows["solved"]) == ["0/1", "1/2", "2/2"]
    assert list(rows.columns) == ["series", "state size", "seeds", "final recall_accuracy",
                                  "solved"]  # fmt: skip
    assert " ± " not in rows["final recall_accuracy"].iloc[0]  # one seed: the mean alone


def test_state_size_texts_show_no_missing_values(states):
    view = View("state", "copy", 10)
    text = table(states, view).to_string()
    assert not UNREADABLE.search(text), text
    fig = figures.figure(states, view)
    texts = [fig.layout.title.text, fig.layout.xaxis.title.text, fig.layout.yaxis.title.text]
    for trace in fig.data:
        texts += [trace.name, trace.hovertemplate, *(str(c) for c in trace.customdata)]
    texts += [a.text for a in fig.layout.annotations]
    assert not any(UNREADABLE.search(t) for t in texts), texts


def test_state_size_section_on_the_page_with_its_table(states):
    from seqlab.report.page import render

    page = render(states, title="states", plotly_tag="")
    section = page[page.index('<section id="state">') :].split("</section>")[0]
    assert section.count('data-view="state-copy-T10"') == 1
    assert "<table" in section and "lstm (hidden=64)" in section
