"""eval.lengths: evaluation at other task lengths, recorded per length and shown by results."""

import io
import json

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from seqlab import config as config_lib
from seqlab.config import ConfigError
from seqlab.registry import TASKS
from seqlab.report.command import write_report
from seqlab.results import load_metrics
from seqlab.results.command import print_tables
from seqlab.train.run import train
from seqlab.train.rundir import read_metrics
from seqlab.train.state import build_model
from tests.conftest import small_config
from tests.models.zoo import ZOO, config, is_causal


def test_rows_and_records_per_length(tmp_path):
    # The training length (8) among the others: its rows must equal the plain eval rows.
    cfg = small_config(**{"train.seeds": 2, "train.steps": 40, "eval.lengths": (8, 12)})
    summary = train(cfg, tmp_path / "run", progress=False)
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")[0]
    evals = {(r["step"], r["seed"]): r for r in rows if r["split"] == "eval"}
    at = {(r["length"], r["step"], r["seed"]): r for r in rows if r["split"] == "eval_length"}
    assert {k[0] for k in at} == {8, 12}
    assert {k[1:] for k in at} == set(evals) == {(s, seed) for s in (0, 20, 40) for seed in (0, 1)}
    for (step, seed), row in evals.items():
        same = at[8, step, seed]
        assert same["loss"] == row["loss"] and same["accuracy"] == row["accuracy"]
        assert at[12, step, seed]["loss"] != row["loss"]  # a longer gap is another task
    for record in summary["seeds"]:
        seed = record["seed"]
        longer = record["lengths"]["12"]
        assert longer["final"]["loss"] == at[12, 40, seed]["loss"]
        assert longer["final_step"] == 40
        assert longer["best"]["loss"] == min(at[12, s, seed]["loss"] for s in (0, 20, 40))
    assert set(summary["throughput"]["compile_s"]) >= {"eval", "eval@8", "eval@12"}

    out = io.StringIO()
    print_tables(tmp_path, "markdown", file=out)
    text = out.getvalue()
    assert "copy, trained at T=8: final recall_accuracy at other lengths" in text
    assert "| T=8 (trained) | T=8 | T=12 |" in text

    curves = load_metrics(tmp_path)  # the run's length stays 8; each row's own is eval_length
    assert curves["length"].unique().tolist() == [8]
    per_length = curves[curves["split"] == "eval_length"]
    assert sorted(per_length["eval_length"].unique()) == [8, 12]
    assert curves.loc[curves["split"] == "eval", "eval_length"].isna().all()
    assert write_report(tmp_path, tmp_path / "report.html").stat().st_size > 0


def test_a_task_trained_on_every_length_up_to_t_is_labelled_so(tmp_path):
    fields = {"task.name": "parity", "task.length": 6, "train.steps": 20, "eval.lengths": (9,)}
    summary = train(small_config(**fields), tmp_path / "run", progress=False)
    assert summary["task"]["min_length"] == 1
    out = io.StringIO()
    print_tables(tmp_path, "markdown", file=out)
    text = out.getvalue()
    assert "parity, trained at T=1..6: final score at other lengths" in text
    assert "| T=1..6 (trained) | T=9 |" in text


def test_resumed_run_keeps_its_per_length_records(tmp_path):
    fields = {"train.steps": 40, "eval.lengths": (12,)}
    whole = train(small_config(**fields), tmp_path / "whole", progress=False)
    train(small_config(**{**fields, "train.steps": 20}), tmp_path / "resumed", progress=False)
    resumed = train(small_config(**fields), tmp_path / "resumed", progress=False)
    assert resumed["seeds"][0]["lengths"] == whole["seeds"][0]["lengths"]
    saved = json.loads((tmp_path / "resumed" / "summary.json").read_text())
    assert saved["seeds"][0]["lengths"]["12"]["final_step"] == 40


@pytest.mark.parametrize("name", ZOO)
def test_every_zoo_model_runs_at_three_times_its_training_length(name):
    task_name = "copy" if is_causal(name) else "adding"
    extra = {"model.positions": "rotary"} if name == "transformer" else {}
    cfg = config(name, task_name, 6, **extra, **{"eval.lengths": (18,)})
    abstract = nnx.eval_shape(
        lambda: build_model(cfg.model, TASKS.get(task_name)(cfg.task).spec, jax.random.key(0))
    )
    graphdef, params = nnx.split(abstract)
    model = lambda p, x, lengths: nnx.merge(graphdef, p)(x, lengths)  # noqa: E731
    longer = TASKS.get(task_name)(config_lib.task_at_length(cfg.task, 18)).spec
    shape = (longer.seq_len, 2) + (() if longer.input_kind == "tokens" else (longer.input_dim,))
    dtype = jnp.int32 if longer.input_kind == "tokens" else jnp.float32
    inputs = jax.ShapeDtypeStruct(shape, dtype)
    out = jax.eval_shape(model, params, inputs, jnp.full((2,), longer.seq_len))
    want = (longer.seq_len, 2, longer.out_features) if longer.scored == "every" else (2, 1)
    assert out.shape == want


def test_learned_positions_cannot_run_longer_and_say_what_can():
    with pytest.raises(ConfigError, match=r"runs at most 28: model.positions=learned .* rotary"):
        config("transformer", "copy", 8, **{"eval.lengths": (12,)})
    config("transformer", "copy", 8, **{"eval.lengths": (4,)})  # shorter fits the table
    config("transformer", "copy", 8, **{"eval.lengths": (12,), "model.positions": "sinusoidal"})


@pytest.mark.parametrize(
    ("lengths", "message"),
    [((0,), "positive integers"), ((12, 12), "repeated"), ((40, 2), "at length 2: .* least 24")],
)
def test_bad_eval_lengths_are_refused(lengths, message):
    overrides = {"eval.lengths": lengths}
    if lengths == (40, 2):
        overrides["task.name"] = "adding_1997"  # needs length >= 24
        overrides["task.length"] = 30
    with pytest.raises(ConfigError, match=message):
        small_config(**overrides)


def test_a_task_field_the_task_does_not_read_is_refused():
    with pytest.raises(ConfigError, match=r"task.pairs does not apply to task 'copy'"):
        small_config(**{"task.pairs": 4})
