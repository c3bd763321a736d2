"""seqlab.results.protocols: the best over a grid (Zoology) and Delétang et al.'s score, in
Python and through `seqlab results --best-over`, on hand-written run records with known
numbers (the expected values are worked out by hand below, not by the code under test)."""

import argparse
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from seqlab import config as config_lib
from seqlab.config import ConfigError
from seqlab.results import aggregate, best_over, deletang_score, load
from seqlab.results import command as results_command
from seqlab.results.protocols import deletang_lengths, grid_columns, lengths_text
from tests.results.test_results import ci95, parse_markdown

CRITERIA = {
    "copy": ("recall_accuracy", "max", 0.99),
    "adding": ("mse", "min", 0.01),
    "parity": ("score", "max", 0.9),
}


def seed(i, final, *, lengths=None, diverged_at=None, solved_at=None):
    """One seed's summary record; `lengths` {L: {metric: final value}} (eval.lengths)."""
    record = {
        "seed": i,
        "status": "diverged" if diverged_at is not None else "completed",
        "final": final,
        "final_step": 100,
        "best": dict(final),
        "best_step": {},
        "solved_at": solved_at,
        "diverged_at": diverged_at,
    }
    if lengths:
        record["lengths"] = {
            str(n): {"final": dict(v), "best": dict(v), "best_step": {}, "solved_at": None}
            for n, v in lengths.items()
        }
    return record


def write_run(root, name, seeds, *, task="copy", length=8, model="lstm", cfg=None):
    """config.json and summary.json as `seqlab train` leaves them."""
    config = config_lib.base_config().to_dict()
    config["task"].update(name=task, length=length)
    config["model"]["name"] = model
    config["train"].update(seeds=len(seeds), seed=seeds[0]["seed"])
    for dotted, value in (cfg or {}).items():
        section, key = dotted.split(".")
        config[section][key] = value
    metric, mode, threshold = CRITERIA[task]
    summary = {
        "status": "completed",
        "task": {
            "name": task,
            "length": length,
            "seq_len": length,
            "baseline": 0.5,
            "solved": f"{metric} {'>=' if mode == 'max' else '<='} {threshold:g}",
            "criterion": {"metric": metric, "mode": mode, "threshold": threshold},
        },
        "model": model,
        "params": 1000,
        "steps": 100,
        "step": 100,
        "seeds": seeds,
        "throughput": {"steps_per_s": 1.0, "tokens_per_s": 100.0},
        "solved_seeds": sum(s["solved_at"] is not None for s in seeds),
    }
    run = Path(root) / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(config, default=list))
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def acc(*values):
    return [{"recall_accuracy": v, "loss": 1.0} for v in values]


@pytest.fixture
def grid(tmp_path):
    """copy T=8: the LSTM at three learning rates, the GRU at two; adding T=20 (an MSE, so
    smaller is better): the LSTM at two. The best mean and the best single seed differ."""
    root = tmp_path / "grid"
    for lr, finals in ((1e-3, (0.5, 0.7, 0.9)), (3e-3, (0.95, 0.2)), (1e-2, (0.6, 0.6))):
        seeds = [seed(i, f, solved_at=None) for i, f in enumerate(acc(*finals))]
        write_run(root, f"lstm_{lr:g}", seeds, cfg={"optim.lr": lr})
    # a diverged seed's last value (0.999) is no result: neither the best single nor a mean
    gru = [seed(0, acc(0.99)[0], solved_at=50), seed(1, acc(0.999)[0], diverged_at=40)]
    write_run(root, "gru_0.001", gru, model="gru", cfg={"optim.lr": 1e-3})
    write_run(root, "gru_0.003", [seed(0, acc(0.4)[0])], model="gru", cfg={"optim.lr": 3e-3})
    for lr, mses in ((1e-3, (0.02, 0.04)), (3e-3, (0.001, 0.1))):
        seeds = [seed(i, {"mse": m, "loss": m}) for i, m in enumerate(mses)]
        write_run(root, f"add_{lr:g}", seeds, task="adding", length=20, cfg={"optim.lr": lr})
    return root


def by_model(best, task):
    return best[best["task"] == task].set_index("model")


def test_best_over_picks_the_best_mean_and_the_best_single_seed(grid):
    df = load(grid)
    best = best_over(df, "optim.lr")
    assert list(zip(best["task"], best["model"], strict=True)) == [
        ("adding", "lstm"), ("copy", "gru"), ("copy", "lstm"),
    ]  # fmt: skip
    lstm = by_model(best, "copy").loc["lstm"]
    # means 0.7, 0.575, 0.6: lr=1e-3 is best, shown with its own interval over its 3 seeds
    assert lstm["cfg.optim.lr"] == 1e-3 and lstm["seeds"] == 3
    assert lstm["final_mean"] == pytest.approx(0.7)
    assert lstm["final_ci"] == pytest.approx(ci95([0.5, 0.7, 0.9]))
    assert lstm["grid_points"] == 3 and lstm["grid_values"] == "0.001, 0.003, 0.01"
    # the best single seed is elsewhere: 0.95 at lr=3e-3, seed 0 (what Zoology plots)
    assert lstm["best_single"] == 0.95
    assert lstm["best_single_at"] == "optim.lr=0.003, seed=0"
    gru = by_model(best, "copy").loc["gru"]
    assert gru["cfg.optim.lr"] == 1e-3 and gru["final_mean"] == 0.99  # the diverged seed left out
    assert gru["best_single"] == 0.99 and gru["best_single_at"] == "optim.lr=0.001, seed=0"
    # MSE: the smaller the better, for the mean (0.03 < 0.0505) and for the single seed
    adding = by_model(best, "adding").loc["lstm"]
    assert adding["metric"] == "mse" and adding["cfg.optim.lr"] == 1e-3
    assert adding["final_mean"] == pytest.approx(0.03)
    assert adding["best_single"] == 0.001 and adding["best_single_at"] == "optim.lr=0.003, seed=0"
    # the grid point's row is aggregate's row at that learning rate, column for column
    agg = aggregate(df[df["cfg.optim.lr"] == 1e-3])
    row = agg[(agg["task"] == "copy") & (agg["model"] == "lstm")].iloc[0]
    for column in ("final_mean", "final_ci", "best_mean", "solved", "final_loss_mean"):
        assert lstm[column] == pytest.approx(row[column], nan_ok=True), column


def test_best_over_another_metric_and_written_with_the_cfg_prefix(grid):
    best = best_over(load(grid), ["cfg.optim.lr"], metric="loss")
    lstm = by_model(best, "copy").loc["lstm"]
    assert lstm["metric"] == "loss"  # every loss is 1.0: the first grid value wins the tie
    assert lstm["cfg.optim.lr"] == 1e-3 and lstm["best_single"] == 1.0


def test_joint_grid(tmp_path):
    """--best-over optim.lr,model.hidden: the best (lr, hidden) pair per model."""
    points = {(1e-3, 32): (0.5, 0.6), (1e-3, 64): (0.8, 0.9), (3e-3, 32): (0.7, 0.2),
              (3e-3, 64): (1.0, 0.1)}  # fmt: skip
    for (lr, hidden), finals in points.items():
        seeds = [seed(i, f) for i, f in enumerate(acc(*finals))]
        write_run(tmp_path, f"r{lr:g}_{hidden}", seeds,
                  cfg={"optim.lr": lr, "model.hidden": hidden})  # fmt: skip
    df = load(tmp_path)
    assert grid_columns(df, ["optim.lr", "model.hidden"]) == ["cfg.optim.lr", "cfg.model.hidden"]
    (row,) = best_over(df, ["optim.lr", "model.hidden"]).to_dict("records")
    assert (row["cfg.optim.lr"], row["cfg.model.hidden"]) == (1e-3, 64)  # mean 0.85
    assert row["final_mean"] == pytest.approx(0.85) and row["grid_points"] == 4
    assert row["best_single"] == 1.0
    assert row["best_single_at"] == "optim.lr=0.003, model.hidden=64, seed=0"
    # over lr alone, each width is its own configuration
    by_width = best_over(df, "optim.lr").set_index("cfg.model.hidden")
    assert by_width.loc[32, "cfg.optim.lr"] == 1e-3 and by_width.loc[64, "cfg.optim.lr"] == 1e-3
    assert by_width.loc[32, "best_single"] == 0.7 and by_width.loc[64, "best_single"] == 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("optim.lrr", r"--best-over 'optim.lrr' is not a config field; valid choices.*: optim.lr$"),
        ("model.hidden", r"--best-over model.hidden takes one value \(128\) in these runs; valid"),
        ("train.seed", r"--best-over train.seed: seeds are what the mean is over"),
        ("track.project", r"--best-over track.project does not change a result; valid"),
        ([], r"needs at least one config field, e.g. optim.lr"),
    ],
)
def test_bad_grid_fields_are_one_line_errors_naming_the_choices(grid, fields, message):
    with pytest.raises(ConfigError, match=message) as info:
        best_over(load(grid), fields)
    assert "\n" not in str(info.value)


# --- Delétang et al.'s score ----------------------------------------------------------------


def parity_seed(i, accuracies, score=0.0, diverged_at=None):
    """A parity seed trained at T=10, evaluated at lengths 10, 20, 40 with these accuracies;
    `score` (the rescaled accuracy) is set to a value that must not enter Delétang's score."""
    lengths = {n: {"accuracy": a, "score": score, "loss": 0.5}
               for n, a in zip((10, 20, 40), accuracies, strict=True) if a is not None}  # fmt: skip
    return seed(i, {"accuracy": 0.9, "score": 0.8, "loss": 0.1}, lengths=lengths,
                diverged_at=diverged_at)  # fmt: skip


@pytest.fixture
def parity(tmp_path):
    """Parity at T=10 (lengths 10, 20 and 40 evaluated), two learning rates of the LSTM."""
    root = tmp_path / "parity"
    lengths = {"eval.lengths": [10, 20, 40]}
    write_run(root, "lr1", [parity_seed(0, (1.0, 0.8, 0.6)), parity_seed(1, (1.0, 0.6, 0.5)),
              parity_seed(2, (0.0, 0.9, 0.9), diverged_at=30)], task="parity", length=10,
              cfg={"optim.lr": 1e-3, **lengths})  # fmt: skip
    write_run(root, "lr3", [parity_seed(0, (1.0, 0.95, 0.85)), parity_seed(1, (1.0, 0.5, None))],
              task="parity", length=10, cfg={"optim.lr": 3e-3, **lengths})  # fmt: skip
    return root


def test_deletang_score_averages_accuracy_above_the_training_length(parity):
    df = load(parity).sort_values(["cfg.optim.lr", "seed"])
    # length 10 lies within training (1..10) and the rescaled score is not accuracy: neither
    # enters; a length a seed did not record is not counted as 0
    expected = [(0.8 + 0.6) / 2, (0.6 + 0.5) / 2, 0.9, (0.95 + 0.85) / 2, 0.5]
    assert deletang_score(df).tolist() == pytest.approx(expected)
    assert deletang_lengths(df) == [20, 40]
    assert lengths_text([20, 40]) == "20, 40" and lengths_text([41, 42, 43, 44]) == "41..44"
    # runs without eval.lengths have no score
    copy = df.assign(length=40)  # nothing lies above the training length any more
    assert deletang_score(copy).isna().all() and deletang_lengths(copy) == []


def test_deletang_score_in_aggregate_leaves_out_diverged_seeds(parity):
    agg = aggregate(load(parity)).set_index("cfg.optim.lr")
    assert agg.loc[1e-3, "deletang_mean"] == pytest.approx((0.7 + 0.55) / 2)
    assert agg.loc[1e-3, "deletang_ci"] == pytest.approx(ci95([0.7, 0.55]))
    assert agg.loc[1e-3, "deletang_max"] == pytest.approx(0.7)  # the diverged seed's 0.9 is not
    assert agg.loc[3e-3, "deletang_max"] == pytest.approx(0.9)
    assert agg.loc[3e-3, "deletang_lengths"] == "20, 40"


def test_deletang_score_best_over_the_grid_and_seeds(parity):
    (row,) = best_over(load(parity), "optim.lr").to_dict("records")
    assert row["metric"] == "score" and row["cfg.optim.lr"] == 1e-3  # final score 0.8 at both
    assert row["deletang_mean"] == pytest.approx(0.625)  # at the best lr
    assert row["deletang_best"] == pytest.approx(0.9)  # Delétang et al.'s reported number
    assert row["deletang_best_at"] == "optim.lr=0.003, seed=0"


# --- `seqlab results --best-over` -----------------------------------------------------------


def results(path, fmt="table", best=None, metric=None):
    args = argparse.Namespace(path=str(path), format=fmt, metric=metric, best_over=best)
    return results_command.run(args, [])


def test_markdown_best_over_table(grid, capsys):
    assert results(grid, "markdown", ["optim.lr"]) == 0
    tables = parse_markdown(capsys.readouterr().out)
    title = "copy, T=8 (solved: recall_accuracy >= 0.99): best over optim.lr"
    assert list(tables) == ["adding, T=20 (solved: mse <= 0.01): best over optim.lr", title]
    gru, lstm = tables[title]
    assert lstm == {
        "model": "lstm",
        "best lr": "0.001",
        "grid": "0.001, 0.003, 0.01",
        "seeds": "3",
        "final recall_accuracy at best": f"0.7 ± {ci95([0.5, 0.7, 0.9]):.2g}",
        "solved at best": "0/3",
        "best single final recall_accuracy": "0.95 (optim.lr=0.003, seed=0)",
    }
    assert gru["final recall_accuracy at best"] == "0.99" and gru["solved at best"] == "1/2"
    # the same tables as DataFrames of text, for a notebook
    frames = dict(results_command.best_frames(load(grid), "optim.lr"))
    assert list(frames) == list(tables)
    assert frames[title].to_dict("records") == [gru, lstm]


def test_table_and_json_best_over(grid, capsys):
    assert results(grid, "table", ["optim.lr"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "adding, T=20 (solved: mse <= 0.01): best over optim.lr"
    assert lines[1].split()[:4] == ["model", "best", "lr", "grid"]
    lstm = next(line for line in lines if line.startswith("lstm") and "0.95" in line)
    assert lstm.split()[:2] == ["lstm", "0.001"] and "0.95 (optim.lr=0.003, seed=0)" in lstm
    assert "what Zoology's Fig. 2 plots" in out and "nan" not in out.lower()
    assert results(grid, "json", ["optim.lr"]) == 0
    records = json.loads(capsys.readouterr().out)
    copy = {r["model"]: r for r in records if r["task"] == "copy"}
    assert copy["lstm"]["cfg.optim.lr"] == 1e-3 and copy["lstm"]["best_single"] == 0.95
    assert copy["gru"]["final_ci"] is None  # one finished seed: no interval
    assert results(grid, "csv", ["optim.lr"]) == 0
    csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert csv["best_single"].tolist() == [0.001, 0.99, 0.95]


def test_deletang_columns_in_both_tables(parity, capsys):
    assert results(parity, "markdown") == 0
    tables = parse_markdown(capsys.readouterr().out)
    (title,) = [t for t in tables if "other lengths" in t]
    assert "Delétang et al.'s score: plain accuracy averaged over T=20 / 40" not in title
    assert "Delétang et al.'s score: plain accuracy averaged over T=20, 40" in title
    lr1 = next(r for r in tables[title] if r["optim.lr"] == "0.001")
    assert lr1["Delétang score"] == f"0.625 ± {ci95([0.7, 0.55]):.2g}"
    assert lr1["Delétang score (max)"] == "0.7"
    assert results(parity, "markdown", ["optim.lr"]) == 0
    ((title, (row,)),) = parse_markdown(capsys.readouterr().out).items()
    assert title.endswith("best over optim.lr")
    assert row["Delétang score at best (max)"] == f"0.625 ± {ci95([0.7, 0.55]):.2g} (0.7)"
    assert row["Delétang score, best"] == "0.9 (optim.lr=0.003, seed=0)"


def _cli():
    from seqlab.cli import main

    return main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--best-over", "optim.lrr"], "is not a config field; valid choices"),
        (["--best-over", "model.hidden"], "takes one value (128) in these runs; valid choices"),
        (["--best-over", ","], "--best-over needs a config field, e.g. --best-over optim.lr"),
        (["--best-over", "optim.lr", "--metric", "acc"], "unknown metric 'acc'; valid choices"),
    ],
)
def test_cli_bad_grid_exits_2_with_one_line(grid, capsys, argv, message):
    assert _cli()(["results", str(grid), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error: ") and message in err and err.count("\n") == 1
    assert "optim.lr" in err or "metric" in err


def test_cli_best_over_repeated_and_comma_separated(tmp_path, capsys):
    for lr in (1e-3, 3e-3):
        for hidden in (32, 64):
            finals = acc(0.5 + lr * 100 + hidden / 1000)
            write_run(tmp_path, f"r{lr:g}_{hidden}", [seed(0, finals[0])],
                      cfg={"optim.lr": lr, "model.hidden": hidden})  # fmt: skip
    outs = []
    for argv in (["--best-over", "optim.lr", "--best-over", "model.hidden"],
                 ["--best-over", "optim.lr, model.hidden"]):  # fmt: skip
        assert _cli()(["results", str(tmp_path), "--format", "json", *argv]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1]
    (row,) = outs[0]
    assert (row["cfg.optim.lr"], row["cfg.model.hidden"], row["grid_points"]) == (3e-3, 64, 4)
    assert row["final_mean"] == pytest.approx(0.5 + 0.3 + 0.064)


def test_add_parser_takes_best_over():
    parser = argparse.ArgumentParser()
    results_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["results", "runs/x", "--best-over", "optim.lr", "--best-over", "a"])
    assert args.best_over == ["optim.lr", "a"]
    assert parser.parse_args(["results", "runs/x"]).best_over is None


def test_attention_block_shown_for_the_transformer_only(tmp_path):
    """model.attention_block means nothing to an LSTM: its cell reads "–", not "seqlab"."""
    seeds = [seed(0, acc(0.5)[0])]
    write_run(tmp_path, "lstm", seeds)
    write_run(tmp_path, "ours", seeds, model="transformer")
    write_run(tmp_path, "zoo", seeds, model="transformer", cfg={"model.attention_block": "zoology"})
    out = io.StringIO()
    results_command.print_tables(tmp_path, "markdown", file=out)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| model | model.attention_block | seeds |"), rows[0]
    assert [r.split(" | ")[:2] for r in rows[1:]] == [
        ["| lstm", "–"], ["| transformer", "seqlab"], ["| transformer", "zoology"],
    ]  # fmt: skip
