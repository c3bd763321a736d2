"""Linear recurrences h_t = a_t ⊙ h_{t−1} + b_t, run as a scan, an associative scan, in chunks
or in log space, with the same numbers (to rounding).

A `LinearCell` computes the transition a_t and the input b_t from the input alone, for all steps
at once, so the recurrence itself is a chain of affine maps h ↦ a_t ⊙ h + b_t, which compose
associatively: (a₁, b₁) then (a₂, b₂) is (a₁a₂, a₂b₁ + b₂). That lets one mechanism run every
family (LRU, minGRU/minLSTM, the RG-LRU; S5 and Mamba build on it) in any of the `FORMS`:

- "scan": `lax.scan` of one step at a time, through the existing driver (`recurrence.scan_cell`,
  so `model.unroll`, `remat`, `hoist_input`, `checkpoint_every` apply as for every cell);
- "associative": `jax.lax.associative_scan` over the affine maps: depth O(log T), ~2× the work;
- "chunked": an associative scan inside each chunk of `chunk_size` steps (from a zero state),
  then a short `lax.scan` over the chunks' summaries (the product of their a, their last state)
  carries each chunk's entering state, added back as A_t ⊙ h_in: T/C sequential steps;
- "log": Heinsen's log-space scan (2023; Feng et al. 2024's parallel minGRU/minLSTM), for cells
  whose a and b are positive and given as logarithms: a*_t = Σ_{s≤t} log a_s and
  h_t = exp(a*_t + logcumsumexp_{s≤t}(log b_s − a*_s)) + exp(a*_t) h_0.

Shapes. `b` and the state h are [T, B, …] (one step: [B, …]): diagonal (LRU [B, N]) or any
array of states (MIMO: Mamba-2's [B, heads, P, N]); real or complex. `a` broadcasts against `b`
numpy-style (right-aligned): a time-invariant transition may be [N] (LRU's λ), a scalar per head
[T, B, heads, 1, 1] (Mamba-2). Only its time axis is materialised, never the broadcast axes.

The streaming form is `as_cell(linear_cell)`: a `Cell` whose step is h ← a ⊙ h + b, y = output(h);
`initial_state` is the true recurrent state, so a model's state size is the size of its leaves.

`model.remat` applies to every form (the parallel scans keep O(T log T) intermediates for the
backward pass otherwise); unroll, hoist_input and checkpoint_every to the scan form. The parallel
forms hold every state [T, B, …] at once, as `output` reads each; a form that never does (Mamba-2's
SSD: outputs within each chunk by a masked matmul) would take the chunked form's inter-chunk scan
and replace the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from seqlab.models.cell_layer import CellLayer
from seqlab.models.recurrence import DEFAULT_OPTIONS, Cell, Params, ScanOptions, scan_cell

AFFINE_FORMS = ("scan", "associative", "chunked")  # any linear cell
FORMS = (*AFFINE_FORMS, "log")  # "log": cells with `log_coefficients` (positive a and b)


class LinearCell(NamedTuple):
    # (params, x_[T]B…) -> (a, b, aux): the transition (broadcasts against b), the input, and
    # what `output` needs besides the state; for one step or for all steps at once
    coefficients: Callable[[Params, jax.Array], tuple[jax.Array, jax.Array, Any]]
    # (params, h_[T]B…, aux) -> y_[T]B…: the output from the state, step by step
    output: Callable[[Params, jax.Array, Any], jax.Array]
    # (params, batch_size) -> h_0 (zeros, of the state's dtype: complex for the LRU)
    initial_state: Callable[[Params, int], jax.Array]
    # optional (params, x) -> (log a, log b, aux) with a, b > 0: enables the "log" form
    log_coefficients: Callable[[Params, jax.Array], tuple[jax.Array, jax.Array, Any]] | None = None


def as_cell(linear: LinearCell) -> Cell:
    """The step-by-step form, run by `scan_cell` (the "scan" form) and by `step` (streaming)."""

    def project(params: Params, x: jax.Array):
        a, b, aux = linear.coefficients(params, x)
        # A time-invariant a (the LRU's λ) has no leading axes; with the input projected for all
        # steps before the scan (model.hoist_input) every coefficient needs the time axis.
        if a.ndim < b.ndim:
            a = jnp.broadcast_to(a, b.shape[: b.ndim - a.ndim] + a.shape)
        return a, b, aux

    def recur(params: Params, h: jax.Array, coefficients) -> tuple[jax.Array, jax.Array]:
        a, b, aux = coefficients
        h = a * h + b
        return h, linear.output(params, h, aux)

    return Cell(project, recur, linear.initial_state)


def check_form(form: str, linear: LinearCell, family: str) -> None:
    """ValueError for a form this cell cannot run (the message names model.scan_form)."""
    if form not in FORMS:
        raise ValueError(f"model.scan_form is {form!r}; valid choices: {', '.join(FORMS)}")
    if form == "log" and linear.log_coefficients is None:
        raise ValueError(
            f"model.scan_form=log needs positive a_t, b_t (mingru, minlstm); {family!r} has "
            "no log-space form: use scan, associative or chunked"
        )


# ---------------------------------------------------------------- the forms on (a, b)


def combine(earlier, later):
    """The affine map `earlier` followed by `later`: (a₁, b₁), (a₂, b₂) -> (a₁a₂, a₂b₁ + b₂)."""
    a1, b1 = earlier
    a2, b2 = later
    return a1 * a2, a2 * b1 + b2


def _time_major(a: jax.Array, b: jax.Array) -> jax.Array:
    """`a` with b's rank (leading axes of 1 added, numpy-style) and b's time axis filled in."""
    a = a.reshape((1,) * (b.ndim - a.ndim) + a.shape)
    return jnp.broadcast_to(a, (b.shape[0], *a.shape[1:]))


def _sequential(a, b, h0, unroll: int = 1):
    def body(h, ab):
        h = ab[0] * h + ab[1]
        return h, h

    return jax.lax.scan(body, h0, (a, b), unroll=unroll)[1]


def _associative(a, b, h0):
    b = b.at[0].add(a[0] * h0)  # h0 folded into the first map: h_0 = a_0 h_{-1} + b_0
    return jax.lax.associative_scan(combine, (a, b))[1]


def _chunked(a, b, h0, chunk_size: int):
    T = b.shape[0]
    n = -(-T // chunk_size)
    pad = n * chunk_size - T  # trailing identity maps (a = 1, b = 0), dropped afterwards
    a = jnp.concatenate([a, jnp.ones((pad, *a.shape[1:]), a.dtype)])
    b = jnp.concatenate([b, jnp.zeros((pad, *b.shape[1:]), b.dtype)])
    a_c = a.reshape(n, chunk_size, *a.shape[1:])
    b_c = b.reshape(n, chunk_size, *b.shape[1:])
    # Within each chunk, from a zero state: A_t = Π a (within the chunk) and the local states.
    A_c, h_local = jax.lax.associative_scan(combine, (a_c, b_c), axis=1)

    def enter(h_in, summary):  # the state entering each chunk, carried over the chunks
        A_last, h_last = summary
        return A_last * h_in + h_last, h_in

    _, h_in = jax.lax.scan(enter, h0.astype(b.dtype), (A_c[:, -1], h_local[:, -1]))
    h = h_local + A_c * h_in[:, None]
    return h.reshape(n * chunk_size, *h.shape[2:])[:T]


def linear_states(
    a: jax.Array,
    b: jax.Array,
    h0: jax.Array,
    *,
    form: str = "scan",
    chunk_size: int = 64,
    reverse: bool = False,
    unroll: int = 1,
) -> jax.Array:
    """All states h_t = a_t ⊙ h_{t−1} + b_t (h_{−1} = h0) as [T, B, …], by `form` (not "log").

    `reverse=True` runs from the last step to the first (h_{T} = h0), as `lax.scan(reverse=True)`.
    """
    a = _time_major(a, b)
    if reverse:
        a, b = a[::-1], b[::-1]
    if form == "scan":
        h = _sequential(a, b, h0, unroll)
    elif form == "associative":
        h = _associative(a, b, h0)
    elif form == "chunked":
        if chunk_size < 1:
            raise ValueError(f"model.chunk_size must be >= 1, got {chunk_size}")
        h = _chunked(a, b, h0, chunk_size)
    else:
        raise ValueError(f"linear_states: form {form!r}; valid: scan, associative, chunked")
    return h[::-1] if reverse else h


def log_states(
    log_a: jax.Array, log_b: jax.Array, h0: jax.Array, *, reverse: bool = False
) -> jax.Array:
    """The states for positive a_t = exp(log_a), b_t = exp(log_b), as Heinsen's log-space scan.

    h_0 enters linearly (exp(a*_t) h_0), not as log h_0: a zero or negative initial state is fine.
    """
    log_a = _time_major(log_a, log_b)
    if reverse:
        log_a, log_b = log_a[::-1], log_b[::-1]
    a_star = jnp.cumsum(log_a, axis=0)
    h = jnp.exp(a_star + jax.lax.cumlogsumexp(log_b - a_star, axis=0)) + jnp.exp(a_star) * h0
    return h[::-1] if reverse else h


# ---------------------------------------------------------------- a cell over a sequence


def run_linear(
    linear: LinearCell,
    params: Params,
    x_TBD: jax.Array,
    h0: jax.Array | None = None,
    *,
    form: str = "scan",
    chunk_size: int = 64,
    options: ScanOptions = DEFAULT_OPTIONS,
    reverse: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """Runs `linear` over the leading (time) axis by `form`; returns the last state (in scan
    order) and all outputs, as `scan_cell` does. The "scan" form is `scan_cell` itself; the
    others compute the coefficients for all steps, then the states, then the outputs
    (`options.remat` recomputes the parallel scan's internals in the backward pass)."""
    if h0 is None:
        h0 = linear.initial_state(params, x_TBD.shape[1])
    if form == "scan":
        return scan_cell(as_cell(linear), params, x_TBD, h0, options=options, reverse=reverse)
    if form == "log":
        if linear.log_coefficients is None:
            raise ValueError("form 'log' needs a cell with `log_coefficients`")
        log_a, log_b, aux = linear.log_coefficients(params, x_TBD)
        states = lambda la, lb: log_states(la, lb, h0, reverse=reverse)  # noqa: E731
        ab = (log_a, log_b)
    else:
        a, b, aux = linear.coefficients(params, x_TBD)
        states = lambda a, b: linear_states(  # noqa: E731
            a, b, h0, form=form, chunk_size=chunk_size, reverse=reverse, unroll=options.unroll
        )
        ab = (a, b)
    if options.remat:
        states = jax.checkpoint(states)
    h = states(*ab)
    return (h[0] if reverse else h[-1]), linear.output(params, h, aux)


class LinearCellLayer(CellLayer):
    """A `CellLayer` whose cell is linear in its carry: `form` (model.scan_form) and `chunk_size`
    choose how a whole sequence runs; `step` and `initial_state` are the streaming form.

    Subclasses set the class attributes `linear` and `cell = as_cell(linear)`, and in `__init__`
    `out_features`, `options`, `form`, `chunk_size` and their `nnx.Param` attributes.
    """

    linear: LinearCell
    form: str = "scan"
    chunk_size: int = 64

    def __call__(self, x_TBD: jax.Array, *, reverse: bool = False) -> jax.Array:
        return run_linear(
            self.linear,
            self.params(),
            x_TBD,
            self.initial_state(x_TBD.shape[1]),
            form=self.form,
            chunk_size=self.chunk_size,
            options=self.options,
            reverse=reverse,
        )[1]
