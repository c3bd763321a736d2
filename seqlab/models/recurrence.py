"""The one scan driver: runs any recurrent cell over a time-major sequence.

A cell is three pure functions over a dict of parameter arrays (see `Cell`). Splitting the
input projection from the recurrence lets the driver either compute it for all steps before
the scan (one large matmul; usually faster on GPU) or inside the scan body (measured faster on
the 2-core CPU, see PERFORMANCE.md). Both give the same numbers.

Two options change how the backward pass runs, never the numbers:
- `checkpoint_every=K` stores the carry only every K steps and recomputes each segment's
  internals in the backward pass (an outer scan over `jax.checkpoint`ed segments): memory for
  long sequences grows with T/K + K instead of T, for about one extra forward pass.
- `backward="hand"` runs a cell's whole-sequence form with a hand-written VJP
  (`Cell.sequence`; the LSTM's is in lstm_vjp.py) instead of autodiff of the step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Params = dict[str, jax.Array]
Carry = Any


class Cell(NamedTuple):
    # x_[...]D -> projected input, for one step or for all steps at once
    project: Callable[[Params, jax.Array], jax.Array]
    # (params, carry, projected x_t) -> (carry, y_t)
    recur: Callable[[Params, Carry, jax.Array], tuple[Carry, jax.Array]]
    # (params, batch_size) -> carry
    initial_carry: Callable[[Params, int], Carry]
    # optional (SequenceOptions, params, carry, x_TBD) -> (carry, y_TBX) with a hand-written VJP
    sequence: Callable | None = None


class SequenceOptions(NamedTuple):
    """What a cell's whole-sequence form (`Cell.sequence`) is told about its scan."""

    reverse: bool = False
    unroll: int = 1
    hoist_input: bool = False


class ScanOptions(NamedTuple):
    unroll: int = 1
    remat: bool = False  # recompute each step's internals in the backward pass
    hoist_input: bool = False  # project the input for all steps before the scan
    checkpoint_every: int = 0  # > 0: keep the carry every K steps, recompute the rest
    backward: str = "autodiff"  # autodiff | hand (cells with a `sequence` form)


BACKWARDS = ("autodiff", "hand")


DEFAULT_OPTIONS = ScanOptions()


def step(cell: Cell, params: Params, carry: Carry, x_BD: jax.Array) -> tuple[Carry, jax.Array]:
    """One streaming step; the same function the scan runs."""
    return cell.recur(params, carry, cell.project(params, x_BD))


def scan_cell(
    cell: Cell,
    params: Params,
    x_TBD: jax.Array,
    carry: Carry | None = None,
    *,
    options: ScanOptions = DEFAULT_OPTIONS,
    reverse: bool = False,
) -> tuple[Carry, jax.Array]:
    """Runs `cell` over the leading (time) axis; returns the last carry and all outputs."""
    if carry is None:
        carry = cell.initial_carry(params, x_TBD.shape[1])
    run = partial(_segment, cell, params, options=options, reverse=reverse)
    every = options.checkpoint_every
    if every and x_TBD.shape[0] > every:
        return _checkpointed(run, carry, x_TBD, every, reverse)
    return run(carry, x_TBD)


def _segment(cell: Cell, params: Params, carry: Carry, x_TBD: jax.Array, *, options, reverse):
    if options.backward == "hand":
        if cell.sequence is None:
            raise ValueError("backward='hand' needs a cell with a hand-written `sequence` form")
        opts = SequenceOptions(reverse, options.unroll, options.hoist_input)
        return cell.sequence(opts, params, carry, x_TBD)
    if options.hoist_input:
        xs = cell.project(params, x_TBD)
        body = lambda c, xp_t: cell.recur(params, c, xp_t)  # noqa: E731
    else:
        xs = x_TBD
        body = lambda c, x_t: step(cell, params, c, x_t)  # noqa: E731
    if options.remat:
        body = jax.checkpoint(body)
    return jax.lax.scan(body, carry, xs, reverse=reverse, unroll=options.unroll)


def _checkpointed(run, carry: Carry, x_TBD: jax.Array, every: int, reverse: bool):
    """`run` over segments of `every` steps, each recomputed in the backward pass.

    T = r + n·every: the r leftover steps run first in scan order (at the start forward, at
    the end in reverse) as one ordinary segment, then an outer scan over the n segments.
    """
    T = x_TBD.shape[0]
    n, r = divmod(T, every)
    if reverse:
        body_TBD, rest_TBD = x_TBD[: T - r], x_TBD[T - r :]
    else:
        rest_TBD, body_TBD = x_TBD[:r], x_TBD[r:]
    ys_rest = None
    if r:
        carry, ys_rest = run(carry, rest_TBD)
    segments = body_TBD.reshape(n, every, *body_TBD.shape[1:])
    carry, ys = jax.lax.scan(jax.checkpoint(run), carry, segments, reverse=reverse)
    ys = jax.tree.map(lambda y: y.reshape(n * every, *y.shape[2:]), ys)
    if ys_rest is None:
        return carry, ys
    pieces = (ys, ys_rest) if reverse else (ys_rest, ys)
    return carry, jax.tree.map(lambda *p: jnp.concatenate(p), *pieces)
