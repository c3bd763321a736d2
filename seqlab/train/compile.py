"""Ahead-of-time compilation with the project's XLA options.

On CPU, XLA's default backend optimisation level (3) compiles a run's programs about 30%
slower than level 1, and the programs run no faster: their time goes to matmul library calls
that are compiled already (measured for every zoo model: benchmarks/compile_level.py,
BENCHMARKS.md). Compiling is most of a short run's time (the demo sweep's), so seqlab compiles
CPU programs at level 1. `xla_backend_optimization_level` in XLA_FLAGS, or
JAX_DISABLE_MOST_OPTIMIZATIONS (which the test suite sets), takes precedence.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import jax

CPU_BACKEND_LEVEL = 1


def compiler_options() -> dict[str, int]:
    """The XLA options seqlab compiles with on this backend (none where XLA's default rules)."""
    chosen_elsewhere = "xla_backend_optimization_level" in os.environ.get(
        "XLA_FLAGS", ""
    ) or jax.config.read("jax_disable_most_optimizations")
    if jax.default_backend() != "cpu" or chosen_elsewhere:
        return {}
    return {"xla_backend_optimization_level": CPU_BACKEND_LEVEL}


def compile_jit(fn: Callable, *args, **jit_kwargs) -> jax.stages.Compiled:
    """`jax.jit(fn, **jit_kwargs)` compiled for `args` (arrays or shape structs) now."""
    return jax.jit(fn, **jit_kwargs).lower(*args).compile(compiler_options())
