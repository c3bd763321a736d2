"""The scan options that change how the backward pass runs, never the numbers.

- `backward="hand"`: the LSTM's whole-sequence form with a hand-written VJP (lstm_vjp.py)
  against autodiff of the scanned cell, in float64 so that a wrong term cannot hide in
  float32 rounding; `check_grads` against finite differences; under `vmap` (seeds).
- `checkpoint_every=K`: segments recomputed in the backward pass give the autodiff numbers
  for any cell, with and without a leftover segment, forward and in reverse; and the compiled
  program keeps less memory.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads

from seqlab.config import ConfigError, base_config, validate
from seqlab.models.gru import GRU_CELL
from seqlab.models.lstm import LSTM_CELL
from seqlab.models.lstm_vjp import lstm_sequence
from seqlab.models.recurrence import ScanOptions, SequenceOptions, scan_cell
from tests.models.common import (
    TIGHT,
    apply,
    build,
    random_array,
    sample,
    task,
    weighted_sum_loss,
)

T, B, D, H = 9, 3, 5, 4
F64 = dict(rtol=1e-12, atol=1e-12)


def lstm_inputs(dtype=np.float64):
    params = {
        "w_ih": random_array(1, D, 4 * H, scale=0.5),
        "w_hh": random_array(2, H, 4 * H, scale=0.5),
        "b": random_array(3, 4 * H, scale=0.5),
    }
    carry = (random_array(4, B, H), random_array(5, B, H))
    x = random_array(6, T, B, D)
    cast = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    return jax.tree.map(cast, params), jax.tree.map(cast, carry), cast(x)


def loss_of(run):
    """A loss that weighs every output and both final carries, so each cotangent is used."""
    w_TBH = jnp.asarray(random_array(7, T, B, H), jnp.float64)

    def loss(params, carry, x):
        (c_BH, h_BH), y_TBH = run(params, carry, x)
        return jnp.sum(y_TBH * w_TBH) + jnp.sum(1.3 * c_BH) + jnp.sum(h_BH**2)

    return loss


def grads(run, *args):
    return jax.jit(jax.value_and_grad(loss_of(run), argnums=(0, 1, 2)))(*args)


@pytest.fixture(autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("hoist", [False, True], ids=["in-scan", "hoisted"])
def test_hand_backward_equals_autodiff_of_the_cell(reverse, hoist):
    args = lstm_inputs()

    def by_autodiff(params, carry, x):
        return scan_cell(LSTM_CELL, params, x, carry, reverse=reverse)

    def by_hand(params, carry, x):
        return lstm_sequence(SequenceOptions(reverse, 2, hoist), params, carry, x)

    value, grad = grads(by_hand, *args)
    ref_value, ref_grad = grads(by_autodiff, *args)
    np.testing.assert_allclose(value, ref_value, **F64)
    flat, ref_flat = jax.tree.leaves(grad), jax.tree.leaves(ref_grad)
    assert len(flat) == 6  # w_ih, w_hh, b, c0, h0, x: every input gets its gradient
    for g, ref in zip(flat, ref_flat, strict=True):
        assert np.abs(ref).max() > 1e-3  # a gradient that is zero would test nothing
        np.testing.assert_allclose(g, ref, **F64)


def test_hand_backward_check_grads():
    params, carry, x = lstm_inputs()
    run = lambda p, c, x: lstm_sequence(SequenceOptions(), p, c, x)  # noqa: E731
    check_grads(loss_of(run), (params, carry, x), order=1, modes=["rev"], eps=1e-6)


def test_hand_backward_under_vmap_equals_each_seed():
    params, carry, x = lstm_inputs()
    seeds = jax.tree.map(lambda a: jnp.stack([a, 0.5 * a, -a]), params)
    run = lambda p, c, x: lstm_sequence(SequenceOptions(), p, c, x)  # noqa: E731
    grad = jax.grad(loss_of(run))
    together = jax.jit(jax.vmap(grad, in_axes=(0, None, None)))(seeds, carry, x)
    for s in range(3):
        alone = grad(jax.tree.map(lambda a, s=s: a[s], seeds), carry, x)
        for key in alone:
            np.testing.assert_allclose(together[key][s], alone[key], **F64)


def gru_inputs():
    params = {
        "w_ih": random_array(11, D, 3 * H, scale=0.5),
        "w_hh": random_array(12, H, 3 * H, scale=0.5),
        "b": random_array(13, 3 * H, scale=0.5),
        "b_hn": random_array(14, H, scale=0.5),
    }
    cast = lambda a: jnp.asarray(a, jnp.float64)  # noqa: E731
    return jax.tree.map(cast, params), cast(random_array(15, B, H)), cast(random_array(6, T, B, D))


CHECKPOINTS = [
    (3, "autodiff"),  # T = 9 = 3 segments of 3
    (4, "autodiff"),  # 2 segments of 4 and one leftover step
    (4, "hand"),  # segments of the hand-written form
    (20, "autodiff"),  # longer than T: no segments at all
]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize(("every", "backward"), CHECKPOINTS, ids=str)
def test_checkpointed_lstm_equals_the_plain_scan(every, backward, reverse):
    args = lstm_inputs()
    options = ScanOptions(checkpoint_every=every, backward=backward)

    def run(params, carry, x, options=options):
        return scan_cell(LSTM_CELL, params, x, carry, options=options, reverse=reverse)

    value, grad = grads(run, *args)
    ref_value, ref_grad = grads(lambda *a: run(*a, options=ScanOptions()), *args)
    np.testing.assert_allclose(value, ref_value, **F64)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **F64), grad, ref_grad)


def test_checkpointed_gru_equals_the_plain_scan():
    params, h0, x = gru_inputs()
    w_TBH = jnp.asarray(random_array(7, T, B, H), jnp.float64)

    def loss(params, h0, x, every):
        options = ScanOptions(checkpoint_every=every)
        h_BH, y_TBH = scan_cell(GRU_CELL, params, x, h0, options=options)
        return jnp.sum(y_TBH * w_TBH) + jnp.sum(h_BH**2)

    grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2)), static_argnums=3)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, **F64),
        grad(*gru_inputs(), 4),
        grad(params, h0, x, 0),
    )


def test_checkpointing_is_an_outer_scan_of_rematerialised_segments():
    params, carry, x = lstm_inputs()
    jaxpr = jax.make_jaxpr(
        lambda x: scan_cell(LSTM_CELL, params, x, carry, options=ScanOptions(checkpoint_every=4))
    )(x).jaxpr
    scans = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
    # the leftover step (T = 9 = 1 + 2·4) as its own scan, then the scan over 2 segments
    assert [s.params["length"] for s in scans] == [1, 2]
    inner = [e.primitive.name for e in scans[1].params["jaxpr"].jaxpr.eqns]
    assert any("remat" in n or "checkpoint" in n for n in inner), inner


def temp_bytes(every: int) -> int:
    """Scratch memory XLA plans for one gradient of an LSTM over 2,000 steps."""
    T_long, width = 2000, 64
    params = {
        "w_ih": jnp.zeros((D, 4 * width)),
        "w_hh": jnp.zeros((width, 4 * width)),
        "b": jnp.zeros(4 * width),
    }
    x = jnp.zeros((T_long, 8, D))

    def loss(params):
        options = ScanOptions(checkpoint_every=every)
        return jnp.sum(scan_cell(LSTM_CELL, params, x, options=options)[1])

    compiled = jax.jit(jax.grad(loss)).lower(params).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def test_checkpointing_reduces_the_memory_of_a_long_sequence():
    with jax.enable_x64(False):
        plain, checkpointed = temp_bytes(0), temp_bytes(50)
    # the plain scan keeps per step at least the cell state and the gates: (1 + 4)·8·64 floats
    assert plain >= 2000 * 5 * 8 * 64 * 4
    assert checkpointed < plain / 3, (plain, checkpointed)


@pytest.mark.parametrize("name", ["lstm", "bilstm"])
def test_model_with_hand_backward_equals_autodiff(name):
    with jax.enable_x64(False):
        copy = task("copy", 4)
        batch = sample(copy, 0, 3)
        r = jnp.asarray(random_array(9, copy.spec.seq_len, 3, copy.spec.num_classes))
        hand = build(name, copy.spec, backward="hand", checkpoint_every=5)
        ref = build(name, copy.spec)
        grad_of = nnx.jit(nnx.grad(weighted_sum_loss))
        grad, ref_grad = grad_of(hand, batch.inputs, r), grad_of(ref, batch.inputs, r)
        np.testing.assert_allclose(apply(hand, batch.inputs), apply(ref, batch.inputs), **TIGHT)
        for g, g_ref in zip(jax.tree.leaves(grad), jax.tree.leaves(ref_grad), strict=True):
            np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(name="gru", backward="hand"), "applies to models with a hand-written backward"),
        (dict(backward="fast"), "model.backward is 'fast'; valid choices: autodiff, hand"),
        (dict(checkpoint_every=-1), "model.checkpoint_every must be >= 0"),
    ],
)
def test_bad_backward_options_are_refused(overrides, message):
    cfg = base_config()
    cfg.model.update(overrides)
    with pytest.raises(ConfigError, match=message):
        validate(cfg)
