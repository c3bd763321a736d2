"""The training program: train_step, train_chunk (K steps in one lax.scan) and evaluate.

A synthetic task's batches are sampled on device from fold_in(data key, step), so its chunk
needs nothing from the host; a dataset task's (a HostTask's) K batches are stacked on the host
and passed to the chunk (seqlab.train.feed). Either way batch i depends only on the seed and i,
so resuming from a checkpoint reproduces the same batches bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from seqlab.tasks.base import Batch, Metrics, host_fed
from seqlab.train.compile import compile_jit
from seqlab.train.state import Engine, TrainState


def loss_fn(engine: Engine, params, batch: Batch) -> tuple[jax.Array, Metrics]:
    model = nnx.merge(engine.graphdef, params)
    return engine.task.loss_and_metrics(model(batch.inputs, batch.lengths), batch)


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def train_step(
    engine: Engine, state: TrainState, batch: Batch | None = None
) -> tuple[TrainState, Metrics]:
    """One optimiser step on `batch` (default: sampled on device for this step). A non-finite
    loss or gradient freezes the seed at its old state."""
    if batch is None:
        batch = engine.task.sample(jax.random.fold_in(state.key, state.step), engine.batch_size)
    (loss, metrics), grads = jax.value_and_grad(functools.partial(loss_fn, engine), has_aux=True)(
        state.params, batch
    )
    updates, opt_state = engine.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    finite = jnp.isfinite(loss) & _all_finite(grads)
    healthy = finite & (state.diverged_at == 0)
    keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(healthy, n, o), new, old)  # noqa: E731
    step = state.step + 1
    diverged_at = jnp.where((state.diverged_at == 0) & ~finite, step, state.diverged_at)
    new_state = TrainState(
        keep(params, state.params), keep(opt_state, state.opt_state), step, state.key, diverged_at
    )
    return new_state, {**metrics, "grad_norm": optax.tree.norm(grads)}


def train_chunk(
    engine: Engine, state: TrainState, num_steps: int, batches: Batch | None = None
) -> tuple[TrainState, Metrics]:
    """`num_steps` optimiser steps in one lax.scan; returns metrics averaged over the chunk.

    `batches` (host-fed tasks): the chunk's batches stacked on a leading axis of num_steps.
    """
    state, metrics = jax.lax.scan(
        lambda s, b: train_step(engine, s, b), state, batches, length=num_steps
    )
    return state, jax.tree.map(lambda m: m.mean(0), metrics)


def eval_batches(task, eval_cfg) -> Batch:
    """Fixed held-out batches (shared by all seeds), stacked on a leading axis."""
    if host_fed(task):
        return jax.device_put(task.eval_batches(eval_cfg.batches, eval_cfg.batch_size))
    keys = jax.random.split(jax.random.key(eval_cfg.seed), eval_cfg.batches)
    return compile_jit(jax.vmap(lambda k: task.sample(k, eval_cfg.batch_size)), keys)(keys)


def evaluate(engine: Engine, params, batches: Batch) -> Metrics:
    metrics = jax.lax.map(lambda b: loss_fn(engine, params, b)[1], batches)
    return jax.tree.map(lambda m: m.mean(0), metrics)


def over_seeds(fn: Callable, num_seeds: int, in_axes=0) -> Callable:
    """fn over a leading seed axis: vmapped for several seeds, indexed for one."""
    if num_seeds > 1:
        return jax.vmap(fn, in_axes=in_axes)

    def single(*args):
        args = [
            a if ax is None else jax.tree.map(lambda x: x[0], a)
            for a, ax in zip(args, _axes(in_axes, len(args)), strict=True)
        ]
        return jax.tree.map(lambda x: x[None], fn(*args))

    return single


def _axes(in_axes, n: int) -> tuple:
    return tuple(in_axes) if isinstance(in_axes, tuple | list) else (in_axes,) * n


def compile_chunk(engine: Engine, state: TrainState, num_steps: int, num_seeds: int, batches=None):
    """The jitted, ahead-of-time compiled chunk for a given number of steps.

    Host-fed tasks: `batches` (arrays or shapes) are each seed's stacked batches [S, K, ...];
    the compiled chunk is then called as chunk(state, batches).
    """
    if batches is None:
        fn = over_seeds(lambda s: train_chunk(engine, s, num_steps), num_seeds)
        return compile_jit(fn, state, fast=engine.fast_compile, donate_argnums=0)
    fn = over_seeds(lambda s, b: train_chunk(engine, s, num_steps, b), num_seeds)
    return compile_jit(fn, state, batches, fast=engine.fast_compile, donate_argnums=0)


def compile_eval(engine: Engine, state: TrainState, batches: Batch, num_seeds: int):
    fn = over_seeds(lambda p, b: evaluate(engine, p, b), num_seeds, in_axes=(0, None))
    return compile_jit(fn, state.params, batches)
