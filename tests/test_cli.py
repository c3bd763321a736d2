"""The command line: listings, a full train, and one-line errors with exit status 2."""

import json
from pathlib import Path

import pytest

from seqlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
COPY = str(ROOT / "configs/copy.py")
SMALL = [
    f"--config.{key}"
    for key in (
        "task.length=5", "model.hidden=8", "train.steps=20", "train.chunk=10", "eval.every=10",
        "train.batch_size=4", "eval.batches=1", "eval.batch_size=8", "checkpoint.every=10",
    )
]  # fmt: skip


def test_models_and_tasks_are_listed(capsys):
    assert main(["models"]) == 0
    assert "lstm" in capsys.readouterr().out
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in ("copy", "adding", "adding_1997"):
        assert any(line.split()[0] == name for line in out.splitlines())
    assert "Arjovsky" in out and "Hochreiter" in out


def test_train_then_resume_completed_run(tmp_path, capsys):
    workdir = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                COPY,
                *SMALL,
                "--config.model.hidden",
                "6",
                "--workdir",
                str(workdir),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "completed" in captured.out and str(workdir) in captured.out
    assert "step 20/20" in captured.err and "steps/s" in captured.err and "ETA" in captured.err
    assert json.loads((workdir / "config.json").read_text())["model"]["hidden"] == 6
    # the stored config is enough to resume (here: nothing left to do)
    assert main(["train", "--workdir", str(workdir), "--quiet"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--config.model.name=transformerx"],
            "unknown model 'transformerx'; valid choices: bigru, bilstm",
        ),
        (
            ["--config.task.name=cpy"],
            "unknown task 'cpy'; valid choices: adding, adding_1997, copy",
        ),
        (["--config.model.hiden=3"], "unknown config key 'model.hiden'; valid keys in model:"),
        (
            ["--config.modle.hidden=3"],
            "unknown config key 'modle.hidden'; valid keys in the config:",
        ),
        (["--config.model.hidden=big"], "config key 'model.hidden' expects int, got 'big'"),
        (["--config.model.remat=maybe"], "expects a bool"),
        (["--config.task.length=0"], "task.length must be a positive integer, got 0"),
        (["--config.task.length=-5"], "task.length must be a positive integer, got -5"),
        (["--config.train.batch_size=0"], "train.batch_size must be a positive integer"),
        (["--config.train.steps=0"], "train.steps must be a positive integer"),
        (
            ["--config.optim.name=lion"],
            "optim.name is 'lion'; valid choices: adam, adamw, rmsprop, sgd",
        ),
        (["--config.optim.lr=-1.0"], "optim.lr must be a positive number"),
        (["--bogus"], "unrecognised argument '--bogus'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, message):
    workdir = tmp_path / "run"
    assert main(["train", "--config", COPY, *SMALL, *args, "--workdir", str(workdir)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and err.startswith("seqlab: error: ")
    assert not workdir.exists()


def test_unwritable_or_foreign_workdir_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert (
        main(["train", "--config", COPY, *SMALL, "--workdir", str(tmp_path / "file" / "run")]) == 2
    )
    assert "cannot be created" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main(["train", "--config", COPY, *SMALL, "--workdir", str(tmp_path / "other")]) == 2
    assert "holds no seqlab run" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["notes.txt"]


def test_missing_config_file_and_resume_without_run(tmp_path, capsys):
    assert (
        main(["train", "--config", str(tmp_path / "nope.py"), "--workdir", str(tmp_path / "r")])
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--workdir", str(tmp_path / "r")]) == 2
    assert "--config is required" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
