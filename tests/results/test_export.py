"""seqlab export: a study as one committed JSON file, read back into the same frames."""

import json

import numpy as np
import pandas as pd
import pytest

from seqlab.cli import main
from seqlab.results import aggregate, load
from seqlab.results.export import export, read_export
from seqlab.train.run import train
from tests.conftest import small_config


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Two programs (two learning rates, two seeds each) trained for 60 steps, evaluated every
    10: the GRU with stop-when-solved on adding T=6 (solves), the LSTM on copy."""
    root = tmp_path_factory.mktemp("study") / "tiny"
    for name, overrides in {
        "adding_gru": {"task.name": "adding", "task.length": 6, "model.name": "gru",
                       "optim.lr": 3e-2, "train.stop_when_solved": True, "train.batch_size": 32},
        "copy_lstm": {"optim.lr": 3e-3},
    }.items():  # fmt: skip
        cfg = small_config(**{"train.seeds": 2, "eval.every": 10, "train.chunk": 10, **overrides})
        train(cfg, root / name, progress=False)
    return root


def test_round_trip_gives_the_same_seeds_and_aggregates(study, tmp_path):
    out = tmp_path / "tiny.json"
    assert main(["export", str(study), "-o", str(out), "--curve-points", "4"]) == 0
    seeds, curves, meta = read_export(out)
    direct = load(study)
    assert meta["runs"] == 2 and meta["study"] == "tiny" and meta["machine"]
    assert set(curves["model"]) == {"gru", "lstm"} and (curves["split"] == "eval").all()
    assert curves.groupby(["run", "seed"]).size().max() <= 4
    assert len(seeds) == len(direct) == 4
    assert set(direct.columns) - {"path"} <= set(seeds.columns)
    cols = ["run", "seed", "final.loss", "solved", "solved_at", "solved_sequences"]
    pd.testing.assert_frame_equal(
        seeds.sort_values(["run", "seed"])[cols].reset_index(drop=True),
        direct.sort_values(["run", "seed"])[cols].reset_index(drop=True),
        check_dtype=False,
    )
    a, b = aggregate(seeds), aggregate(direct.drop(columns="path"))
    for col in ("final_mean", "final_ci", "solved", "sequences_to_solve", "budget_sequences"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), equal_nan=True)
    gru = seeds[seeds["model"] == "gru"]
    assert gru["solved"].all() and (gru["solved_sequences"] == 32 * gru["solved_at"]).all()


def test_curves_are_downsampled_keeping_the_ends(study, tmp_path):
    study_json = export(study, curve_points=4)
    full = export(study, curve_points=1000)
    assert len(study_json["curves"]) == len(full["curves"]) == 4  # 2 runs x 2 seeds, eval only
    for short, whole in zip(study_json["curves"], full["curves"], strict=True):
        assert len(short["step"]) == min(4, len(whole["step"]))
        assert short["step"][0] == whole["step"][0] and short["step"][-1] == whole["step"][-1]
        assert set(short["step"]) <= set(whole["step"])
        assert short["loss"][-1] == whole["loss"][-1]
    json.dumps(study_json, allow_nan=False)  # strict JSON: no NaN anywhere


def test_export_of_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "x.json")]) == 2
    assert "no runs found" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
