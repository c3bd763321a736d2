"""The layer every recurrent cell shares: its nnx.Param attributes, run by the scan driver."""

from __future__ import annotations

import jax
from flax import nnx

from seqlab.models.recurrence import DEFAULT_OPTIONS, Cell, Params, ScanOptions, scan_cell, step


class CellLayer(nnx.Module):
    """[T, B, D] -> [T, B, out_features] by one `Cell` over this layer's parameters.

    Subclasses set the class attribute `cell` and, in `__init__`, `out_features`, `options`
    and their `nnx.Param` attributes; `params()` hands those to the cell by attribute name.
    """

    cell: Cell
    out_features: int
    options: ScanOptions = DEFAULT_OPTIONS

    def params(self) -> Params:
        return {k: v[...] for k, v in vars(self).items() if isinstance(v, nnx.Param)}

    def __call__(self, x_TBD: jax.Array, *, reverse: bool = False) -> jax.Array:
        return scan_cell(self.cell, self.params(), x_TBD, options=self.options, reverse=reverse)[1]

    def initial_state(self, batch_size: int):
        return self.cell.initial_carry(self.params(), batch_size)

    def step(self, carry, x_BD: jax.Array):
        return step(self.cell, self.params(), carry, x_BD)
