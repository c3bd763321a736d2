"""The sequence model every architecture shares: encoder -> backbone -> readout.

The encoder is an embedding for tokens and a linear map for reals; the backbone is
`model.layers` layers of one mixer; the readout is linear, at every step or at each
sequence's last valid step. All activations are time-major.

Cell models with `model.embed_dim=0` have no encoder, as the models of Arjovsky, Shah & Bengio
2016 (the authors' models.py, github amarshah/complex_RNN): tokens enter the first layer as
one-hot vectors (vocab_size wide), so its input projection one_hot(x_t) @ W is the row W[x_t],
and reals enter as they are. One-hot rather than a row lookup inside the cells keeps every
cell's `project` (input hoisting, the LSTM's hand-written backward) as it is; the extra matmul
is [T·B, vocab] @ [vocab, gates·H], small for the vocabularies this is meant for. With
`model.init=glorot_uniform` the encoder, readout and residual projections are Glorot-uniform
(zero biases) too.

Two kinds of backbone:
- cells (LSTM, GRU, ...): the encoder is `model.embed_dim` wide, each layer maps its input
  width to its own (`model.hidden`, twice that when bidirectional), optionally wrapped as
  x + layer(norm(x)) (`model.residual`, `model.norm`);
- blocks (xLSTM, Transformer): one residual stream `model.hidden` wide from the encoder on;
  each block holds its own norms and residual connections; a final LayerNorm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
from flax import nnx

from seqlab.models.bidirectional import Bidirectional
from seqlab.models.recurrence import ScanOptions
from seqlab.tasks.base import TaskSpec

NORMS = ("none", "layer", "rms")

# (layer index, input width, rngs) -> layer with `out_features`, `__call__(x_TBD)`,
# `initial_state(batch_size)` and `step(carry, x_BD) -> (carry, y_BD)`.
MakeLayer = Callable[[int, int, nnx.Rngs], nnx.Module]


def scan_options(cfg) -> ScanOptions:
    return ScanOptions(
        unroll=cfg.unroll,
        remat=cfg.remat,
        hoist_input=cfg.hoist_input,
        checkpoint_every=cfg.checkpoint_every,
        backward=cfg.backward,
    )


def recurrent(cfg, make_direction: Callable[[int, nnx.Rngs], nnx.Module]) -> MakeLayer:
    """A cell layer factory, made bidirectional when `model.bidirectional` is set; with
    `model.learn_initial_state` each direction (a `CellLayer`) learns its own initial carry."""

    def direction(in_features: int, rngs: nnx.Rngs) -> nnx.Module:
        layer = make_direction(in_features, rngs)
        if cfg.learn_initial_state:
            layer.learn_initial_state()
        return layer

    def make_layer(index: int, in_features: int, rngs: nnx.Rngs) -> nnx.Module:
        if cfg.bidirectional:
            return Bidirectional(lambda: direction(in_features, rngs), cfg.merge)
        return direction(in_features, rngs)

    return make_layer


def with_fields(cfg, **fields) -> ml_collections.ConfigDict:
    """A copy of a (locked) model config with some fields changed."""
    copy = ml_collections.ConfigDict(cfg.to_dict())
    copy.update(fields)
    return copy


def dense_init(init: str) -> dict:
    """nnx.Linear's initialisers for `model.init`: flax's defaults, or Glorot-uniform kernels
    (zero biases either way)."""
    if init == "glorot_uniform":
        return dict(kernel_init=nnx.initializers.glorot_uniform())
    return {}


def _embed_init(init: str) -> dict:
    if init == "glorot_uniform":  # the table [vocab, width] as the matrix one-hot @ W would be
        return dict(embedding_init=nnx.initializers.glorot_uniform())
    return {}


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
        make_layer: MakeLayer,
        *,
        rngs: nnx.Rngs,
        blocks: bool = False,
    ):
        self.spec = spec
        self.residual = cfg.residual and not blocks
        dense = dense_init(cfg.init)
        width = cfg.hidden if blocks else cfg.embed_dim
        if not width:  # no encoder: one-hot tokens or the reals themselves
            self.encoder = None
            width = spec.vocab_size if spec.input_kind == "tokens" else spec.input_dim
        elif spec.input_kind == "tokens":
            self.encoder = nnx.Embed(spec.vocab_size, width, rngs=rngs, **_embed_init(cfg.init))
        else:
            self.encoder = nnx.Linear(spec.input_dim, width, rngs=rngs, **dense)
        layers, norms = [], []
        for index in range(cfg.layers):
            norms.append(make_norm(cfg.norm, width, rngs) if self.residual else None)
            layer = make_layer(index, width, rngs)
            if self.residual and layer.out_features != width:
                # A residual stack keeps one width: project the mixer's output back to it.
                layer = _Projected(layer, width, rngs, dense)
            layers.append(layer)
            width = layer.out_features
        self.layers = nnx.List(layers)
        self.norms = nnx.List(norms)
        if blocks:  # as NX-AI's post-blocks norm: no bias, eps 1e-5
            self.final_norm = nnx.LayerNorm(width, epsilon=1e-5, use_bias=False, rngs=rngs)
        else:
            self.final_norm = make_norm(cfg.norm if self.residual else "none", width, rngs)
        self.readout = nnx.Linear(width, spec.out_features, rngs=rngs, **dense)

    def encode(self, inputs: jax.Array) -> jax.Array:
        if self.encoder is not None:
            return self.encoder(inputs)
        if self.spec.input_kind == "tokens":
            return jax.nn.one_hot(inputs, self.spec.vocab_size, dtype=jnp.float32)
        return inputs

    def _layer_input(self, i: int, x: jax.Array) -> jax.Array:
        norm = self.norms[i]
        return norm(x) if norm is not None else x

    def _combine(self, x: jax.Array, y: jax.Array) -> jax.Array:
        return x + y if self.residual else y

    def backbone(self, x_TBD: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        for i, layer in enumerate(self.layers):
            x_in = self._layer_input(i, x_TBD)
            y = layer(x_in, lengths) if getattr(layer, "needs_lengths", False) else layer(x_in)
            x_TBD = self._combine(x_TBD, y)
        return self.final_norm(x_TBD) if self.final_norm is not None else x_TBD

    def __call__(self, inputs: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        h_TBH = self.backbone(self.encode(inputs), lengths)
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

    def __init__(self, inner: nnx.Module, width: int, rngs: nnx.Rngs, dense: dict):
        self.inner = inner
        self.proj = nnx.Linear(inner.out_features, width, rngs=rngs, **dense)
        self.out_features = width
        self.needs_lengths = getattr(inner, "needs_lengths", False)

    def __call__(self, x, lengths=None):
        return self.proj(self.inner(x, lengths) if self.needs_lengths else self.inner(x))

    def initial_state(self, batch_size: int):
        return self.inner.initial_state(batch_size)

    def step(self, carry, x):
        carry, y = self.inner.step(carry, x)
        return carry, self.proj(y)
