"""TrainState and its initialisation, with a leading seed axis for multi-seed programs.

Seed s of a run uses `jax.random.key(train.seed + s)`, split into an init key and a data key,
so a seed trained inside a multi-seed program sees the same initialisation and the same
batches as a single-seed run with that seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx, struct

from seqlab.models.sizing import resolve
from seqlab.registry import MODELS
from seqlab.tasks.base import Task, TaskSpec
from seqlab.train.compile import compile_jit


class TrainState(struct.PyTreeNode):
    params: Any  # nnx.State of the model's nnx.Param leaves
    opt_state: Any
    step: jax.Array  # int32: optimiser steps taken
    key: jax.Array  # typed PRNG key of the data stream; batch i uses fold_in(key, i)
    diverged_at: jax.Array  # int32: the step whose loss or gradient was non-finite; 0 if none
    solved_at: jax.Array  # int32: the step at which the seed counted as solved; 0 if not yet
    streak: jax.Array  # int32: training sequences in a row that met the solved criterion


# Fields added after checkpoints were first written: a checkpoint without them restores them
# as their initial value (zero), which is what a run that predates them had.
LATER_FIELDS = ("solved_at", "streak")


class Engine(NamedTuple):
    """The static parts of a training program."""

    graphdef: nnx.GraphDef
    task: Task
    tx: optax.GradientTransformation
    batch_size: int
    fast_compile: bool = False  # the training chunk at XLA's CPU level 1 (seqlab.train.compile)
    seed_strategy: str = "auto"  # how several seeds share a program (loop.over_seeds)
    stop_when_solved: bool = False  # a solved seed's parameters stay as they are
    solved_streak: int = 0  # > 0: solved once this many training sequences in a row met it
    train_set: int = 0  # > 0: batches drawn from a fixed set of this many sequences


def make_engine(cfg, graphdef: nnx.GraphDef, task: Task, tx) -> Engine:
    """The Engine a run's config describes."""
    t = cfg.train
    return Engine(
        graphdef,
        task,
        tx,
        t.batch_size,
        t.fast_compile,
        t.seed_strategy,
        t.stop_when_solved,
        t.solved_streak,
        t.train_set,
    )


def build_model(model_cfg, spec: TaskSpec, key: jax.Array) -> nnx.Module:
    """The model `model_cfg` describes, after its size variant and parameter budget."""
    resolved = resolve(model_cfg, spec)
    return MODELS.get(resolved.name)(resolved, spec, nnx.Rngs(params=key))


def seed_values(train_cfg) -> list[int]:
    return [train_cfg.seed + s for s in range(train_cfg.seeds)]


def _init(model_cfg, task: Task, tx) -> tuple[nnx.GraphDef, Callable[[jax.Array], TrainState]]:
    """(graphdef, the initial TrainState of one seed as a function of the seed's key)."""

    def init_one(seed_key: jax.Array) -> TrainState:
        init_key, data_key = jax.random.split(seed_key)
        params = nnx.state(build_model(model_cfg, task.spec, init_key), nnx.Param)
        zero = jnp.zeros((), jnp.int32)
        return TrainState(params, tx.init(params), zero, data_key, zero, zero, zero)

    abstract = nnx.eval_shape(lambda: build_model(model_cfg, task.spec, jax.random.key(0)))
    graphdef, _ = nnx.split(abstract, nnx.Param)  # fails loudly if a model holds other state
    return graphdef, init_one


def init_state(model_cfg, task: Task, tx, seeds: list[int]) -> tuple[nnx.GraphDef, TrainState]:
    """Initial TrainState for every seed, stacked on a leading axis of size len(seeds).

    One jitted program initialises one seed and runs once per seed, not vmapped over the
    seeds: that compiles faster, and a vmapped orthogonal initialiser becomes batched QR
    factorisations, which jaxlib's CPU LAPACK kernels (jaxlib 0.10) run on the intra-op thread
    pool and block in; two of them at once on a 2-core machine deadlock (seen with
    bilstm, whose two directions XLA initialises concurrently).
    """
    graphdef, init_one = _init(model_cfg, task, tx)
    keys = [jax.random.key(s) for s in seeds]
    init = compile_jit(init_one, keys[0])
    states = [init(k) for k in keys]
    return graphdef, jax.tree.map(lambda *xs: jnp.stack(xs), *states)


def state_shapes(model_cfg, task: Task, tx, seeds: list[int]) -> tuple[nnx.GraphDef, Any]:
    """`init_state`'s result as shapes and dtypes (jax.ShapeDtypeStruct), computing nothing."""
    graphdef, init_one = _init(model_cfg, task, tx)
    keys = jnp.stack([jax.random.key(s) for s in seeds])
    return graphdef, jax.eval_shape(jax.vmap(init_one), keys)


def param_count(state: TrainState) -> int:
    """Parameters of one seed's model."""
    return sum(x[0].size for x in jax.tree.leaves(state.params))
