"""The short causal depthwise convolution of the Mamba and Mamba-2 blocks, whole-sequence and
one step at a time.

As torch's `nn.Conv1d(F, F, K, groups=F, padding=K − 1)` cut to the first T outputs (mamba_ssm's
modules/mamba_simple.py and mamba2.py, mambapy's mamba.py): y_t = Σ_j w_j x_{t−K+1+j} + b, with
torch's default initialisation for it, w and b ~ U(±1/√K) (kaiming_uniform(a=√5) on a fan-in of
K: one input channel per group). The streaming state is the last K − 1 inputs, oldest first
(mambapy's cache `inputs`, transposed to [B, K − 1, F]): zeros before the first step, as the
whole-sequence form's left padding.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.mlstm import causal_conv


class CausalConv(nnx.Module):
    """Depthwise causal conv over time: [T, B, F] -> [T, B, F]; `step` for one step."""

    def __init__(self, features: int, kernel: int, *, rngs: nnx.Rngs):
        if kernel < 1:
            raise ValueError(f"model.conv_kernel must be >= 1, got {kernel}")
        bound = 1.0 / math.sqrt(kernel)
        uniform = lambda shape: jax.random.uniform(  # noqa: E731
            rngs.params(), shape, minval=-bound, maxval=bound
        )
        self.w = nnx.Param(uniform((kernel, features)))  # w[j] multiplies x_{t−K+1+j}
        self.b = nnx.Param(uniform((features,)))

    def __call__(self, x_TBF: jax.Array) -> jax.Array:
        return causal_conv(x_TBF, self.w[...], self.b[...])

    def initial_state(self, batch_size: int) -> jax.Array:
        K, F = self.w.shape
        return jnp.zeros((batch_size, K - 1, F), self.w[...].dtype)

    def step(self, window_BKF: jax.Array, x_BF: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(the last K − 1 inputs, x_t) -> (the window moved on by one, y_t)."""
        full_BKF = jnp.concatenate([window_BKF, x_BF[:, None]], axis=1)
        y_BF = jnp.einsum("bkf,kf->bf", full_BKF, self.w[...]) + self.b[...]
        return full_BKF[:, 1:], y_BF
