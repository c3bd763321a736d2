"""A block-diagonal linear map with many small blocks, without transposes.

`block_diagonal(x, w)` maps x [..., N·I] to [..., N·O] with blocks w [N, I, O]: block n takes
features n·I..(n+1)·I and gives n·O..(n+1)·O. The mLSTM's q/k/v maps are of this kind with
4 × 4 blocks (NX-AI's qkv_proj_blocksize).

Written as `einsum("...ni,nio->...no")`, XLA makes it a dot with the block axis as a batch
axis, which it must move in front of the rows: on CPU every such map (and each of its two
gradients) copies [N, rows, 4] arrays whose minor axis is only 4 wide, which is slow. Here the
forward map and the input gradient are I broadcast multiply-adds that XLA fuses into one pass
over the rows, and the weight gradient is one dense matmul xᵀ·g [N·I, N·O] whose diagonal
blocks are kept: no transposed copy at all. The dense matmul does N× the needed arithmetic, but
it runs at the matmul rate and the rows dominate. Measured on the 2-core CPU, one mLSTM layer's
forward and backward (T=256, B=64, width 90): 1028 → 871 ms; width 256, T=200: 2222 → 2048 ms
(BENCHMARKS.md, "The mLSTM's block-diagonal q/k/v maps"). Same sums as the einsum, other order: the
results agree to float32 rounding (tests/models/test_block_diagonal.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _apply(x: jax.Array, w: jax.Array) -> jax.Array:
    """Σ_i x[..., n, i] w[n, i, :] as I fused broadcast multiply-adds."""
    N, I, O = w.shape
    x_blocks = x.reshape(*x.shape[:-1], N, I)
    y = sum(x_blocks[..., i, None] * w[:, i, :] for i in range(I))
    return y.reshape(*x.shape[:-1], N * O)


@jax.custom_vjp
def block_diagonal(x: jax.Array, w: jax.Array) -> jax.Array:
    """x [..., N·I] -> [..., N·O] through the blocks w [N, I, O]."""
    N, I, _ = w.shape
    if x.shape[-1] != N * I:
        raise ValueError(f"block_diagonal: x has {x.shape[-1]} features, the blocks take {N * I}")
    return _apply(x, w)


def _forward(x: jax.Array, w: jax.Array):
    return block_diagonal(x, w), (x, w)


def _backward(saved, g: jax.Array):
    x, w = saved
    N, I, O = w.shape
    dx = _apply(g, jnp.swapaxes(w, 1, 2))
    dense = x.reshape(-1, N * I).T @ g.reshape(-1, N * O)  # [N·I, N·O]
    blocks = jnp.arange(N)
    dw = dense.reshape(N, I, N, O)[blocks, :, blocks, :]  # the diagonal blocks [N, I, O]
    return dx, dw


block_diagonal.defvjp(_forward, _backward)
