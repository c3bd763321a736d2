"""Shared fixtures: small configs that train in seconds on 2 cores."""

from __future__ import annotations

import os

# Tests check numbers, not speed: XLA's cheaper optimisation level cuts compile time (which
# dominates this suite on 2 cores) by about 30%. Set before jax is imported; subprocesses that
# tests start inherit it. Benchmarks never run under it.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
# The CPU as two devices, as the `seqlab` command runs it on a 2-core machine
# (seqlab.devices): multi-seed programs then spread their seeds over the devices.
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "2")
# No compiled programs from earlier runs (seqlab.compile_cache): each test compiles its own.
os.environ.setdefault("SEQLAB_COMPILATION_CACHE", "off")

import pytest

import seqlab.models
import seqlab.tasks  # noqa: F401
from seqlab import config as config_lib


def small_config(**overrides):
    """A locked, validated config; overrides are {'section.key': value}."""
    cfg = config_lib.base_config()
    cfg.lock()
    defaults = {
        "task.name": "copy",
        "task.length": 8,
        "model.hidden": 16,
        "model.embed_dim": 8,
        "train.steps": 60,
        "train.batch_size": 8,
        "train.chunk": 20,
        "eval.every": 20,
        "eval.batches": 2,
        "eval.batch_size": 16,
        "checkpoint.every": 20,
    }
    for key, value in {**defaults, **overrides}.items():
        config_lib.apply_value(cfg, key, tuple(value) if isinstance(value, list) else value)
    config_lib.validate(cfg)
    return cfg


@pytest.fixture
def make_config():
    return small_config


# `make test` runs two xdist workers with --dist loadgroup: a test without a group goes to
# whichever worker is free (test_zoo.py's 115 tests no longer queue on one worker, as they did
# under --dist loadfile). Tests that share an expensive session fixture stay on one worker, so
# it is built once (and the one local Slurm cluster is never started twice at once); tests
# that share a module-scoped fixture stay together by file. Cheap session fixtures (synthetic
# run directories, the Chromium check) may be built once per worker.
_SHARED_SESSION_FIXTURES = (
    "tiny_sweep",  # tests/report/conftest.py: trains a real sweep (~50 s)
    "slurm_cluster",  # tests/sweep/conftest.py: the local Slurm cluster
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        group = _shared_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def _shared_group(item) -> str | None:
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is None:
        return None
    names = fixture_info.names_closure
    for name in _SHARED_SESSION_FIXTURES:
        if name in names:
            return name
    for name in names:
        if any(d.scope == "module" for d in fixture_info.name2fixturedefs.get(name, ())):
            return str(item.path)
    return None
