"""The sequence model every architecture shares: encoder -> backbone -> readout.

The encoder is an embedding for tokens and a linear map for reals; the backbone is
`model.layers` layers of one mixer, each optionally wrapped as x + mixer(norm(x)) (pre-norm
residual); the readout is linear, at every step or at each sequence's last valid step.
All activations are time-major.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.recurrence import ScanOptions
from seqlab.tasks.base import TaskSpec

NORMS = ("none", "layer", "rms")


def scan_options(cfg) -> ScanOptions:
    return ScanOptions(unroll=cfg.unroll, remat=cfg.remat, hoist_input=cfg.hoist_input)


def make_norm(kind: str, features: int, rngs: nnx.Rngs) -> nnx.Module | None:
    if kind == "layer":
        return nnx.LayerNorm(features, rngs=rngs)
    if kind == "rms":
        return nnx.RMSNorm(features, rngs=rngs)
    return None


class SequenceModel(nnx.Module):
    """Maps time-major inputs to per-step outputs [T, B, C] or last-step outputs [B, C]."""

    def __init__(
        self,
        cfg,
        spec: TaskSpec,
        make_layer: Callable[[int, nnx.Rngs], nnx.Module],
        *,
        rngs: nnx.Rngs,
    ):
        self.spec = spec
        self.residual = cfg.residual
        width = cfg.embed_dim
        if spec.input_kind == "tokens":
            self.encoder = nnx.Embed(spec.vocab_size, width, rngs=rngs)
        else:
            self.encoder = nnx.Linear(spec.input_dim, width, rngs=rngs)
        layers, norms = [], []
        for _ in range(cfg.layers):
            norms.append(make_norm(cfg.norm, width, rngs) if cfg.residual else None)
            layer = make_layer(width, rngs)
            if cfg.residual and layer.out_features != width:
                # A residual stack keeps one width: project the mixer's output back to it.
                layer = _Projected(layer, width, rngs)
            layers.append(layer)
            width = layer.out_features
        self.layers = nnx.List(layers)
        self.norms = nnx.List(norms)
        self.final_norm = make_norm(cfg.norm, width, rngs) if cfg.residual else None
        self.readout = nnx.Linear(width, spec.out_features, rngs=rngs)

    def encode(self, inputs: jax.Array) -> jax.Array:
        return self.encoder(inputs)

    def _layer_input(self, i: int, x: jax.Array) -> jax.Array:
        norm = self.norms[i]
        return norm(x) if norm is not None else x

    def _combine(self, x: jax.Array, y: jax.Array) -> jax.Array:
        return x + y if self.residual else y

    def backbone(self, x_TBD: jax.Array) -> jax.Array:
        for i, layer in enumerate(self.layers):
            x_TBD = self._combine(x_TBD, layer(self._layer_input(i, x_TBD)))
        return self.final_norm(x_TBD) if self.final_norm is not None else x_TBD

    def __call__(self, inputs: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        h_TBH = self.backbone(self.encode(inputs))
        if self.spec.scored == "last":
            # lengths are in [1, T] (tasks guarantee it); JAX would clamp other indices silently
            last_T = jnp.full(h_TBH.shape[1], h_TBH.shape[0]) if lengths is None else lengths
            h_BH = h_TBH[last_T - 1, jnp.arange(h_TBH.shape[1])]
            return self.readout(h_BH)
        return self.readout(h_TBH)

    # Streaming API: feed one time step at a time; equal to __call__ on the whole sequence.
    def initial_state(self, batch_size: int) -> list[Any]:
        return [layer.initial_state(batch_size) for layer in self.layers]

    def step(self, state: list[Any], inputs_B: jax.Array) -> tuple[list[Any], jax.Array]:
        """One step for every layer; returns the new state and this step's readout [B, C]."""
        x_BD = self.encode(inputs_B)
        new_state = []
        for i, layer in enumerate(self.layers):
            carry, y_BD = layer.step(state[i], self._layer_input(i, x_BD))
            x_BD = self._combine(x_BD, y_BD)
            new_state.append(carry)
        if self.final_norm is not None:
            x_BD = self.final_norm(x_BD)
        return new_state, self.readout(x_BD)


class _Projected(nnx.Module):
    """A mixer followed by a linear map to `width` (for residual stacks of other widths)."""

    def __init__(self, inner: nnx.Module, width: int, rngs: nnx.Rngs):
        self.inner = inner
        self.proj = nnx.Linear(inner.out_features, width, rngs=rngs)
        self.out_features = width

    def __call__(self, x):
        return self.proj(self.inner(x))

    def initial_state(self, batch_size: int):
        return self.inner.initial_state(batch_size)

    def step(self, carry, x):
        carry, y = self.inner.step(carry, x)
        return carry, self.proj(y)
