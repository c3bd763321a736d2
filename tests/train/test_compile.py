import jax
import jax.numpy as jnp
import pytest

from seqlab.train import compile as compile_lib


@pytest.fixture
def optimisations_enabled(monkeypatch):
    """The suite sets JAX_DISABLE_MOST_OPTIMIZATIONS; these tests need a run's settings."""
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    yield
    jax.config.update("jax_disable_most_optimizations", before)


def test_cpu_programs_compile_at_backend_level_1(optimisations_enabled):
    assert compile_lib.compiler_options() == {"xla_backend_optimization_level": 1}


def test_xla_flags_choice_of_level_wins(optimisations_enabled, monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=3")
    assert compile_lib.compiler_options() == {}


def test_disable_most_optimizations_wins(optimisations_enabled):
    jax.config.update("jax_disable_most_optimizations", True)
    assert compile_lib.compiler_options() == {}


def test_compiled_program_computes_what_jit_computes(optimisations_enabled):
    x = jnp.linspace(-2.0, 2.0, 12).reshape(3, 4)
    fn = lambda a, b: jnp.tanh(a @ b.T) * 2.0  # noqa: E731
    compiled = compile_lib.compile_jit(fn, x, x)
    assert compiled(x, x) == pytest.approx(jax.jit(fn)(x, x))


def test_xla_default_when_not_fast(optimisations_enabled):
    assert compile_lib.compiler_options(fast=False) == {}


@pytest.mark.parametrize("fast", [False, True])
def test_training_chunk_compiles_fast_only_when_the_run_asks(monkeypatch, fast):
    from seqlab.train import loop
    from tests.conftest import small_config
    from tests.train.test_engine import setup

    asked = []
    monkeypatch.setattr(loop, "compile_jit", lambda *a, fast, **kw: asked.append(fast))
    engine, state = setup(small_config(**{"train.fast_compile": fast}))
    loop.compile_chunk(engine._replace(fast_compile=fast), state, 2, 1)
    assert asked == [fast]
