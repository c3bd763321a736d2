"""The layer every recurrent cell shares: its nnx.Param attributes, run by the scan driver.

Two options of the cell families (rnn, gru, lstm, peephole_lstm and their bidirectional forms)
live here, both from Arjovsky, Shah & Bengio 2016 ("Unitary Evolution Recurrent Neural
Networks"; the authors' Theano code, github amarshah/complex_RNN, models.py):
- `model.init=glorot_uniform` (`gate_kernel`): every gate's input and recurrent matrix drawn
  from U[-b, b], b = sqrt(6 / (fan_in + fan_out)), as their `initialize_matrix`, which draws each
  gate's matrix on its own: a fused [D, 4H] kernel has the bound of one [D, H] gate.
- `model.learn_initial_state=true` (`CellLayer.learn_initial_state`): the initial carry is a
  parameter (their h_0 and state_0), zeros at init, broadcast over the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.recurrence import DEFAULT_OPTIONS, Cell, Params, ScanOptions, scan_cell, step

INITS = ("default", "glorot_uniform")


def gate_kernel(
    init: str,
    default: Callable[[jax.Array, tuple[int, ...]], jax.Array],
    key: jax.Array,
    fan_in: int,
    hidden: int,
    gates: int = 1,
) -> jax.Array:
    """A [fan_in, gates·hidden] kernel: `default(key, shape)` for init="default", else each
    gate's [fan_in, hidden] block Glorot-uniform with its own bound sqrt(6/(fan_in + hidden)).

    The gates' blocks have one shape, so one draw over the whole kernel with that bound has the
    distribution of separate draws per gate. Either way one key: the stream stays as it was.
    """
    shape = (fan_in, gates * hidden)
    if init == "default":
        return default(key, shape)
    if init == "glorot_uniform":
        bound = math.sqrt(6.0 / (fan_in + hidden))
        return jax.random.uniform(key, shape, minval=-bound, maxval=bound)
    raise ValueError(f"model.init is {init!r}; valid choices: {', '.join(INITS)}")


class CellLayer(nnx.Module):
    """[T, B, D] -> [T, B, out_features] by one `Cell` over this layer's parameters.

    Subclasses set the class attribute `cell` and, in `__init__`, `out_features`, `options`
    and their `nnx.Param` attributes; `params()` hands those to the cell by attribute name.
    A learned initial carry (`learn_initial_state`) is kept apart, in `carry0`: the cell's
    functions (and the LSTM's hand-written backward) see only the weights.
    """

    cell: Cell
    out_features: int
    options: ScanOptions = DEFAULT_OPTIONS
    carry0: nnx.List | None = None  # the learned initial carry's leaves, each [1, ...]

    def params(self) -> Params:
        return {k: v[...] for k, v in vars(self).items() if isinstance(v, nnx.Param)}

    def learn_initial_state(self) -> None:
        """Makes the initial carry a parameter: each leaf of the cell's zero carry for a batch
        of one (for the LSTM c_0 then h_0), broadcast over the batch when used."""
        zero = self.cell.initial_carry(self.params(), 1)
        self.carry0 = nnx.List([nnx.Param(leaf) for leaf in jax.tree.leaves(zero)])

    def __call__(self, x_TBD: jax.Array, *, reverse: bool = False) -> jax.Array:
        carry = self.initial_state(x_TBD.shape[1])
        return scan_cell(
            self.cell, self.params(), x_TBD, carry, options=self.options, reverse=reverse
        )[1]

    def initial_state(self, batch_size: int):
        zero = self.cell.initial_carry(self.params(), batch_size)
        if self.carry0 is None:
            return zero
        leaves, treedef = jax.tree.flatten(zero)
        learned = [
            jnp.broadcast_to(p[...], z.shape) for p, z in zip(self.carry0, leaves, strict=True)
        ]
        return treedef.unflatten(learned)

    def step(self, carry, x_BD: jax.Array):
        return step(self.cell, self.params(), carry, x_BD)
