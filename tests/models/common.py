"""Helpers the model tests share: configs, tasks, weight setting, jitted apply, streaming."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

import seqlab.models
import seqlab.tasks  # noqa: F401  (registers models and tasks)
from seqlab.config import base_config
from seqlab.registry import MODELS, TASKS

FWD = dict(rtol=1e-5, atol=1e-5)  # forward outputs against an outside reference (float32)
GRAD = dict(rtol=1e-4, atol=1e-4)  # gradients against an outside reference (float32)
TIGHT = dict(rtol=1e-6, atol=1e-6)  # between forms of our own code


def random_array(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def set_param(param: nnx.Param, value) -> None:
    """Sets a parameter from a numpy/torch value of exactly its shape."""
    if hasattr(value, "detach"):
        value = value.detach().numpy()
    value = jnp.asarray(np.asarray(value, np.float32))
    assert param[...].shape == value.shape, (param[...].shape, value.shape)
    param[...] = value


def model_cfg(name: str = "lstm", **overrides) -> ml_collections.ConfigDict:
    cfg = base_config().model
    cfg.update(dict(name=name, hidden=8, layers=1, embed_dim=6))
    cfg.update(overrides)
    return cfg


def task(name: str, length: int):
    cfg = base_config().task  # every task field at its default
    cfg.update(name=name, length=length)
    return TASKS.get(name)(cfg)


def sample(t, seed: int, batch_size: int):
    return jax.jit(t.sample, static_argnums=1)(jax.random.key(seed), batch_size)


def build(name: str, spec, seed: int = 0, **overrides):
    return MODELS.get(name)(model_cfg(name, **overrides), spec, nnx.Rngs(params=seed))


@nnx.jit
def apply(model, inputs, lengths=None):
    return model(inputs, lengths)


def stream(model, inputs) -> jax.Array:
    """Readouts of `model.step` fed one time step at a time: [T, B, C]."""
    state = model.initial_state(inputs.shape[1])
    model_step = nnx.jit(lambda m, s, x: m.step(s, x))
    outs = []
    for t in range(inputs.shape[0]):
        state, y = model_step(model, state, inputs[t])
        outs.append(y)
    return jnp.stack(outs)


def weighted_sum_loss(module, x, r):
    return jnp.sum(module(x) * r)


@nnx.jit
def value_and_grads(module, x, r):
    """module(x), and d/d(module, x) of sum(module(x) * r): outputs and all gradients at once."""
    return module(x), nnx.grad(weighted_sum_loss, argnums=(0, 1))(module, x, r)


class Chain(nnx.Module):
    """Layers applied one after another (multi-layer comparisons with torch's num_layers)."""

    def __init__(self, layers):
        self.layers = nnx.List(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def random_gate_weights(seed: int, d: int, h: int, gates: int, scale: float):
    """Float32 numpy (w_ih [d,gates*h], w_hh [h,gates*h], b_ih, b_hh [gates*h]); all nonzero."""
    rng = np.random.default_rng(seed)
    g = gates * h
    return tuple(
        (scale * rng.standard_normal(s)).astype(np.float32) for s in ((d, g), (h, g), (g,), (g,))
    )


def assert_causal(jac):
    """jac [T, B, C, T, B, D]: output (t, b) depends on input (s, b) iff s <= t."""
    jac = np.abs(np.asarray(jac))
    n_steps, n_batch = jac.shape[0], jac.shape[1]
    for t in range(n_steps):
        for b in range(n_batch):
            np.testing.assert_array_equal(jac[t, b, :, t + 1 :], 0.0)
            other = [c for c in range(n_batch) if c != b]
            np.testing.assert_array_equal(jac[t, b][:, :, other], 0.0)
            for s in range(t + 1):
                assert jac[t, b, :, s, b].max() > 1e-7, (t, b, s)


def assert_module_causal(module, x) -> None:
    """A module mapping [T, B, D] -> [T, B, C]: `assert_causal` on its Jacobian at x."""
    assert_causal(nnx.jit(lambda m, x: jax.jacrev(m)(x))(module, x))


def assert_streams_like_whole_sequence(name: str, batch: int, **overrides) -> None:
    """The model `name` (built with `overrides`) on copy at T=2: `model.step` fed one step at a
    time gives the whole-sequence outputs."""
    copy = task("copy", 2)
    model = build(name, copy.spec, **overrides)
    tokens = sample(copy, 1, batch).inputs
    expected = apply(model, tokens)
    assert expected.shape == (copy.spec.seq_len, batch, 10)
    np.testing.assert_allclose(stream(model, tokens), expected, **FWD)
