"""Config files, overrides and validation."""

from pathlib import Path

import pytest

from seqlab import config as config_lib
from seqlab.registry import TASKS

CONFIG_FILES = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.py"))
ARGS = {"copy.py": ["", ":paper", ":fast"], "adding.py": ["", ":paper", ":fast"]}


def test_config_directory_has_the_documented_files():
    assert {p.name for p in CONFIG_FILES} >= {"base.py", "copy.py", "adding.py", "adding_1997.py"}


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_every_config_file_builds(path):
    assert path.read_text().lstrip().startswith('"""')
    assert "seqlab train --config configs/" in path.read_text()  # the docstring's command
    for arg in ARGS.get(path.name, [""]):
        cfg = config_lib.load(f"{path}{arg}")
        TASKS.get(cfg.task.name)(cfg.task)  # builds
        assert cfg.is_locked


def test_paper_defaults():
    cfg = config_lib.load(str(CONFIG_FILES[0].parent / "copy.py"))
    assert (cfg.train.batch_size, cfg.optim.name, cfg.optim.lr, cfg.train.steps) == (
        20,
        "rmsprop",
        1e-3,
        20_000,
    )
    assert cfg.optim.clip_value == 1.0
    cfg = config_lib.load(str(CONFIG_FILES[0].parent / "adding_1997.py"))
    assert cfg.eval.batches * cfg.eval.batch_size >= 2000  # the paper's 2000-sequence criterion


def test_overrides_parse_to_the_field_type():
    cfg = config_lib.base_config()
    cfg.lock()
    for key, text in [("model.hidden", "64"), ("optim.lr", "3"), ("model.remat", "true"),
                      ("track.tags", "a,b"), ("task.name", "adding")]:  # fmt: skip
        config_lib.apply_override(cfg, key, text)
    assert cfg.model.hidden == 64 and cfg.optim.lr == 3.0 and isinstance(cfg.optim.lr, float)
    assert cfg.model.remat is True and cfg.track.tags == ("a", "b") and cfg.task.name == "adding"
    with pytest.raises(config_lib.ConfigError, match="expects float"):
        config_lib.apply_override(cfg, "optim.lr", "fast")
    with pytest.raises(config_lib.ConfigError, match="is a section"):
        config_lib.apply_override(cfg, "model", "x")


def test_config_json_round_trip():
    cfg = config_lib.load(str(CONFIG_FILES[0].parent / "copy.py:fast"))
    again = config_lib.from_dict(cfg.to_dict())
    assert again.to_dict() == cfg.to_dict()


def test_norm_without_residual_is_refused():
    cfg = config_lib.base_config()
    cfg.model.norm = "layer"
    with pytest.raises(config_lib.ConfigError, match=r"only with model\.residual"):
        config_lib.validate(cfg)
