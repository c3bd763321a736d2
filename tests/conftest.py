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
