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
import numpy as np
import optax
from flax import nnx
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from seqlab.tasks.base import Batch, Metrics, host_fed
from seqlab.train.compile import compile_jit
from seqlab.train.state import Engine, TrainState


def loss_fn(engine: Engine, params, batch: Batch) -> tuple[jax.Array, Metrics]:
    model = nnx.merge(engine.graphdef, params)
    return engine.task.loss_and_metrics(model(batch.inputs, batch.lengths), batch)


def train_step(
    engine: Engine, state: TrainState, batch: Batch | None = None
) -> tuple[TrainState, Metrics]:
    """One optimiser step on `batch` (default: drawn on device for this step). A non-finite
    loss or gradient freezes the seed at its old state, and so does having solved the task
    when the run stops when solved (`Engine.stop_when_solved`)."""
    if batch is None:
        batch = training_batch(engine, state)
    (loss, metrics), grads = jax.value_and_grad(functools.partial(loss_fn, engine), has_aux=True)(
        state.params, batch
    )
    updates, opt_state = engine.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    # One vector for the checks: a reduction per parameter array is a kernel each to compile.
    flat_grads = ravel_pytree(grads)[0]
    finite = jnp.isfinite(loss) & jnp.all(jnp.isfinite(flat_grads))
    stopped = engine.stop_when_solved & (state.solved_at > 0)
    active = (state.diverged_at == 0) & ~stopped
    healthy = finite & active
    keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(healthy, n, o), new, old)  # noqa: E731
    step = state.step + 1
    diverged_at = jnp.where((state.diverged_at == 0) & ~finite, step, state.diverged_at)
    streak, solved_at = state.streak, state.solved_at
    if engine.solved_streak:
        # Hochreiter & Schmidhuber 1997: solved once the most recent N training sequences were
        # all processed correctly (before the update they cause), counted a batch at a time.
        met = criterion_met(engine.task.spec.solved, metrics[engine.task.spec.solved.metric])
        streak = jnp.where(active, jnp.where(met, streak + batch.lengths.shape[0], 0), streak)
        newly = active & (solved_at == 0) & (streak >= engine.solved_streak)
        solved_at = jnp.where(newly, step, solved_at)
    new_state = TrainState(
        keep(params, state.params),
        keep(opt_state, state.opt_state),
        step,
        state.key,
        diverged_at,
        solved_at,
        streak,
    )
    return new_state, {**metrics, "grad_norm": jnp.linalg.norm(flat_grads)}


def criterion_met(criterion, value: jax.Array) -> jax.Array:
    """`Criterion.met` on a traced value: a finite value on the right side of the threshold."""
    on_side = (
        value >= criterion.threshold if criterion.mode == "max" else value <= criterion.threshold
    )
    return jnp.isfinite(value) & on_side


# Key of a seed's fixed training set (train.train_set): folded into the data key with a number
# no step reaches, so the set's sequences are independent of the per-step draws.
TRAIN_SET_SALT = 2**31 - 1


def training_batch(engine: Engine, state: TrainState) -> Batch:
    """The batch of step `state.step`: drawn afresh from fold_in(key, step), or, with a fixed
    training set of N sequences (Arjovsky et al. 2016 train on 100,000), B of its sequences
    chosen at random (with replacement) by that key, sequence i being the task's sample for
    fold_in(set key, i)."""
    key = jax.random.fold_in(state.key, state.step)
    if not engine.train_set:
        return engine.task.sample(key, engine.batch_size)
    set_key = jax.random.fold_in(state.key, TRAIN_SET_SALT)
    index_B = jax.random.randint(key, (engine.batch_size,), 0, engine.train_set)
    ones = jax.vmap(lambda i: engine.task.sample(jax.random.fold_in(set_key, i), 1))(index_B)
    axes = batch_axes(engine.task)
    # each leaf is [B, ...with a batch axis of 1 at `axis`...]: drop that axis, move B there
    return jax.tree.map(lambda x, a: jnp.moveaxis(jnp.squeeze(x, a + 1), 0, a), ones, axes)


def batch_axes(task) -> Batch:
    """Which axis of each Batch field is the batch axis (inputs [T, B, ...], lengths [B], and
    targets per step or per sequence), read off the shapes of two batch sizes."""
    key = jax.random.key(0)
    one, two = (jax.eval_shape(lambda b=b: task.sample(key, b)) for b in (1, 2))
    return jax.tree.map(
        lambda a, b: next(
            i for i, (m, n) in enumerate(zip(a.shape, b.shape, strict=True)) if m != n
        ),
        one,
        two,
    )


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


def seed_strategy(requested: str) -> str:
    """`auto`: on a CPU split into several devices (one per core, `seqlab.devices`) the seeds
    spread over the devices; `vmap` otherwise. Measured on the 2-core CPU (BENCHMARKS.md,
    benchmarks/seeds.py): one seed's small matmuls leave the second core idle, and a vmapped
    recurrent matmul becomes a batched matmul that can run slower than the seeds one after
    another (8 LSTM seeds, B=32, T=120, H=128: 0.75x), while the 8 seeds over 2 devices ran
    1.6-1.7x (H=128) and 1.95-2.1x (H=32) faster than one after another."""
    if requested != "auto":
        return requested
    on_cpu_cores = jax.default_backend() == "cpu" and jax.local_device_count() > 1
    return "devices" if on_cpu_cores else "vmap"


def over_seeds(fn: Callable, num_seeds: int, in_axes=0, strategy: str = "vmap") -> Callable:
    """fn over a leading seed axis (the arguments whose axis is 0; None: shared by all seeds).

    Strategies, all giving each seed exactly its own computation: `vmap` (one batched
    program), `map` (a lax.map: one seed after another inside the program), `devices` (the
    seeds split over the local devices, a lax.map on each; padded with copies of the first
    seeds to a multiple of the device count), `devices-vmap` (split over the devices, vmapped
    on each). One seed is simply indexed.
    """
    if num_seeds > 1:
        strategy = seed_strategy(strategy)
        by_vmap = strategy in ("vmap", "devices-vmap")
        per_device = jax.vmap(fn, in_axes=in_axes) if by_vmap else _mapped(fn, in_axes)
        if not strategy.startswith("devices") or jax.local_device_count() == 1:
            return per_device
        return _over_devices(per_device, num_seeds, in_axes)

    def single(*args):
        args = [
            a if ax is None else jax.tree.map(lambda x: x[0], a)
            for a, ax in zip(args, _axes(in_axes, len(args)), strict=True)
        ]
        return jax.tree.map(lambda x: x[None], fn(*args))

    return single


def _axes(in_axes, n: int) -> tuple:
    return tuple(in_axes) if isinstance(in_axes, tuple | list) else (in_axes,) * n


def _mapped(fn: Callable, in_axes) -> Callable:
    def run(*args):
        axes = _axes(in_axes, len(args))
        seeded = [a for a, ax in zip(args, axes, strict=True) if ax is not None]

        def one(xs):
            it = iter(xs)
            return fn(*[a if ax is None else next(it) for a, ax in zip(args, axes, strict=True)])

        return jax.lax.map(one, seeded)

    return run


def _over_devices(per_device: Callable, num_seeds: int, in_axes) -> Callable:
    devices = jax.local_devices()[:num_seeds]
    mesh = Mesh(np.array(devices), ("seed",))
    pad = -num_seeds % len(devices)

    def run(*args):
        axes = _axes(in_axes, len(args))
        grow = lambda x: jnp.concatenate([x, x[:pad]]) if pad else x  # noqa: E731
        args = [
            a if ax is None else jax.tree.map(grow, a) for a, ax in zip(args, axes, strict=True)
        ]
        specs = tuple(P() if ax is None else P("seed") for ax in axes)
        out = jax.shard_map(
            per_device, mesh=mesh, in_specs=specs, out_specs=P("seed"), check_vma=False
        )
        return jax.tree.map(lambda x: x[:num_seeds], out(*args))

    return run


def compile_chunk(engine: Engine, state: TrainState, num_steps: int, num_seeds: int, batches=None):
    """The jitted, ahead-of-time compiled chunk for a given number of steps.

    Host-fed tasks: `batches` (arrays or shapes) are each seed's stacked batches [S, K, ...];
    the compiled chunk is then called as chunk(state, batches).
    """
    if batches is None:
        fn = over_seeds(
            lambda s: train_chunk(engine, s, num_steps), num_seeds, strategy=engine.seed_strategy
        )
        return compile_jit(fn, state, fast=engine.fast_compile, donate_argnums=0)
    fn = over_seeds(
        lambda s, b: train_chunk(engine, s, num_steps, b), num_seeds, strategy=engine.seed_strategy
    )
    return compile_jit(fn, state, batches, fast=engine.fast_compile, donate_argnums=0)


def compile_eval(engine: Engine, state: TrainState, batches: Batch, num_seeds: int):
    fn = over_seeds(
        lambda p, b: evaluate(engine, p, b),
        num_seeds,
        in_axes=(0, None),
        strategy=engine.seed_strategy,
    )
    return compile_jit(fn, state.params, batches)
