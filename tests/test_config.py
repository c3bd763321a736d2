"""Config files, overrides and validation."""

from pathlib import Path

import pytest

from seqlab import config as config_lib
from seqlab.registry import TASKS

CONFIG_FILES = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.py"))
ARGS = {
    "copy.py": ["", ":paper", ":fast"],
    "adding.py": ["", ":paper", ":fast"],
    "zoo.py": ["", ":gru", ":slstm", ":mlstm", ":xlstm[1:1]", ":transformer"],
}


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


def model_config(**model_fields):
    cfg = config_lib.base_config()
    cfg.task.name = "adding"
    cfg.task.length = 10
    cfg.model.update(model_fields)
    return cfg


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"merge": "max"}, r"model\.merge is 'max'; valid choices: concat, sum"),
        ({"forget_gate": "relu"}, r"valid choices: sigmoid, exponential"),
        ({"mlstm_form": "fast"}, r"valid choices: recurrent, parallel, chunkwise"),
        ({"positions": "xl"}, r"valid choices: learned, sinusoidal, rotary, alibi, relative, none"),
        ({"attention_block": "gpt"}, r"model\.attention_block is 'gpt'; valid choices: seqlab, zo"),
        (
            {"name": "transformer", "attention_block": "zoology"},
            r"attention_block=zoology ties the readout to the token embedding.*'adding' has reals",
        ),
        ({"heads": 0}, r"model\.heads must be a positive integer"),
        ({"size": "huge"}, r"model\.size is 'huge'; valid choices for 'lstm': tiny, small, base"),
        ({"param_budget": -1}, r"model\.param_budget must be >= 0"),
        ({"name": "lstm[2]"}, r"unknown model 'lstm\[2\]'; valid choices: .*lstm"),
    ],
)
def test_bad_model_fields_are_one_line_errors(fields, message):
    with pytest.raises(config_lib.ConfigError, match=message) as e:
        config_lib.validate(model_config(**fields))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"optim.schedule_steps": 50}, r"optim\.schedule_steps must be 0 \(train\.steps\) or >= "),
        ({"optim.schedule_steps": -1}, r"optim\.schedule_steps must be an integer >= 0"),
        ({"optim.warmup_steps": 100}, r"optim\.warmup_steps must be in \[0, 100\)"),
        (
            {"optim.warmup_steps": 150, "optim.schedule_steps": 200},
            None,  # warm-up beyond the run's steps, inside the schedule: allowed
        ),
        (
            {"optim.warmup_steps": 200, "optim.schedule_steps": 200},
            r"optim\.warmup_steps must be in \[0, 200\)",
        ),
    ],
)
def test_schedule_length_fields(fields, message):
    cfg = model_config()
    cfg.train.steps = 100
    for key, value in fields.items():
        cfg.optim[key.split(".")[1]] = value
    if message is None:
        config_lib.validate(cfg)
        return
    with pytest.raises(config_lib.ConfigError, match=message) as e:
        config_lib.validate(cfg)
    assert "\n" not in str(e.value)


def test_size_variant_and_budget_resolve_to_what_is_built():
    from seqlab.models.sizing import CELL_SIZES, count_params, resolve
    from seqlab.registry import TASKS

    cfg = model_config(size="base")
    spec = TASKS.get("adding")(cfg.task).spec
    built = resolve(cfg.model, spec)
    assert (built.hidden, built.layers) == (CELL_SIZES["base"]["hidden"], 2)
    budget = model_config(param_budget=12_345)
    built = resolve(budget.model, spec)
    assert abs(count_params(built, spec) - 12_345) <= 0.05 * 12_345
    assert built.is_locked and cfg.model.hidden == 128  # the given config is left alone


def test_unreachable_budget_names_the_closest_model():
    with pytest.raises(config_lib.ConfigError, match=r"param_budget=10: the closest 'lstm' has"):
        config_lib.validate(model_config(param_budget=10))


@pytest.mark.parametrize("minutes", [-1.0, float("nan"), float("inf")])
def test_checkpoint_minutes_must_be_a_finite_number_of_minutes(minutes):
    cfg = model_config()
    cfg.checkpoint.minutes = minutes
    with pytest.raises(config_lib.ConfigError, match=r"checkpoint\.minutes must be >= 0"):
        config_lib.validate(cfg)


def test_a_run_written_before_a_new_field_keeps_its_id():
    """model.attention_block came later: a config.json without it counts as its default
    (with_defaults), so the run keeps its id and a sweep finds it."""
    from seqlab.results import config_id

    stored = config_lib.base_config().to_dict()
    del stored["model"]["attention_block"]
    assert config_lib.with_defaults(stored)["model"]["attention_block"] == "seqlab"
    assert config_id(stored) == config_id(config_lib.base_config())
    stored["model"]["attention_block"] = "zoology"
    assert config_id(stored) != config_id(config_lib.base_config())
