"""seqlab.results: loading run directories, seed aggregation, and `seqlab results` output.

Exact arithmetic is checked on hand-written run records (known numbers against
scipy.stats.t directly); one small real training run checks that what `train` writes loads.
"""

import argparse
import copy
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seqlab import config as config_lib
from seqlab.config import ConfigError
from seqlab.results import RunSkipped, aggregate, config_id, group_keys, load, load_metrics
from seqlab.results import command as results_command
from seqlab.train.rundir import read_metrics
from tests.conftest import small_config

CRITERIA = {
    "copy": ("recall_accuracy", "max", 0.99),
    "adding": ("mse", "min", 0.01),
}


def ci95(values):
    x = np.asarray(values, dtype=float)
    return stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))


def seed_record(seed, final, best=None, solved_at=None, diverged_at=None, status="completed"):
    return {
        "seed": seed,
        "status": "diverged" if diverged_at is not None else status,
        "final": final,
        "final_step": 1000 if final else None,
        "best": best if best is not None else dict(final),
        "best_step": {},
        "solved_at": solved_at,
        "diverged_at": diverged_at,
    }


def write_run(root, name, seeds, *, task="copy", length=8, model="lstm", cfg=None,
              status="completed", params=1000, tokens_per_s=100.0):  # fmt: skip
    """A run directory as `train` leaves it: config.json and summary.json."""
    config = config_lib.base_config().to_dict()
    config["task"].update(name=task, length=length)
    config["model"]["name"] = model
    config["train"]["seeds"] = len(seeds)
    config["train"]["seed"] = seeds[0]["seed"]
    for dotted, value in (cfg or {}).items():
        section, key = dotted.split(".")
        config[section][key] = value
    metric, mode, threshold = CRITERIA[task]
    summary = {
        "status": status,
        "task": {
            "name": task,
            "length": length,
            "seq_len": length + 20,
            "baseline": 0.5,
            "solved": f"{metric} {'>=' if mode == 'max' else '<='} {threshold:g}",
            "criterion": {"metric": metric, "mode": mode, "threshold": threshold},
        },
        "model": model,
        "params": params,
        "steps": 1000,
        "step": 1000,
        "seeds": seeds,
        "throughput": {"steps_per_s": 1.0, "tokens_per_s": tokens_per_s},
        "solved_seeds": sum(s["solved_at"] is not None for s in seeds),
    }
    run = Path(root) / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(config, default=list))
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def copy_seeds(finals, bests, solved_at, losses=None):
    losses = losses or [1.0] * len(finals)
    return [
        seed_record(
            i,
            {"recall_accuracy": f, "loss": loss},
            {"recall_accuracy": b, "loss": loss / 2},
            solved_at=s,
        )
        for i, (f, b, s, loss) in enumerate(zip(finals, bests, solved_at, losses, strict=True))
    ]


@pytest.fixture
def sweep(tmp_path):
    """Two learning rates of the LSTM (3 seeds in one program; 2 seeds run apart) and one
    GRU run, on copy T=8; a track setting differs between runs and must not split groups."""
    root = tmp_path / "sweep"
    write_run(root, "a_lr1", copy_seeds([0.5, 0.7, 0.9], [0.6, 0.9, 1.0], [100, None, 300],
              [1.0, 2.0, 4.0]), cfg={"optim.lr": 1e-3}, tokens_per_s=100.0)  # fmt: skip
    write_run(root, "b_lr3_s0", copy_seeds([0.2], [0.3], [None]),
              cfg={"optim.lr": 3e-3, "track.project": "x"}, tokens_per_s=300.0)  # fmt: skip
    write_run(root, "nested/b_lr3_s1", [seed_record(1, {"recall_accuracy": 0.4, "loss": 1.5})],
              cfg={"optim.lr": 3e-3, "checkpoint.every": 7}, tokens_per_s=500.0)  # fmt: skip
    write_run(root, "c_gru", copy_seeds([0.99], [0.995], [800]), model="gru",
              cfg={"optim.lr": 1e-3})  # fmt: skip
    return root


def test_load_one_row_per_seed_with_config_columns(sweep):
    df = load(sweep)
    assert len(df) == 3 + 1 + 1 + 1
    assert sorted(df["run"].unique()) == ["a_lr1", "b_lr3_s0", "b_lr3_s1", "c_gru"]
    a = df[df["run"] == "a_lr1"].sort_values("seed")
    assert a["seed"].tolist() == [0, 1, 2]
    assert a["final.recall_accuracy"].tolist() == [0.5, 0.7, 0.9]
    assert a["best.loss"].tolist() == [0.5, 1.0, 2.0]
    assert a["solved"].tolist() == [True, False, True]
    assert a["criterion"].unique().tolist() == ["recall_accuracy"]
    assert (a["cfg.optim.lr"] == 1e-3).all() and (a["cfg.train.seeds"] == 3).all()
    assert set(df["cfg.track.project"]) == {"seqlab", "x"}
    assert df.loc[df["run"] == "b_lr3_s1", "cfg.checkpoint.every"].item() == 7
    config = json.loads((sweep / "a_lr1" / "config.json").read_text())
    assert a["run_id"].unique().tolist() == [config_id(config)]


def test_config_id_ignores_track_and_key_order_only():
    cfg = small_config()
    d = json.loads(config_lib.to_json(cfg))
    assert config_id(cfg) == config_id(d)  # ConfigDict and its config.json form agree
    reordered = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(d.items()))}
    assert config_id(reordered) == config_id(d)
    tracked = copy.deepcopy(d)
    tracked["track"]["project"] = "elsewhere"
    assert config_id(tracked) == config_id(d)
    other = copy.deepcopy(d)
    other["optim"]["lr"] = 2e-3
    assert config_id(other) != config_id(d)
    assert len(config_id(d)) == 64 and int(config_id(d), 16) >= 0


def test_aggregate_means_and_student_t_intervals(sweep):
    agg = aggregate(load(sweep))
    # the varied lr is a key; seeds, track and checkpoint settings are not
    assert [c for c in agg.columns if c.startswith("cfg.")] == ["cfg.optim.lr"]
    assert list(zip(agg["model"], agg["cfg.optim.lr"], agg["seeds"], strict=True)) == [
        ("gru", 1e-3, 1),
        ("lstm", 1e-3, 3),
        ("lstm", 3e-3, 2),
    ]
    lstm1 = agg.iloc[1]
    assert lstm1["metric"] == "recall_accuracy"
    assert lstm1["final_mean"] == pytest.approx(0.7)
    assert lstm1["final_ci"] == pytest.approx(ci95([0.5, 0.7, 0.9]))
    assert lstm1["final_ci"] == pytest.approx(4.302652729749464 * 0.2 / math.sqrt(3))
    assert lstm1["best_mean"] == pytest.approx(2.5 / 3)
    assert lstm1["best_ci"] == pytest.approx(ci95([0.6, 0.9, 1.0]))
    assert lstm1["final_loss_mean"] == pytest.approx(7 / 3)
    assert lstm1["final_loss_ci"] == pytest.approx(ci95([1.0, 2.0, 4.0]))
    assert lstm1["best_loss_mean"] == pytest.approx(7 / 6)
    assert lstm1["solved"] == pytest.approx(2 / 3)
    assert lstm1["steps_to_solve"] == 200  # median of the solved seeds' steps (100, 300)
    # seeds trained as two runs are one group; run-level numbers average over runs
    lstm3 = agg.iloc[2]
    assert lstm3["final_mean"] == pytest.approx(0.3)
    assert lstm3["final_ci"] == pytest.approx(ci95([0.2, 0.4]))
    assert lstm3["final_ci"] == pytest.approx(12.706204736174707 * math.sqrt(0.02) / math.sqrt(2))
    assert lstm3["solved"] == 0 and math.isnan(lstm3["steps_to_solve"])
    assert lstm3["tokens_per_s"] == 400 and lstm3["runs"] == 2
    gru = agg.iloc[0]
    assert gru["final_mean"] == pytest.approx(0.99) and math.isnan(gru["final_ci"])
    assert gru["solved"] == 1 and gru["steps_to_solve"] == 800
    # tokens/s is the program's: a 3-seed program counts once, not three times
    two_runs = aggregate(load(sweep), by=["task"])
    assert two_runs["seeds"].item() == 6
    assert two_runs["tokens_per_s"].item() == pytest.approx((100 + 300 + 500 + 100) / 4)


def test_aggregate_other_metric_and_unknown_metric(sweep):
    agg = aggregate(load(sweep), metric="loss")
    assert set(agg["metric"]) == {"loss"}
    assert agg.iloc[1]["final_mean"] == pytest.approx(7 / 3)
    with pytest.raises(ConfigError, match=r"unknown metric 'mse'; valid choices: loss, recall_"):
        aggregate(load(sweep), metric="mse")


def test_each_task_summarised_by_its_criterion_metric(tmp_path):
    write_run(tmp_path, "copy", copy_seeds([0.5], [0.5], [None]))
    write_run(tmp_path, "add", [seed_record(0, {"mse": 0.004, "loss": 0.004}, solved_at=40)],
              task="adding", length=50)  # fmt: skip
    agg = aggregate(load(tmp_path)).set_index("task")
    assert agg.loc["adding", "metric"] == "mse" and agg.loc["adding", "final_mean"] == 0.004
    assert agg.loc["copy", "metric"] == "recall_accuracy"
    assert agg.loc["adding", "length"] == 50


def test_diverged_running_and_failed_seeds(tmp_path):
    write_run(tmp_path, "div", [
        seed_record(0, {"recall_accuracy": 0.5, "loss": 1.0}),
        seed_record(1, {"recall_accuracy": 0.9, "loss": 0.1}, diverged_at=300),
    ])  # fmt: skip
    write_run(tmp_path, "live", [seed_record(0, {}, status="running")], model="gru",
              status="running")  # fmt: skip
    write_run(tmp_path, "dead", [seed_record(0, {}, status="running")], model="rnn",
              status="failed")  # fmt: skip
    df = load(tmp_path)
    assert df.groupby("run")["status"].apply(sorted).to_dict() == {
        "dead": ["failed"],  # a failed run's seeds stopped with it
        "div": ["completed", "diverged"],
        "live": ["running"],
    }
    agg = aggregate(df).set_index("model")
    # the diverged seed's last evaluation predates its divergence: not a final result
    assert agg.loc["lstm", "final_mean"] == 0.5 and agg.loc["lstm", "best_mean"] == 0.7
    assert (
        agg.loc["lstm", "diverged"] == 1 and agg.loc["lstm", "status"] == "1 completed, 1 diverged"
    )
    assert math.isnan(agg.loc["gru", "final_mean"]) and agg.loc["gru", "status"] == "running"
    assert agg.loc["rnn", "status"] == "failed"


def test_half_written_summary_skipped_with_warning(sweep):
    (sweep / "broken").mkdir()
    (sweep / "broken" / "config.json").write_text("{}")
    (sweep / "broken" / "summary.json").write_text('{"status": "running", "seeds": [{"se')
    (sweep / "noconfig").mkdir()
    (sweep / "noconfig" / "summary.json").write_text('{"seeds": []}')
    (sweep / "pending").mkdir()  # a planned run not started yet: not a run, no warning
    (sweep / "pending" / "config.json").write_text("{}")
    with pytest.warns(RunSkipped) as record:
        df = load(sweep)
    messages = sorted(str(w.message) for w in record if issubclass(w.category, RunSkipped))
    assert len(messages) == 2
    assert "broken" in messages[0] and "JSONDecodeError" in messages[0]
    assert "noconfig" in messages[1] and "config.json" in messages[1]
    assert sorted(df["run"].unique()) == ["a_lr1", "b_lr3_s0", "b_lr3_s1", "c_gru"]


def test_old_summary_without_recorded_criterion(tmp_path):
    run = write_run(tmp_path, "old", copy_seeds([0.5], [0.5], [None]))
    summary = json.loads((run / "summary.json").read_text())
    del summary["task"]["criterion"]
    (run / "summary.json").write_text(json.dumps(summary))
    row = load(tmp_path).iloc[0]
    assert (row["criterion"], row["criterion_mode"], row["criterion_threshold"]) == (
        "recall_accuracy", "max", 0.99,
    )  # fmt: skip


# --- `seqlab results` ---------------------------------------------------------------------


def results(path, fmt="table", metric=None, extra=()):
    args = argparse.Namespace(path=str(path), format=fmt, metric=metric)
    return results_command.run(args, list(extra))


def parse_markdown(text):
    """{title: [row dicts]} from the markdown output."""
    tables, title, header = {}, None, None
    for line in text.splitlines():
        if line.startswith("### "):
            title, header = line[4:], None
            tables[title] = []
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(set(c) <= {"-"} for c in cells):
                tables[title].append(dict(zip(header, cells, strict=True)))
    return tables


def test_markdown_tables_parse_back(sweep, tmp_path, capsys):
    write_run(sweep, "add", [seed_record(0, {"mse": 0.004, "loss": 0.004}, solved_at=40)],
              task="adding", length=50)  # fmt: skip
    assert results(sweep, "markdown") == 0
    tables = parse_markdown(capsys.readouterr().out)
    assert list(tables) == ["adding, T=50 (solved: mse <= 0.01)",
                            "copy, T=8 (solved: recall_accuracy >= 0.99)"]  # fmt: skip
    copy_rows = tables["copy, T=8 (solved: recall_accuracy >= 0.99)"]
    assert [(r["model"], r["optim.lr"]) for r in copy_rows] == [
        ("gru", "0.001"), ("lstm", "0.001"), ("lstm", "0.003"),
    ]  # fmt: skip
    lstm = copy_rows[1]
    assert lstm["seeds"] == "3"
    assert lstm["final recall_accuracy"] == f"0.7 ± {ci95([0.5, 0.7, 0.9]):.2g}"
    assert lstm["final loss"] == f"{7 / 3:.4g} ± {ci95([1.0, 2.0, 4.0]):.2g}"
    assert lstm["solved"] == "2/3" and lstm["steps to solve"] == "200"
    assert lstm["params"] == "1,000" and lstm["tokens/s"] == "100"
    assert copy_rows[0]["final recall_accuracy"] == "0.99"  # one seed: no interval
    assert copy_rows[2]["steps to solve"] == "–"
    adding = tables["adding, T=50 (solved: mse <= 0.01)"]
    assert [(r["model"], r["final mse"], r["solved"]) for r in adding] == [("lstm", "0.004", "1/1")]
    assert "optim.lr" not in adding[0]  # lr does not vary within the adding table


def test_csv_round_trips_and_json_loads(sweep, capsys):
    expected = aggregate(load(sweep))
    assert results(sweep, "csv") == 0
    got = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(got.columns) == list(expected.columns)
    for col in ("final_mean", "final_ci", "best_mean", "solved", "steps_to_solve", "cfg.optim.lr"):
        np.testing.assert_allclose(got[col], expected[col].astype(float), rtol=1e-12)
    assert got["model"].tolist() == expected["model"].tolist()
    assert results(sweep, "json", metric="loss") == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in records] == ["gru", "lstm", "lstm"]
    assert records[1]["metric"] == "loss" and records[1]["final_mean"] == pytest.approx(7 / 3)
    assert records[0]["final_ci"] is None  # one seed: no interval; NaN is null in JSON


def test_table_format(sweep, capsys):
    assert results(sweep) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "copy, T=8 (solved: recall_accuracy >= 0.99)"
    assert lines[1].split()[:4] == ["model", "optim.lr", "seeds", "final"]
    assert set(lines[2]) == {"-", " "}
    assert lines[4].split()[:5] == ["lstm", "0.001", "3", "0.7", "±"]
    assert len(lines) == 6


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("missing", {}, r"results path '.*missing' does not exist"),
        ("empty", {}, r"no runs found under '.*empty'; a run directory holds summary.json"),
        ("sweep", {"metric": "acc"}, r"unknown metric 'acc'; valid choices: loss, recall_accuracy"),
        ("sweep", {"fmt": "html"}, r"unknown format 'html'; valid choices: table, markdown, csv"),
        ("sweep", {"extra": ["--bogus"]}, r"unrecognised arguments: --bogus"),
    ],
)
def test_bad_input_is_one_line_config_error(sweep, tmp_path, path, kwargs, message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=message) as info:
        results(tmp_path / path, **kwargs)
    assert "\n" not in str(info.value)


def test_only_unreadable_runs_is_an_error(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "summary.json").write_text("{")
    with pytest.raises(ConfigError, match=r"no runs found under .* \(1 unreadable, skipped\)"):
        results(tmp_path)
    assert "seqlab: warning: skipping run" in capsys.readouterr().err


def test_add_parser_registers_results():
    parser = argparse.ArgumentParser()
    results_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["results", "runs/x", "--format", "csv", "--metric", "loss"])
    assert (args.path, args.format, args.metric) == ("runs/x", "csv", "loss")
    assert args.run is results_command.run
    defaults = parser.parse_args(["results", "runs/x"])
    assert (defaults.format, defaults.metric) == ("table", None)


# --- a real run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from seqlab.train.run import train

    root = tmp_path_factory.mktemp("results") / "sweep"
    cfg = small_config(**{"train.steps": 20, "train.seeds": 2, "train.chunk": 20,
                          "eval.every": 20, "checkpoint.every": 20})  # fmt: skip
    summary = train(cfg, root / "copy8_lstm", progress=False)
    return root, cfg, summary


def test_real_run_loads_and_aggregates(trained, capsys):
    root, cfg, summary = trained
    df = load(root)
    assert df["seed"].tolist() == [0, 1]
    assert df["run"].unique().tolist() == ["copy8_lstm"]
    assert df["run_id"].unique().tolist() == [config_id(cfg)]
    assert (df["task"].unique().tolist(), df["length"].unique().tolist()) == (["copy"], [8])
    assert df["status"].tolist() == ["completed", "completed"]
    assert (df["cfg.model.hidden"] == 16).all() and (df["final_step"] == 20).all()
    assert df["params"].unique().tolist() == [summary["params"]]
    for i, rec in enumerate(summary["seeds"]):
        for name, value in rec["final"].items():
            assert df.loc[i, f"final.{name}"] == pytest.approx(value)
            assert df.loc[i, f"best.{name}"] == pytest.approx(rec["best"][name])
    # a run directory itself is a valid path too
    assert load(root / "copy8_lstm")["run_id"].tolist() == df["run_id"].tolist()

    agg = aggregate(df)
    assert len(agg) == 1 and agg["seeds"].item() == 2
    assert not [c for c in agg.columns if c.startswith("cfg.")]
    losses = [rec["final"]["loss"] for rec in summary["seeds"]]
    assert agg["final_loss_mean"].item() == pytest.approx(np.mean(losses))
    assert agg["final_loss_ci"].item() == pytest.approx(ci95(losses))
    assert agg["tokens_per_s"].item() == pytest.approx(summary["throughput"]["tokens_per_s"])

    metrics = load_metrics(root)
    rows, _ = read_metrics(root / "copy8_lstm" / "metrics.jsonl")
    assert len(metrics) == len(rows)
    assert metrics["run"].unique().tolist() == ["copy8_lstm"]
    assert metrics["run_id"].unique().tolist() == [config_id(cfg)]
    evals = metrics[(metrics["split"] == "eval") & (metrics["step"] == 20)].sort_values("seed")
    np.testing.assert_allclose(evals["loss"], losses, rtol=1e-6)

    assert results(root, "markdown") == 0
    (rows_md,) = parse_markdown(capsys.readouterr().out).values()
    assert [r["seeds"] for r in rows_md] == ["2"]
    assert rows_md[0]["params"] == f"{summary['params']:,}"


def test_steps_to_solve_is_the_median_over_solved_seeds(tmp_path):
    write_run(tmp_path, "r", copy_seeds([1.0, 1.0, 0.2, 1.0], [1.0] * 4, [100, 200, None, 600]))
    agg = aggregate(load(tmp_path))
    assert agg["solved"].item() == 0.75
    assert agg["steps_to_solve"].item() == 200  # the median; the mean would be 300


def _cli_has_results() -> bool:
    from seqlab.cli import build_parser

    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return "results" in subparsers.choices


@pytest.mark.skipif(not _cli_has_results(), reason="`seqlab results` not wired into cli.py yet")
def test_cli_results(sweep, tmp_path, capsys):
    from seqlab.cli import main

    assert main(["results", str(sweep), "--format", "csv", "--metric", "loss"]) == 0
    got = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert got["final_mean"].tolist() == pytest.approx([1.0, 7 / 3, 1.25])
    assert main(["results", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err == f"seqlab: error: results path {str(tmp_path / 'missing')!r} does not exist\n"
    assert main(["results", str(sweep), "--format", "xml"]) == 2
    assert "valid choices: table, markdown, csv, json" in capsys.readouterr().err


def test_built_size_stands_for_the_configured_size(tmp_path):
    """A `model.size=tiny` run built a narrower model than its `model.hidden` says: the groups
    and the table use the recorded built size."""
    seeds = copy_seeds([0.5, 0.6], [0.5, 0.6], [None, None])
    tiny = write_run(tmp_path, "tiny", seeds, cfg={"model.size": "tiny", "model.hidden": 128})
    wide = write_run(tmp_path, "wide", seeds, cfg={"model.hidden": 64})
    for run, hidden in ((tiny, 32), (wide, 64)):
        summary = json.loads((run / "summary.json").read_text())
        summary["size"] = {"hidden": hidden, "layers": 1, "embed_dim": 16, "heads": 4}
        (run / "summary.json").write_text(json.dumps(summary))
    df = load(tmp_path)
    assert sorted(df["built.hidden"].unique()) == [32, 64]
    assert group_keys(df) == ["task", "length", "model", "built.hidden"]
    table = aggregate(df)
    assert sorted(table["built.hidden"]) == [32, 64]


def test_heads_shown_only_for_models_that_have_them(tmp_path):
    seeds = copy_seeds([0.5, 0.6], [0.5, 0.6], [None, None])
    for name, size in (
        ("lstm", {"hidden": 32, "layers": 1, "embed_dim": 16}),
        ("mlstm", {"hidden": 32, "layers": 1, "embed_dim": 16, "heads": 2}),
    ):
        run = write_run(tmp_path, name, seeds, model=name)
        summary = json.loads((run / "summary.json").read_text())
        summary["size"] = size
        (run / "summary.json").write_text(json.dumps(summary))
    df = load(tmp_path)
    assert group_keys(df) == ["task", "length", "model", "built.heads"]
    out = io.StringIO()
    results_command.print_tables(tmp_path, "markdown", file=out)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| model | heads | seeds |")
    assert rows[1].startswith("| lstm | – | 2 |") and rows[2].startswith("| mlstm | 2 | 2 |")


def test_positions_shown_only_for_models_that_have_them(tmp_path):
    from seqlab.models.sizing import built_size
    from seqlab.registry import TASKS
    from tests.conftest import small_config

    seeds = copy_seeds([0.5, 0.6], [0.5, 0.6], [None, None])
    for name, positions in (("lstm", "learned"), ("transformer", "rotary")):
        cfg = small_config(**{"model.name": name, "model.positions": positions})
        run = write_run(tmp_path, name, seeds, model=name, cfg={"model.positions": positions})
        summary = json.loads((run / "summary.json").read_text())
        summary["size"] = built_size(cfg.model, TASKS.get("copy")(cfg.task).spec)
        (run / "summary.json").write_text(json.dumps(summary))
    df = load(tmp_path)
    assert "built.positions" in group_keys(df) and "cfg.model.positions" not in group_keys(df)
    out = io.StringIO()
    results_command.print_tables(tmp_path, "markdown", file=out)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| model | heads | positions | seeds |"), rows[0]
    assert rows[1].startswith("| lstm | – | – | 2 |") and "| rotary |" in rows[2]


def test_family_only_field_shown_for_that_family_only(tmp_path):
    """model.mlstm_form means nothing to an LSTM: its cell reads "–", not the default."""
    seeds = copy_seeds([0.5, 0.6], [0.5, 0.6], [None, None])
    write_run(tmp_path, "lstm", seeds, model="lstm")
    write_run(tmp_path, "mlstm", seeds, model="mlstm", cfg={"model.mlstm_form": "chunkwise"})
    write_run(tmp_path, "xlstm", seeds, model="xlstm[1:1]")
    out = io.StringIO()
    results_command.print_tables(tmp_path, "markdown", file=out)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| model | model.mlstm_form | seeds |"), rows[0]
    assert rows[1].startswith("| lstm | – | 2 |")
    assert rows[2].startswith("| mlstm | chunkwise | 2 |")
    assert rows[3].startswith("| xlstm[1:1] | parallel | 2 |")


def test_tables_show_no_nan_or_none(tmp_path):
    """One seed (no interval), no seed solved (no steps to solve), a model without heads beside
    one with them, a diverged seed: every cell is a number, a setting or "–"."""
    write_run(tmp_path, "one", [seed_record(0, {"recall_accuracy": 0.5, "loss": 1.0})])
    write_run(tmp_path, "gone", [seed_record(0, {}, {}, diverged_at=10),
              seed_record(1, {"recall_accuracy": 0.7, "loss": 0.9})], model="gru")  # fmt: skip
    run = write_run(tmp_path, "heads", copy_seeds([0.6], [0.6], [None]), model="slstm")
    summary = json.loads((run / "summary.json").read_text())
    summary["size"] = {"hidden": 32, "layers": 1, "embed_dim": 16, "heads": 4}
    (run / "summary.json").write_text(json.dumps(summary))
    for fmt in ("table", "markdown"):
        out = io.StringIO()
        results_command.print_tables(tmp_path, fmt, file=out)
        text = out.getvalue()
        assert "slstm" in text and "gru" in text
        assert not re.search(r"\b(nan|NaN|None|undefined)\b", text), text
