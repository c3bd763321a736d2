"""seqlab.devices: the CPU as one JAX device per usable core, or SEQLAB_CPU_DEVICES."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seqlab import devices


def device_count_in_fresh_process(env: dict[str, str]) -> int:
    code = "from seqlab.devices import use_cpu_cores; use_cpu_cores(); import jax; "
    code += "print(jax.local_device_count())"
    # without the suite's own JAX_NUM_CPU_DEVICES (conftest), as a user's shell would be
    base = {k: v for k, v in os.environ.items() if k != "JAX_NUM_CPU_DEVICES"}
    env = {**base, "JAX_PLATFORMS": "cpu", **env}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


def test_the_environment_variable_sets_the_device_count():
    assert device_count_in_fresh_process({devices.ENV: "3"}) == 3


def test_without_it_one_device_per_usable_core():
    assert device_count_in_fresh_process({devices.ENV: ""}) == devices.usable_cores()


def test_an_explicit_xla_device_count_wins():
    flags = "--xla_force_host_platform_device_count=5"
    assert device_count_in_fresh_process({devices.ENV: "3", "XLA_FLAGS": flags}) == 5


@pytest.mark.parametrize(("value", "expected"), [("4", 4), ("0", 1), ("many", None)])
def test_cpu_device_count_reads_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv(devices.ENV, value)
    assert devices.cpu_device_count() == (expected or devices.usable_cores())
