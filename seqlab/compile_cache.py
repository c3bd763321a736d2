"""JAX's persistent compilation cache for the `seqlab` command.

Compiling is most of a short run's time on a CPU (BENCHMARKS.md), and XLA's result for a
program is the same each time the program is. So the `seqlab` command keeps compiled programs
on disk (JAX's persistent compilation cache), and a later process that compiles the same
program loads it instead: a resumed or re-run run, the runs of a learning-rate sweep (their
initial-state and evaluation programs do not depend on the learning rate), the test suite run
again. JAX keys each entry on the program, the compile options, the jax/jaxlib versions and
the device, and writes entries atomically, so several processes may share the directory.
Kept: programs whose XLA compile took at least MIN_COMPILE_S; beyond MAX_BYTES the least
recently used go.

Where: under `SEQLAB_COMPILATION_CACHE` (a directory; `off` disables it), else under
`$XDG_CACHE_HOME/seqlab/jax` (by default `~/.cache/seqlab/jax`), in a subdirectory named after
this machine and jaxlib (`machine_key`): an XLA:CPU program is compiled for the host's
instruction set, and jaxlib's loader of cached CPU programs has rejected, or crashed on,
entries written by another CPU or another jaxlib, so nodes of a cluster that share a home
directory, or two installs, keep apart. A cache directory already given to JAX
(JAX_COMPILATION_CACHE_DIR) wins. A library user who wants the same calls
`use_compilation_cache()` before compiling.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
from pathlib import Path

ENV = "SEQLAB_COMPILATION_CACHE"
OFF = "off"
MAX_BYTES = 4 * 2**30
MIN_COMPILE_S = 0.2  # JAX's default, 1 s, leaves out the evaluation programs of small models


def machine_key() -> str:
    """A short name for this machine's CPU (model and instruction-set flags) and jaxlib."""
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        cpu += fields.get("model name", "") + " " + fields.get("flags", "")
    digest = hashlib.sha256(cpu.encode()).hexdigest()[:12]
    return f"jaxlib-{_jaxlib_version()}-cpu-{digest}"


def _jaxlib_version() -> str:
    import jaxlib.version

    return jaxlib.version.__version__


def cache_dir() -> Path | None:
    """The directory the `seqlab` command caches compiled programs in; None when off."""
    chosen = os.environ.get(ENV, "").strip()
    if chosen.lower() == OFF:
        return None
    if chosen:
        return Path(chosen).expanduser() / machine_key()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqlab" / "jax" / machine_key()


def use_compilation_cache() -> Path | None:
    """Turns JAX's persistent compilation cache on in `cache_dir()`; returns the directory
    in use (JAX's own setting if one was given), None when off."""
    import jax

    if jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    directory = cache_dir()
    if directory is None:
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    if jax.config.jax_compilation_cache_max_size < 0:
        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return directory
