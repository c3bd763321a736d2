"""Any recurrent layer run forward and in reverse, the two outputs joined (concat or sum).

With per-sequence `lengths` (padded batches) the reverse direction starts at each
sequence's own last valid step, as torch's packed sequences do; padding stays in place.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx


def reverse_within_lengths(x_TB: jax.Array, lengths: jax.Array | None) -> jax.Array:
    """Reverses each sequence's first `lengths[b]` steps along axis 0; an involution."""
    if lengths is None:
        return x_TB[::-1]
    t_T1 = jnp.arange(x_TB.shape[0])[:, None]
    src_TB = jnp.where(t_T1 < lengths[None, :], lengths[None, :] - 1 - t_T1, t_T1)
    return x_TB[src_TB, jnp.arange(x_TB.shape[1])[None, :]]


class Bidirectional(nnx.Module):
    needs_lengths = True  # SequenceModel passes the batch's lengths

    def __init__(self, make_direction: Callable[[], nnx.Module], merge: str = "concat"):
        if merge not in ("concat", "sum"):
            raise ValueError(f"model.merge is {merge!r}; valid choices: concat, sum")
        self.forward = make_direction()
        self.backward = make_direction()
        self.merge = merge
        width = self.forward.out_features
        self.out_features = 2 * width if merge == "concat" else width

    def __call__(self, x_TBD: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        y_fwd = self.forward(x_TBD)
        x_rev = reverse_within_lengths(x_TBD, lengths)
        y_bwd = reverse_within_lengths(self.backward(x_rev), lengths)
        if self.merge == "concat":
            return jnp.concatenate([y_fwd, y_bwd], axis=-1)
        return y_fwd + y_bwd

    def initial_state(self, batch_size: int):
        raise NotImplementedError(NO_STREAMING)

    def step(self, carry, x_BD: jax.Array):
        raise NotImplementedError(NO_STREAMING)


NO_STREAMING = (
    "a bidirectional layer has no streaming step: its reverse direction needs the whole sequence"
)
