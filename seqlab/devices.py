"""How many devices JAX makes of the host CPU.

XLA presents the whole CPU as one device, and a program's small matmuls (a recurrent cell's,
one per step) then run one at a time, leaving the other cores idle. Split into one device per
core, several seeds of one program run side by side (`train.seed_strategy`, auto:
seqlab.train.loop.over_seeds). `use_cpu_cores()` asks for that before JAX starts its backends:
as many devices as the cores this process may run on, or `SEQLAB_CPU_DEVICES` when set (a
local sweep running N jobs at once gives each job its share of the cores). The `seqlab`
command calls it first; a library user who wants the same calls it before using JAX. An
explicit `--xla_force_host_platform_device_count` in XLA_FLAGS wins.
"""

from __future__ import annotations

import contextlib
import os

ENV = "SEQLAB_CPU_DEVICES"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_device_count() -> int:
    value = os.environ.get(ENV, "")
    return max(1, int(value)) if value.isdigit() else usable_cores()


def use_cpu_cores() -> None:
    """One JAX CPU device per usable core; a no-op once JAX's backends have started."""
    import jax

    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    with contextlib.suppress(RuntimeError):  # backends already started: keep their devices
        jax.config.update("jax_num_cpu_devices", cpu_device_count())


def describe_machine() -> str:
    """The machine a run trains on, for its record: the accelerator's kind where there is one,
    else the CPU model; the host's cores; jax's version and backend."""
    import platform

    import jax

    backend = jax.default_backend()
    if backend == "cpu":
        kind = platform.processor() or platform.machine()
        with contextlib.suppress(OSError):
            for line in open("/proc/cpuinfo"):  # noqa: SIM115 - read until the first match
                if line.startswith("model name"):
                    kind = line.split(":", 1)[1].strip()
                    break
    else:
        kind = f"{jax.local_device_count()} x {jax.devices()[0].device_kind}"
    return f"{kind}; {os.cpu_count()} cores; jax {jax.__version__} ({backend})"
