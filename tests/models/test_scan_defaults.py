"""model.scan_form=auto: each linear recurrence runs its backend's default form, a named form
runs as named, and the default's arrival kept the identity of every run written before it."""

from __future__ import annotations

import json

import pytest

import seqlab.models  # noqa: F401  (registration)
from seqlab import config as config_lib
from seqlab.models import scan_defaults
from seqlab.models.sizing import built_size
from seqlab.registry import MODELS, TASKS
from seqlab.results.load import config_id
from tests.conftest import small_config


def test_the_tables_cover_exactly_the_families_with_several_forms():
    multi = {n for n in MODELS.names() if len(MODELS.entry(n).scan_forms) > 1}
    assert multi == scan_defaults.FAMILIES
    for table in (scan_defaults.CPU, scan_defaults.GPU):
        assert set(table) == multi
        for family, form in table.items():
            assert form in MODELS.entry(family).scan_forms, (family, form)


@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_auto_resolves_per_backend(backend):
    table = scan_defaults.DEFAULTS[backend]
    assert scan_defaults.default_scan_form("mamba2", backend) == table["mamba2"]
    assert scan_defaults.default_scan_form("lstm", backend) == "scan"  # one form: its own


def test_a_named_form_runs_as_named_and_is_recorded():
    cfg = small_config(**{"model.name": "lru", "task.name": "adding", "task.length": 8})
    spec = TASKS.get("adding")(cfg.task).spec
    assert cfg.model.scan_form == "auto"
    assert built_size(cfg.model, spec)["scan_form"] == scan_defaults.default_scan_form("lru")
    cfg.model.scan_form = "chunked"
    assert scan_defaults.scan_form(cfg.model) == "chunked"
    assert built_size(cfg.model, spec)["scan_form"] == "chunked"
    lstm = small_config(**{"model.name": "lstm", "task.name": "adding", "task.length": 8})
    assert "scan_form" not in built_size(lstm.model, spec)


def test_runs_written_when_the_default_was_scan_keep_their_identity():
    for name, same in [("lstm", True), ("xlstm[1:1]", True), ("lru", False)]:
        cfg = config_lib.base_config()
        cfg.model.name = name
        old = json.loads(config_lib.to_json(cfg))
        old["model"]["scan_form"] = "scan"  # config.json of a run written before "auto"
        assert (config_id(old) == config_id(cfg)) is same, name


def test_an_unknown_form_is_a_config_error_naming_auto():
    with pytest.raises(config_lib.ConfigError, match="valid choices for it: auto, scan"):
        config_lib.load("configs/base.py", [("model.name", "lstm"), ("model.scan_form", "ssd")])
