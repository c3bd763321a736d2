"""The cell-model options that reproduce Arjovsky, Shah & Bengio 2016's LSTM and tanh RNN (the
authors' Theano code, github amarshah/complex_RNN, models.py): no encoder (`embed_dim=0`),
per-gate Glorot-uniform init, a learned initial state, the LSTM's full output peephole V_o.

Against an independent implementation of the authors' equations, written from them with one
array per gate and their names (float64 NumPy for outputs, the same code in jnp for gradients
w.r.t. the learned initial state); Glorot bounds per gate; default init unchanged (fingerprints
of the parameters computed on the code before these options, commit aae3726); streaming ==
whole sequence; bidirectional layers learn one initial state per direction; the hand-written
backward with a learned initial state == autodiff; config refusals; parameter counts.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from seqlab.config import ConfigError, base_config, validate
from seqlab.models.sizing import count_params
from tests.models.common import (
    FWD,
    GRAD,
    TIGHT,
    apply,
    build,
    model_cfg,
    random_array,
    sample,
    set_param,
    stream,
    task,
    weighted_sum_loss,
)

B, H = 3, 8
PAPER = dict(embed_dim=0, init="glorot_uniform", learn_initial_state=True)
PAPER_LSTM = dict(PAPER, output_peephole="full")


# ---------------------------------------------------------------- the authors' equations


def _sigmoid(a, xp):
    return 1.0 / (1.0 + xp.exp(-a))


def _input(W, x_t, tokens: bool):
    """The input's contribution: the row W[x_t] for a token id (their one-hot), else x_t W."""
    return W[x_t] if tokens else x_t @ W


def authors_lstm(p: dict, x, *, tokens: bool, last: bool, xp=np):
    """models.py's LSTM: i, g, f, c_t, then o sees the new c_t through V_o; logits per step."""
    batch = x.shape[1]
    h, state = xp.tile(p["h_0"], (batch, 1)), xp.tile(p["state_0"], (batch, 1))
    logits = []
    for t in range(x.shape[0]):
        x_t = x[t]
        inp = lambda W, x_t=x_t: _input(W, x_t, tokens)  # noqa: E731
        i = _sigmoid(inp(p["W_i"]) + h @ p["U_i"] + p["b_i"], xp)
        g = xp.tanh(inp(p["W_c"]) + h @ p["U_c"] + p["b_c"])
        f = _sigmoid(inp(p["W_f"]) + h @ p["U_f"] + p["b_f"], xp)
        state = i * g + f * state
        o = _sigmoid(inp(p["W_o"]) + h @ p["U_o"] + state @ p["V_o"] + p["b_o"], xp)
        h = o * xp.tanh(state)
        logits.append(h @ p["out_mat"] + p["out_bias"])
    return logits[-1] if last else xp.stack(logits)


def authors_rnn(p: dict, x, *, tokens: bool, last: bool, relu: bool = False, xp=np):
    """models.py's tanhRNN (IRNN: ReLU): h_t = φ(h W + x V + b)."""
    act = (lambda a: xp.maximum(a, 0.0)) if relu else xp.tanh
    h = xp.tile(p["h_0"], (x.shape[1], 1))
    logits = []
    for t in range(x.shape[0]):
        h = act(h @ p["W"] + _input(p["V"], x[t], tokens) + p["hidden_bias"])
        logits.append(h @ p["out_mat"] + p["out_bias"])
    return logits[-1] if last else xp.stack(logits)


def lstm_as_authors(model) -> dict[str, np.ndarray]:
    """seqlab's parameters as the authors' arrays: gate blocks i, f, g (their c), o."""
    layer = model.layers[0]
    h = layer.w_hh.shape[0]

    def gates(w, names):
        w = np.asarray(w[...], np.float64)
        return {n: w[..., k * h : (k + 1) * h] for k, n in enumerate(names)}

    c_0, h_0 = (np.asarray(p[...], np.float64) for p in layer.carry0)
    return {
        **gates(layer.w_ih, ("W_i", "W_f", "W_c", "W_o")),
        **gates(layer.w_hh, ("U_i", "U_f", "U_c", "U_o")),
        **gates(layer.b, ("b_i", "b_f", "b_c", "b_o")),
        "V_o": np.asarray(layer.v_o[...], np.float64),
        "state_0": c_0,
        "h_0": h_0,
        **readout_as_authors(model),
    }


def rnn_as_authors(model) -> dict[str, np.ndarray]:
    layer = model.layers[0]
    f64 = lambda p: np.asarray(p[...], np.float64)  # noqa: E731
    return {
        "V": f64(layer.w_ih),
        "W": f64(layer.w_hh),
        "hidden_bias": f64(layer.b),
        "h_0": f64(layer.carry0[0]),
        **readout_as_authors(model),
    }


def readout_as_authors(model) -> dict[str, np.ndarray]:
    return {
        "out_mat": np.asarray(model.readout.kernel[...], np.float64),
        "out_bias": np.asarray(model.readout.bias[...], np.float64),
    }


def randomise(model, seed: int, *, biases: bool = True) -> None:
    """Nonzero learned initial states (and biases): zeros would hide a dropped or swapped one."""
    for n, (path, param) in enumerate(nnx.iter_graph(model)):
        if not isinstance(param, nnx.Param):
            continue
        if "carry0" in path or (biases and path[-1] in ("b", "bias")):
            set_param(param, random_array(seed + n, *param[...].shape, scale=0.5))


def copy_and_adding():
    return [("copy", task("copy", 3)), ("adding", task("adding", 9))]


def inputs_of(t, seed: int):
    return sample(t, seed, B).inputs


# ---------------------------------------------------------------- 1. the authors' LSTM / RNN


@pytest.mark.parametrize(("task_name", "t"), copy_and_adding(), ids=["copy", "adding"])
def test_lstm_equals_the_authors_equations(task_name, t):
    model = build("lstm", t.spec, hidden=H, **PAPER_LSTM)
    layer = model.layers[0]
    # At init: their biases (b_f = 1, the rest 0), zero initial state, no encoder.
    assert model.encoder is None
    np.testing.assert_array_equal(layer.b[...], np.repeat([0.0, 1.0, 0.0, 0.0], H))
    assert all(np.all(np.asarray(p[...]) == 0) for p in layer.carry0)
    randomise(model, 10)
    tokens = t.spec.input_kind == "tokens"
    last = t.spec.scored == "last"
    x = inputs_of(t, 1)
    p = lstm_as_authors(model)

    np.testing.assert_allclose(
        apply(model, x), authors_lstm(p, np.asarray(x), tokens=tokens, last=last), **FWD
    )

    # d/d(learned initial state) of sum(logits · r): seqlab vs jax.grad of the same equations.
    out_shape = (B, 1) if last else (x.shape[0], B, t.spec.num_classes)
    r = jnp.asarray(random_array(11, *out_shape))
    grads = nnx.jit(nnx.grad(weighted_sum_loss))(model, x, r)
    g_c0, g_h0 = (np.asarray(grads.layers[0].carry0[k][...]) for k in (0, 1))  # c, h
    p32 = {k: jnp.asarray(v, jnp.float32) for k, v in p.items()}

    def ref_loss(state_0, h_0):
        q = {**p32, "state_0": state_0, "h_0": h_0}
        return jnp.sum(authors_lstm(q, x, tokens=tokens, last=last, xp=jnp) * r)

    ref_c0, ref_h0 = jax.jit(jax.grad(ref_loss, argnums=(0, 1)))(p32["state_0"], p32["h_0"])
    for g, ref in ((g_c0, ref_c0), (g_h0, ref_h0)):
        assert g.shape == (1, H) and np.abs(g).min() > 0
        np.testing.assert_allclose(g, ref, **GRAD)


@pytest.mark.parametrize("irnn", [False, True], ids=["tanh", "irnn"])
@pytest.mark.parametrize(("task_name", "t"), copy_and_adding(), ids=["copy", "adding"])
def test_rnn_equals_the_authors_equations(task_name, t, irnn):
    model = build("rnn", t.spec, hidden=H, irnn=irnn, **PAPER)
    if irnn:  # Glorot for V, the readout; W stays the identity
        np.testing.assert_array_equal(model.layers[0].w_hh[...], np.eye(H))
    randomise(model, 20)
    tokens, last = t.spec.input_kind == "tokens", t.spec.scored == "last"
    x = inputs_of(t, 2)
    expected = authors_rnn(
        rnn_as_authors(model), np.asarray(x), tokens=tokens, last=last, relu=irnn
    )
    np.testing.assert_allclose(apply(model, x), expected, **FWD)


def test_reference_lstm_sees_v_o_and_the_learned_state():
    """The comparison above can fail: without V_o, or with the initial state dropped or its
    c and h swapped, the reference's logits are not seqlab's."""
    t = task("copy", 3)
    model = build("lstm", t.spec, hidden=H, **PAPER_LSTM)
    randomise(model, 10)
    x = np.asarray(inputs_of(t, 1))
    p = lstm_as_authors(model)
    y = np.asarray(apply(model, jnp.asarray(x)))
    variants = [
        {**p, "V_o": np.zeros_like(p["V_o"])},
        {**p, "h_0": np.zeros_like(p["h_0"]), "state_0": np.zeros_like(p["state_0"])},
        {**p, "h_0": p["state_0"], "state_0": p["h_0"]},
    ]
    for q in variants:
        assert np.abs(authors_lstm(q, x, tokens=True, last=False) - y).max() > 1e-3


# ---------------------------------------------------------------- 2. Glorot uniform, per gate


def assert_glorot(w, fan_in: int, fan_out: int) -> None:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    w = np.asarray(w)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound
    # The std of n draws from U[-b, b] is b/√3 within a relative 0.45/√n (one standard error).
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=2.0 / math.sqrt(w.size))


def gate_blocks(w, gates: int):
    return np.split(np.asarray(w[...]), gates, axis=-1)


@pytest.mark.parametrize(
    ("name", "gates", "extra"),
    [("lstm", 4, dict(output_peephole="full")), ("gru", 3, {}), ("rnn", 1, {})],
)
def test_glorot_bounds_are_per_gate(name, gates, extra):
    """Each gate's [fan_in, H] block has bound sqrt(6/(fan_in + H)), not the fused kernel's
    sqrt(6/(fan_in + gates·H)) (for the input kernel that is half as large)."""
    wide = 256
    spec = task("copy", 3).spec  # no encoder: the first layer's fan_in is the vocabulary, 10
    model = build(name, spec, hidden=wide, layers=2, embed_dim=0, init="glorot_uniform", **extra)
    for index, layer in enumerate(model.layers):
        fan_in = spec.vocab_size if index == 0 else wide
        for block in gate_blocks(layer.w_ih, gates):
            assert_glorot(block, fan_in, wide)
        for block in gate_blocks(layer.w_hh, gates):
            assert_glorot(block, wide, wide)
        if name == "lstm":
            assert_glorot(layer.v_o[...], wide, wide)
            np.testing.assert_array_equal(layer.b[...], np.repeat([0.0, 1.0, 0.0, 0.0], wide))
    assert_glorot(model.readout.kernel[...], wide, spec.num_classes)
    np.testing.assert_array_equal(model.readout.bias[...], 0.0)


@pytest.mark.parametrize("task_name", ["copy", "adding"])
def test_glorot_encoder_with_embed_dim(task_name):
    spec = task(task_name, 3).spec
    model = build("lstm", spec, hidden=128, embed_dim=64, init="glorot_uniform")
    if task_name == "copy":
        assert_glorot(model.encoder.embedding[...], spec.vocab_size, 64)
    else:
        assert_glorot(model.encoder.kernel[...], spec.input_dim, 64)
        np.testing.assert_array_equal(model.encoder.bias[...], 0.0)
    for block in gate_blocks(model.layers[0].w_ih, 4):
        assert_glorot(block, 64, 128)


# ---------------------------------------------------------------- 3. the default init is unchanged


def fingerprint(w) -> float:
    """Σ_k (k+1)·w_k / n over the flattened array: changes with any value and with the order."""
    w = np.asarray(w, np.float64).ravel()
    return float((w * np.arange(1, w.size + 1)).sum() / w.size)


# build(name, task(task_name, 4).spec, seed=3, layers=2) at commit aae3726, before these options.
BEFORE = {
    ("lstm", "copy"): {
        "encoder/embedding": 1.242289,
        "layers/0/b": 3.125,
        "layers/0/w_hh": 0.248376,
        "layers/0/w_ih": 4.322847,
        "layers/1/b": 3.125,
        "layers/1/w_hh": -0.38976,
        "layers/1/w_ih": 0.120669,
        "readout/bias": 0.0,
        "readout/kernel": -2.755964,
    },
    ("lstm", "adding"): {
        "encoder/bias": 0.0,
        "encoder/kernel": -1.500218,
        "layers/0/b": 3.125,
        "layers/0/w_hh": -1.826704,
        "layers/0/w_ih": -0.14557,
        "layers/1/b": 3.125,
        "layers/1/w_hh": 1.699239,
        "layers/1/w_ih": -0.927902,
        "readout/bias": 0.0,
        "readout/kernel": -0.239407,
    },
    ("rnn", "copy"): {
        "encoder/embedding": 1.242289,
        "layers/0/b": 0.0,
        "layers/0/w_hh": 2.601693,
        "layers/0/w_ih": 0.75096,
        "layers/1/b": 0.0,
        "layers/1/w_hh": -0.46714,
        "layers/1/w_ih": -3.130784,
        "readout/bias": 0.0,
        "readout/kernel": -2.755964,
    },
    ("gru", "copy"): {
        "encoder/embedding": 1.242289,
        "layers/0/b": 0.0,
        "layers/0/b_hn": 0.0,
        "layers/0/w_hh": 0.063096,
        "layers/0/w_ih": 2.368008,
        "layers/1/b": 0.0,
        "layers/1/b_hn": 0.0,
        "layers/1/w_hh": 0.584736,
        "layers/1/w_ih": -4.338109,
        "readout/bias": 0.0,
        "readout/kernel": -2.755964,
    },
}


@pytest.mark.parametrize(("name", "task_name"), list(BEFORE), ids=str)
def test_default_init_is_unchanged(name, task_name):
    model = build(name, task(task_name, 4).spec, seed=3, layers=2)
    got = {
        "/".join(str(k) for k in path): fingerprint(v)
        for path, v in nnx.to_flat_state(nnx.state(model, nnx.Param))
    }
    assert got.keys() == BEFORE[name, task_name].keys()  # no new parameters by default
    for path, expected in BEFORE[name, task_name].items():
        # float32 rounding (another machine's QR for the orthogonal init) moves these by
        # ~1e-6; a different key or order moves them by O(1).
        assert got[path] == pytest.approx(expected, rel=1e-5, abs=1e-5), path


def test_default_init_output_peephole_starts_as_the_plain_lstm():
    """With the default init V_o starts at zero and no key is drawn for it: the same weights
    as `lstm` at the same seed, the same outputs; only training moves V_o."""
    t = task("copy", 3)
    plain = build("lstm", t.spec, seed=5)
    full = build("lstm", t.spec, seed=5, output_peephole="full")
    np.testing.assert_array_equal(full.layers[0].v_o[...], np.zeros((H, H)))
    for name in ("w_ih", "w_hh", "b"):
        np.testing.assert_array_equal(
            getattr(full.layers[0], name)[...], getattr(plain.layers[0], name)[...]
        )
    x = inputs_of(t, 3)
    np.testing.assert_allclose(apply(full, x), apply(plain, x), **TIGHT)
    set_param(full.layers[0].v_o, random_array(4, H, H))
    assert np.abs(np.asarray(apply(full, x) - apply(plain, x))).max() > 1e-3


# ---------------------------------------------------------------- 4. streaming == whole sequence

STREAMED = [
    ("lstm", dict(PAPER_LSTM, layers=2)),
    ("lstm", dict(PAPER, layers=2, residual=True, norm="layer", hoist_input=True)),
    ("rnn", dict(PAPER, layers=2)),
    ("rnn", dict(PAPER, irnn=True)),
    ("gru", dict(PAPER, layers=2)),
    ("peephole_lstm", dict(PAPER, layers=2)),
]


@pytest.mark.parametrize(("name", "overrides"), STREAMED, ids=str)
def test_streaming_equals_the_whole_sequence(name, overrides):
    copy, adding = task("copy", 2), task("adding", 6)
    model = build(name, copy.spec, **overrides)
    randomise(model, 30, biases=False)
    tokens = inputs_of(copy, 4)
    np.testing.assert_allclose(stream(model, tokens), apply(model, tokens), **FWD)
    # ...and the learned state is what both start from: zeroing it changes the outputs.
    before = np.asarray(apply(model, tokens))
    for layer in model.layers:
        for p in getattr(layer, "inner", layer).carry0:
            set_param(p, np.zeros(p[...].shape))
    assert np.abs(np.asarray(apply(model, tokens)) - before).max() > 1e-4

    model = build(name, adding.spec, **overrides)
    randomise(model, 31, biases=False)
    x = inputs_of(adding, 5)
    np.testing.assert_allclose(stream(model, x)[-1], apply(model, x), **FWD)


# ---------------------------------------------------------------- 5. bidirectional, hand backward


@pytest.mark.parametrize("name", ["bilstm", "bigru"])
def test_each_direction_learns_its_own_initial_state(name):
    model = build(name, task("adding", 6).spec, **PAPER)
    layer = model.layers[0]
    x = jnp.asarray(random_array(6, 6, B, 2))
    before = np.asarray(layer(x))
    for p in layer.backward.carry0:
        set_param(p, random_array(7, *p[...].shape))
    after = np.asarray(layer(x))
    np.testing.assert_array_equal(after[..., :H], before[..., :H])  # forward half untouched
    assert np.abs(after[..., H:] - before[..., H:]).max() > 1e-3


def test_hand_backward_with_learned_initial_state_equals_autodiff():
    """lstm_vjp returns the initial carry's cotangent, so backward=hand supports
    learn_initial_state (the gradient of the batch-broadcast state sums over the batch)."""
    copy = task("copy", 4)
    x = inputs_of(copy, 6)
    r = jnp.asarray(random_array(9, copy.spec.seq_len, B, copy.spec.num_classes))
    options = dict(PAPER, layers=2)
    hand = build("lstm", copy.spec, backward="hand", checkpoint_every=5, **options)
    ref = build("lstm", copy.spec, **options)
    for model in (hand, ref):
        randomise(model, 40)
    grad_of = nnx.jit(nnx.grad(weighted_sum_loss))
    grad, ref_grad = grad_of(hand, x, r), grad_of(ref, x, r)
    np.testing.assert_allclose(apply(hand, x), apply(ref, x), **TIGHT)
    for k in (0, 1):
        assert np.abs(np.asarray(ref_grad.layers[0].carry0[k][...])).max() > 1e-3
    for g, g_ref in zip(jax.tree.leaves(grad), jax.tree.leaves(ref_grad), strict=True):
        np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- 6. config, parameter counts


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(name="transformer", init="glorot_uniform"), "model.init=glorot_uniform does not"),
        (dict(name="gru", output_peephole="full"), "model.output_peephole=full does not apply"),
        (dict(name="peephole_lstm", output_peephole="full"), "output_peephole=full does not"),
        (dict(name="slstm", learn_initial_state=True), "learn_initial_state applies to"),
        (dict(output_peephole="full", backward="hand"), "no hand-written backward for model"),
    ],
)
def test_options_are_refused_where_they_do_not_apply(overrides, message):
    cfg = base_config()
    cfg.model.update(overrides)
    with pytest.raises(ConfigError, match=message) as e:
        validate(cfg)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(PAPER_LSTM, hidden=40),
        dict(PAPER_LSTM, name="bilstm", hidden=40),
        dict(PAPER, name="rnn", hidden=40),
        dict(PAPER, name="rnn", irnn=True),
        dict(PAPER, name="bigru"),
        dict(PAPER, backward="hand"),
    ],
    ids=str,
)
def test_paper_configs_validate(overrides):
    """The paper's options pass validation and reach the model built: its learned initial
    carry adds parameters to the same model without it."""
    cfg = base_config()
    cfg.task.name = "adding"  # scored at the last step: the bidirectional models apply
    cfg.model.update(overrides)
    validate(cfg)
    spec = task("adding", cfg.task.length).spec
    without = ml_collections.ConfigDict(cfg.model.to_dict())
    without.learn_initial_state = False
    assert count_params(cfg.model, spec) > count_params(without, spec)


def authors_lstm_count(n_input: int, n_hidden: int, n_output: int) -> int:
    """models.py's LSTM: W_* 4·(in, H), U_* and V_o 5·(H, H), b_* 4·H, h_0 and state_0 2·H,
    out_mat (H, out), out_bias."""
    i, h, o = n_input, n_hidden, n_output
    return 4 * i * h + 5 * h * h + 4 * h + 2 * h + h * o + o


def test_parameter_counts_equal_the_authors():
    assert authors_lstm_count(10, 40, 9) == 10_209  # their copy LSTM (9 output classes)
    copy = task("copy", 10).spec
    assert (copy.vocab_size, copy.num_classes) == (10, 10)
    lstm = count_params(model_cfg("lstm", **PAPER_LSTM, hidden=40), copy)
    assert lstm == authors_lstm_count(10, 40, 10) == 10_250
    # tanhRNN: V (in, H), W (H, H), hidden_bias, h_0, out_mat, out_bias
    rnn = count_params(model_cfg("rnn", **PAPER, hidden=128), copy)
    assert rnn == 10 * 128 + 128 * 128 + 2 * 128 + 128 * 10 + 10
