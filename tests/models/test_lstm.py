"""LSTM: equivalence with flax's OptimizedLSTMCell and torch.nn.LSTM, scan options, streaming,
forget-gate bias, jit, check_grads in float64, causality via gradients.

Float32 throughout except the check_grads test; tolerances: forward 1e-5, gradients 1e-4
against outside references, 1e-6 between scan options of our own driver.
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from jax.test_util import check_grads

from seqlab.models.lstm import LSTM_CELL, LSTMLayer
from seqlab.models.recurrence import ScanOptions, scan_cell, step
from tests.models.common import (
    FWD,
    GRAD,
    TIGHT,
    Chain,
    apply,
    assert_causal,
    assert_module_causal,
    build,
    random_array,
    random_gate_weights,
    sample,
    set_param,
    stream,
    task,
    value_and_grads,
    weighted_sum_loss,
)

T, B, D, H = 7, 3, 5, 8


# ---------------------------------------------------------------- helpers


# (w_ih, w_hh, b_ih, b_hh) as numpy float32, all nonzero
random_weights = functools.partial(random_gate_weights, d=D, h=H, gates=4, scale=0.5)


def make_layer(w_ih, w_hh, b) -> LSTMLayer:
    layer = LSTMLayer(w_ih.shape[0], w_hh.shape[0], rngs=nnx.Rngs(params=0))
    set_param(layer.w_ih, w_ih)
    set_param(layer.w_hh, w_hh)
    set_param(layer.b, b)
    return layer


def layervalue_and_grads(layer: LSTMLayer, x, r):
    """Outputs, d loss/d x, and d loss/d {w_ih, w_hh, b} for loss = sum(layer(x) * r)."""
    y, (g_layer, g_x) = value_and_grads(layer, x, r)
    grads = {k: np.asarray(getattr(g_layer, k)[...]) for k in ("w_ih", "w_hh", "b")}
    return np.asarray(y), np.asarray(g_x), grads


def build_model(spec, **overrides):
    return build("lstm", spec, **overrides)


# ---------------------------------------------------------------- 1. flax OptimizedLSTMCell


def test_matches_flax_optimized_lstm_cell_step_by_step():
    cell = nnx.OptimizedLSTMCell(
        in_features=D,
        hidden_features=H,
        bias_init=nnx.initializers.normal(0.5),  # flax's default is zero: a dropped bias would pass
        rngs=nnx.Rngs(params=1),
    )
    # Same gate order (i, f, g, o along the last axis), one bias: the weights map one to one.
    layer = make_layer(cell.dense_i.kernel[...], cell.dense_h.kernel[...], cell.dense_h.bias[...])
    assert np.abs(cell.dense_h.bias[...]).min() > 0
    x = jnp.asarray(random_array(2, T, B, D))
    r = jnp.asarray(random_array(3, T, B, H))

    def flax_run(cell, x):
        carry = (jnp.zeros((B, H)), jnp.zeros((B, H)))
        ys = []
        for t in range(T):
            carry, y = cell(carry, x[t])
            ys.append(y)
        return jnp.stack(ys)

    def flax_loss(cell, x):
        return jnp.sum(flax_run(cell, x) * r)

    y_ref, (g_cell, g_x_ref) = nnx.jit(
        lambda c, x: (flax_run(c, x), nnx.grad(flax_loss, argnums=(0, 1))(c, x))
    )(cell, x)
    y, g_x, g = layervalue_and_grads(layer, x, r)

    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, g_x_ref, **GRAD)
    np.testing.assert_allclose(g["w_ih"], g_cell.dense_i.kernel[...], **GRAD)
    np.testing.assert_allclose(g["w_hh"], g_cell.dense_h.kernel[...], **GRAD)
    np.testing.assert_allclose(g["b"], g_cell.dense_h.bias[...], **GRAD)
    assert np.abs(g["b"]).max() > 1e-2  # the comparison is not of two zero arrays


def test_gate_order_against_flax_differs_when_gates_are_permuted():
    """The flax comparison is sensitive to the gate order: permuting gate blocks breaks it."""
    cell = nnx.OptimizedLSTMCell(D, H, bias_init=nnx.initializers.normal(0.5), rngs=nnx.Rngs(1))
    w_ih, w_hh, b = cell.dense_i.kernel[...], cell.dense_h.kernel[...], cell.dense_h.bias[...]
    swap = lambda w: jnp.concatenate(jnp.split(w, 4, -1)[::-1], -1)  # noqa: E731  o, g, f, i
    x = jnp.asarray(random_array(2, 1, B, D))
    zeros = jnp.zeros((B, H))
    _, y_ref = cell((zeros, zeros), x[0])
    np.testing.assert_allclose(make_layer(w_ih, w_hh, b)(x)[0], y_ref, **FWD)
    y_swapped = make_layer(swap(w_ih), swap(w_hh), swap(b))(x)[0]
    assert np.abs(y_swapped - y_ref).max() > 1e-2


# ---------------------------------------------------------------- 2. torch.nn.LSTM


def torch_lstm(weights: list[tuple], d: int = D) -> torch.nn.LSTM:
    """torch.nn.LSTM with `weights[l] = (w_ih [in,4H], w_hh [H,4H], b_ih, b_hh)` per layer."""
    lstm = torch.nn.LSTM(d, H, num_layers=len(weights))
    with torch.no_grad():
        for l, (w_ih, w_hh, b_ih, b_hh) in enumerate(weights):
            getattr(lstm, f"weight_ih_l{l}").copy_(torch.from_numpy(w_ih.T.copy()))
            getattr(lstm, f"weight_hh_l{l}").copy_(torch.from_numpy(w_hh.T.copy()))
            getattr(lstm, f"bias_ih_l{l}").copy_(torch.from_numpy(b_ih))
            getattr(lstm, f"bias_hh_l{l}").copy_(torch.from_numpy(b_hh))
    return lstm


@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_torch_lstm(num_layers):
    weights = [random_weights(10 + l, d=D if l == 0 else H) for l in range(num_layers)]
    lstm = torch_lstm(weights)
    layers = [make_layer(w_ih, w_hh, b_ih + b_hh) for w_ih, w_hh, b_ih, b_hh in weights]
    chain = Chain(layers)
    x_np, r_np = random_array(20, T, B, D), random_array(21, T, B, H)

    x_t = torch.from_numpy(x_np).requires_grad_(True)
    y_t, _ = lstm(x_t)
    (y_t * torch.from_numpy(r_np)).sum().backward()

    x, r = jnp.asarray(x_np), jnp.asarray(r_np)
    y, (g_chain, g_x) = value_and_grads(chain, x, r)

    np.testing.assert_allclose(y, y_t.detach().numpy(), **FWD)
    np.testing.assert_allclose(g_x, x_t.grad.numpy(), **GRAD)
    for l in range(num_layers):
        g = g_chain.layers[l]
        grad = lambda name, l=l: getattr(lstm, f"{name}_l{l}").grad.numpy()  # noqa: E731
        np.testing.assert_allclose(g.w_ih[...], grad("weight_ih").T, **GRAD)
        np.testing.assert_allclose(g.w_hh[...], grad("weight_hh").T, **GRAD)
        # Our single bias is b_ih + b_hh; torch's two biases get the same gradient.
        np.testing.assert_allclose(g.b[...], grad("bias_ih"), **GRAD)
        np.testing.assert_allclose(g.b[...], grad("bias_hh"), **GRAD)


def test_dropping_torch_hidden_bias_is_detected():
    """b_hh matters: using only b_ih as our bias does not match torch."""
    w_ih, w_hh, b_ih, b_hh = random_weights(10)
    x_np = random_array(20, T, B, D)
    y_t, _ = torch_lstm([(w_ih, w_hh, b_ih, b_hh)])(torch.from_numpy(x_np))
    y = make_layer(w_ih, w_hh, b_ih)(jnp.asarray(x_np))
    assert np.abs(np.asarray(y) - y_t.detach().numpy()).max() > 1e-2


def test_sequence_model_matches_torch_embedding_lstm_linear():
    """make_lstm with layers=2 on the copy spec == torch Embedding -> LSTM(2) -> Linear."""
    spec = task("copy", 2).spec
    model = build_model(spec, layers=2)
    torch.manual_seed(0)
    embed = torch.nn.Embedding(spec.vocab_size, 6)
    lstm = torch.nn.LSTM(6, H, num_layers=2)
    readout = torch.nn.Linear(H, spec.num_classes)
    with torch.no_grad():  # torch's default init: every bias nonzero
        for p in (*lstm.parameters(), readout.bias):
            p.uniform_(-0.5, 0.5)
    tnp = lambda p: p.detach().numpy()  # noqa: E731
    set_param(model.encoder.embedding, tnp(embed.weight))
    for l in range(2):
        layer = model.layers[l]
        set_param(layer.w_ih, tnp(getattr(lstm, f"weight_ih_l{l}")).T)
        set_param(layer.w_hh, tnp(getattr(lstm, f"weight_hh_l{l}")).T)
        set_param(
            layer.b, tnp(getattr(lstm, f"bias_ih_l{l}")) + tnp(getattr(lstm, f"bias_hh_l{l}"))
        )
    set_param(model.readout.kernel, tnp(readout.weight).T)
    set_param(model.readout.bias, tnp(readout.bias))

    tokens = sample(task("copy", 2), 0, B).inputs  # [22, B]
    r_np = random_array(30, tokens.shape[0], B, spec.num_classes)
    logits_t = readout(lstm(embed(torch.from_numpy(np.array(tokens)).long()))[0])
    (logits_t * torch.from_numpy(r_np)).sum().backward()

    r = jnp.asarray(r_np)
    logits, g = nnx.jit(lambda m: (m(tokens), nnx.grad(weighted_sum_loss)(m, tokens, r)))(model)

    assert logits.shape == (spec.seq_len, B, spec.num_classes)
    np.testing.assert_allclose(logits, tnp(logits_t), **FWD)
    np.testing.assert_allclose(g.encoder.embedding[...], embed.weight.grad.numpy(), **GRAD)
    for l in range(2):
        grad = lambda name, l=l: getattr(lstm, f"{name}_l{l}").grad.numpy()  # noqa: E731
        np.testing.assert_allclose(g.layers[l].w_ih[...], grad("weight_ih").T, **GRAD)
        np.testing.assert_allclose(g.layers[l].w_hh[...], grad("weight_hh").T, **GRAD)
        np.testing.assert_allclose(g.layers[l].b[...], grad("bias_ih"), **GRAD)
    np.testing.assert_allclose(g.readout.kernel[...], readout.weight.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(g.readout.bias[...], readout.bias.grad.numpy(), **GRAD)


# ---------------------------------------------------------------- 3. scan options

OPTIONS = [
    ScanOptions(unroll=unroll, remat=remat, hoist_input=hoist)
    for hoist, unroll, remat in itertools.product((False, True), (1, 3), (False, True))
]


@functools.cache
def scanvalue_and_grads(options: ScanOptions):
    w_ih, w_hh, b_ih, _ = random_weights(40)
    params = {"w_ih": jnp.asarray(w_ih), "w_hh": jnp.asarray(w_hh), "b": jnp.asarray(b_ih)}
    x, r = jnp.asarray(random_array(41, T, B, D)), jnp.asarray(random_array(42, T, B, H))

    def loss(params, x):
        carry, y = scan_cell(LSTM_CELL, params, x, options=options)
        return jnp.sum(y * r) + jnp.sum(carry[0]), (carry, y)

    value_and_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))
    (_, (carry, y)), grads = value_and_grad(params, x)
    return carry, y, grads


@pytest.mark.parametrize("options", OPTIONS[1:], ids=str)
def test_scan_options_do_not_change_outputs_or_gradients(options):
    assert OPTIONS[0] == ScanOptions()  # the reference: no unroll, no remat, no hoisting
    carry, y, grads = scanvalue_and_grads(options)
    ref_carry, ref_y, ref_grads = scanvalue_and_grads(ScanOptions())
    np.testing.assert_allclose(y, ref_y, **TIGHT)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **TIGHT), carry, ref_carry)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **TIGHT), grads, ref_grads)


@pytest.mark.parametrize("options", [ScanOptions(), ScanOptions(3, True, True)], ids=str)
def test_reverse_scan_equals_scan_of_flipped_input(options):
    w_ih, w_hh, b, _ = random_weights(40)
    params = {"w_ih": jnp.asarray(w_ih), "w_hh": jnp.asarray(w_hh), "b": jnp.asarray(b)}
    x = jnp.asarray(random_array(41, T, B, D))
    run = jax.jit(
        lambda x, reverse: scan_cell(LSTM_CELL, params, x, options=options, reverse=reverse),
        static_argnums=1,
    )
    carry, y = run(x, True)
    flip_carry, flip_y = run(x[::-1], False)
    np.testing.assert_allclose(y, flip_y[::-1], **TIGHT)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **TIGHT), carry, flip_carry)
    # ...and is not the forward scan (the test would pass if `reverse` were ignored otherwise).
    _, y_fwd = run(x, False)
    assert np.abs(np.asarray(y) - np.asarray(y_fwd)).max() > 1e-2


def _sub_jaxprs(eqn):
    for v in eqn.params.values():
        for item in v if isinstance(v, tuple | list) else (v,):
            if hasattr(item, "eqns"):
                yield item
            elif hasattr(item, "jaxpr") and hasattr(item.jaxpr, "eqns"):
                yield item.jaxpr


def _primitives(jaxpr) -> list[str]:
    names = []
    for eqn in jaxpr.eqns:
        names.append(eqn.primitive.name)
        for sub in _sub_jaxprs(eqn):
            names += _primitives(sub)
    return names


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_model_config_scan_options_reach_the_scan(options):
    """cfg.unroll/remat/hoist_input reach every layer's lax.scan (else test 3 tests nothing)."""
    spec = task("adding", 4).spec
    model = build_model(spec, layers=2, **options._asdict())
    assert all(layer.options == options for layer in model.layers)
    layer = model.layers[0]
    jaxpr = jax.make_jaxpr(layer)(jnp.zeros((T, B, 6))).jaxpr
    (scan,) = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
    assert scan.params["unroll"] == options.unroll
    body = _primitives(scan.params["jaxpr"].jaxpr)
    assert any("remat" in n or "checkpoint" in n for n in body) == options.remat
    # Hoisted: only h @ w_hh is inside the scan; otherwise x @ w_ih too.
    assert body.count("dot_general") == (1 if options.hoist_input else 2)


# ---------------------------------------------------------------- 4. streaming == scan

MODEL_VARIANTS = [
    dict(layers=2),
    dict(layers=2, residual=True, norm="layer"),
    dict(layers=2, residual=True, norm="rms", hoist_input=True, unroll=3, remat=True),
]


@pytest.mark.parametrize("overrides", MODEL_VARIANTS, ids=str)
def test_streaming_equals_scan_on_copy(overrides):
    copy = task("copy", 2)
    model = build_model(copy.spec, **overrides)
    tokens = sample(copy, 1, B).inputs
    expected = apply(model, tokens)
    assert expected.shape == (copy.spec.seq_len, B, 10)
    np.testing.assert_allclose(stream(model, tokens), expected, **FWD)


@pytest.mark.parametrize("overrides", MODEL_VARIANTS[:2], ids=str)
def test_streaming_last_readout_equals_model_on_adding(overrides):
    adding = task("adding", T)
    model = build_model(adding.spec, **overrides)
    batch = sample(adding, 2, B)
    readouts = stream(model, batch.inputs)
    np.testing.assert_allclose(readouts[-1], apply(model, batch.inputs), **FWD)
    np.testing.assert_allclose(readouts[-1], apply(model, batch.inputs, batch.lengths), **FWD)


@pytest.mark.parametrize("overrides", MODEL_VARIANTS[1:2], ids=str)
def test_variable_lengths_read_each_sequences_last_step(overrides):
    adding = task("adding_1997", 24)  # lengths in [24, 26]
    model = build_model(adding.spec, **overrides)
    batch = sample(adding, 3, 8)
    lengths = np.asarray(batch.lengths)
    assert len(set(lengths.tolist())) > 1 and lengths.min() < adding.spec.seq_len
    readouts = np.asarray(stream(model, batch.inputs))  # [T_max, B, 1]
    out = apply(model, batch.inputs, batch.lengths)
    np.testing.assert_allclose(out, readouts[lengths - 1, np.arange(8)], **FWD)
    # Reading the padded last step instead would differ for the short sequences.
    short = lengths < adding.spec.seq_len
    assert np.abs(readouts[-1][short] - np.asarray(out)[short]).min() > 1e-6


# ---------------------------------------------------------------- 5. forget-gate bias


def test_forget_bias_sets_exactly_the_forget_slice():
    layer = LSTMLayer(D, H, rngs=nnx.Rngs(params=0), forget_bias=2.5)
    expected = np.zeros(4 * H, np.float32)
    expected[H : 2 * H] = 2.5
    np.testing.assert_array_equal(layer.b[...], expected)
    model = build_model(task("copy", 2).spec, layers=2, forget_bias=2.5)
    for layer in model.layers:
        np.testing.assert_array_equal(layer.b[...], expected)


# ---------------------------------------------------------------- 6. shapes, finiteness, jit


@pytest.mark.parametrize("task_name", ["copy", "adding"])
def test_shapes_finite_and_jit_equals_eager(task_name):
    t = task(task_name, 3)
    model = build_model(t.spec, layers=2, residual=True, norm="layer")
    batch = sample(t, 4, B)
    expected_shape = (t.spec.seq_len, B, 10) if task_name == "copy" else (B, 1)

    eager = model(batch.inputs, batch.lengths)
    via_nnx_jit = nnx.jit(lambda m, x, n: m(x, n))(model, batch.inputs, batch.lengths)
    graphdef, state = nnx.split(model)
    functional = jax.jit(lambda s, x, n: nnx.merge(graphdef, s)(x, n))
    via_jax_jit = functional(state, batch.inputs, batch.lengths)

    for out in (eager, via_nnx_jit, via_jax_jit):
        assert out.shape == expected_shape and out.dtype == jnp.float32
        assert np.isfinite(np.asarray(out)).all()
    np.testing.assert_allclose(via_nnx_jit, eager, **FWD)
    np.testing.assert_allclose(via_jax_jit, eager, **FWD)
    assert np.abs(np.asarray(eager)).max() > 0


# ---------------------------------------------------------------- 7. check_grads (float64)


def test_check_grads_float64():
    with jax.enable_x64(True):
        w_ih, w_hh, b, _ = random_weights(50, d=3, h=4)
        params = {
            k: jnp.asarray(v, jnp.float64) for k, v in dict(w_ih=w_ih, w_hh=w_hh, b=b).items()
        }
        c0 = jnp.asarray(random_array(51, 2, 4), jnp.float64)
        h0 = jnp.asarray(random_array(52, 2, 4), jnp.float64)
        x = jnp.asarray(random_array(53, 2, 3), jnp.float64)

        # One step = lstm_project then lstm_recur, from a nonzero carry.
        cell_step = lambda p, c, x_t: step(LSTM_CELL, p, c, x_t)  # noqa: E731
        assert cell_step(params, (c0, h0), x)[1].dtype == jnp.float64
        check_grads(cell_step, (params, (c0, h0), x), order=2, modes=("fwd", "rev"))
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


# ---------------------------------------------------------------- 8. causality via gradients


def test_lstm_layer_is_causal():
    w_ih, w_hh, b, _ = random_weights(60)
    layer = make_layer(w_ih, w_hh, b)
    x = jnp.asarray(random_array(61, T, B, D))
    assert_module_causal(layer, x)


def test_copy_model_is_causal():
    spec = task("copy", 2).spec
    assert spec.causal
    model = build_model(spec, layers=2, residual=True, norm="layer")
    embedded = jnp.asarray(random_array(62, T, B, 6))
    head = lambda m, e: m.readout(m.backbone(e))  # noqa: E731
    assert_causal(nnx.jit(lambda m, e: jax.jacrev(lambda e: head(m, e))(e))(model, embedded))
    # The same through token inputs: changing the token at step s leaves logits before s alone.
    tokens = jnp.asarray(np.random.default_rng(63).integers(0, 10, (T, B)), jnp.int32)
    s = 3
    changed = tokens.at[s].set((tokens[s] + 1) % 10)
    a, b = np.asarray(apply(model, tokens)), np.asarray(apply(model, changed))
    np.testing.assert_array_equal(a[:s], b[:s])
    assert np.abs(a[s] - b[s]).max() > 1e-4
