"""The one scan driver: runs any recurrent cell over a time-major sequence.

A cell is three pure functions over a dict of parameter arrays (see `Cell`). Splitting the
input projection from the recurrence lets the driver either compute it for all steps before
the scan (one large matmul; usually faster on GPU) or inside the scan body (measured faster on
the 2-core CPU, see PERFORMANCE.md). Both give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

Params = dict[str, jax.Array]
Carry = Any


class Cell(NamedTuple):
    # x_[...]D -> projected input, for one step or for all steps at once
    project: Callable[[Params, jax.Array], jax.Array]
    # (params, carry, projected x_t) -> (carry, y_t)
    recur: Callable[[Params, Carry, jax.Array], tuple[Carry, jax.Array]]
    # (params, batch_size) -> carry
    initial_carry: Callable[[Params, int], Carry]


class ScanOptions(NamedTuple):
    unroll: int = 1
    remat: bool = False  # recompute each step's internals in the backward pass
    hoist_input: bool = False  # project the input for all steps before the scan


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
    if options.hoist_input:
        xs = cell.project(params, x_TBD)
        body = lambda c, xp_t: cell.recur(params, c, xp_t)  # noqa: E731
    else:
        xs = x_TBD
        body = lambda c, x_t: step(cell, params, c, x_t)  # noqa: E731
    if options.remat:
        body = jax.checkpoint(body)
    return jax.lax.scan(body, carry, xs, reverse=reverse, unroll=options.unroll)
