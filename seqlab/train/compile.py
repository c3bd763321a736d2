"""Ahead-of-time compilation with the project's XLA options.

On CPU, XLA's default backend optimisation level (3) compiles a program about 30% slower than
level 1 (benchmarks/compile_level.py, BENCHMARKS.md), and what level 3 buys at run time is small:
most of a step's time goes to matmul library calls that are compiled already; the measured
training steps ran 0-8% faster at level 3. So the programs that run once or rarely (the initial
state, the evaluation) are compiled at level 1 on CPU, and the training chunk is too when the
run asks for it (`train.fast_compile`: short runs such as the demo sweep, where compiling is
most of the time). `xla_backend_optimization_level` in XLA_FLAGS, or
JAX_DISABLE_MOST_OPTIMIZATIONS (which the test suite sets), takes precedence.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import jax

FAST_CPU_LEVEL = 1


def compiler_options(fast: bool = True) -> dict[str, int]:
    """The XLA options to compile with: `fast` picks level 1 on CPU unless chosen elsewhere."""
    chosen_elsewhere = "xla_backend_optimization_level" in os.environ.get(
        "XLA_FLAGS", ""
    ) or jax.config.read("jax_disable_most_optimizations")
    if not fast or jax.default_backend() != "cpu" or chosen_elsewhere:
        return {}
    return {"xla_backend_optimization_level": FAST_CPU_LEVEL}


def compile_jit(fn: Callable, *args, fast: bool = True, **jit_kwargs) -> jax.stages.Compiled:
    """`jax.jit(fn, **jit_kwargs)` compiled for `args` (arrays or shape structs) now;
    `fast`: see `compiler_options`."""
    return jax.jit(fn, **jit_kwargs).lower(*args).compile(compiler_options(fast))
