"""Bidirectional layers (`bilstm`, `bigru`, `model.bidirectional`): equivalence with
torch.nn.LSTM/GRU(bidirectional=True) for whole models on the adding task (merge concat and
sum, outputs and gradients), variable lengths against torch's packed sequences, config checks
(copy needs a causal model), and no streaming step.
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx

from seqlab.config import ConfigError, load
from seqlab.models.bidirectional import Bidirectional, reverse_within_lengths
from seqlab.models.gru import GRULayer
from seqlab.models.lstm import LSTMLayer
from seqlab.registry import MODELS, TASKS
from tests.models.common import FWD, GRAD, build, random_array, sample, set_param, task

T, B, D, H = 7, 3, 5, 8
E = 6  # embed_dim in tests.models.common.model_cfg
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TORCH_RNN = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
LAYER = {"lstm": LSTMLayer, "gru": GRULayer}


def tnp(p) -> np.ndarray:
    return p.detach().numpy()


def randomise(module: torch.nn.Module, seed: int) -> None:
    """Every torch parameter uniform in [-0.5, 0.5] (nonzero biases included)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.5, 0.5)


def copy_direction(layer, rnn: torch.nn.Module, suffix: str) -> None:
    """torch's weights for one layer/direction (suffix 'l0', 'l1_reverse', ...) -> our layer."""
    get = lambda name: tnp(getattr(rnn, f"{name}_{suffix}"))  # noqa: E731
    set_param(layer.w_ih, get("weight_ih").T)
    set_param(layer.w_hh, get("weight_hh").T)
    b_ih, b_hh = get("bias_ih"), get("bias_hh")
    if isinstance(layer, GRULayer):  # b_hr, b_hz fold into b; b_hn stays inside r ⊙ (...)
        set_param(layer.b, b_ih + np.concatenate([b_hh[: 2 * H], np.zeros(H, np.float32)]))
        set_param(layer.b_hn, b_hh[2 * H :])
    else:
        set_param(layer.b, b_ih + b_hh)


def assert_direction_grads(g_layer, rnn: torch.nn.Module, suffix: str) -> None:
    grad = lambda name: getattr(rnn, f"{name}_{suffix}").grad.numpy()  # noqa: E731
    np.testing.assert_allclose(g_layer.w_ih[...], grad("weight_ih").T, **GRAD)
    np.testing.assert_allclose(g_layer.w_hh[...], grad("weight_hh").T, **GRAD)
    np.testing.assert_allclose(g_layer.b[...], grad("bias_ih"), **GRAD)
    if hasattr(g_layer, "b_hn"):
        np.testing.assert_allclose(g_layer.b_hn[...], grad("bias_hh")[2 * H :], **GRAD)
    # (Not w_hh: read at t = T-1 only, the last layer's reverse direction has taken one step.)
    assert np.abs(g_layer.w_ih[...]).max() > 1e-3


def make_bidirectional(cell: str, in_features: int, merge: str = "concat") -> Bidirectional:
    rngs = nnx.Rngs(params=0)
    return Bidirectional(lambda: LAYER[cell](in_features, H, rngs=rngs), merge)


# ---------------------------------------------------------------- 1. whole model, adding task


@pytest.mark.parametrize(
    "name, merge", [("bilstm", "concat"), ("bigru", "concat"), ("bigru", "sum")]
)
def test_model_matches_torch_bidirectional_on_adding(name, merge):
    """bi* with 2 layers == torch Linear -> {LSTM,GRU}(2, bidirectional) -> Linear at t = T-1."""
    adding = task("adding", T)
    assert adding.spec.scored == "last"
    model = build(name, adding.spec, layers=2, merge=merge)
    width = 2 * H if merge == "concat" else H
    assert [layer.out_features for layer in model.layers] == [width, width]

    cell = name[2:]
    encoder = torch.nn.Linear(2, E)
    readout = torch.nn.Linear(width, 1)
    if merge == "concat":
        rnn = TORCH_RNN[cell](E, H, num_layers=2, bidirectional=True)
        layer_rnns = [(rnn, "l0"), (rnn, "l1")]
        torch_backbone = lambda h: rnn(h)[0]  # noqa: E731
    else:  # torch only concatenates: a sum stack is two 1-layer bidirectional modules
        rnn = torch.nn.ModuleList(
            [TORCH_RNN[cell](E, H, bidirectional=True), TORCH_RNN[cell](H, H, bidirectional=True)]
        )
        layer_rnns = [(rnn[0], "l0"), (rnn[1], "l0")]

        def torch_backbone(h):
            for m in rnn:
                out = m(h)[0]
                h = out[..., :H] + out[..., H:]
            return h

    for n, m in enumerate((encoder, rnn, readout)):
        randomise(m, n)

    set_param(model.encoder.kernel, tnp(encoder.weight).T)
    set_param(model.encoder.bias, tnp(encoder.bias))
    for layer, (m, suffix) in zip(model.layers, layer_rnns, strict=True):
        copy_direction(layer.forward, m, suffix)
        copy_direction(layer.backward, m, f"{suffix}_reverse")
    set_param(model.readout.kernel, tnp(readout.weight).T)
    set_param(model.readout.bias, tnp(readout.bias))

    inputs = sample(adding, 0, B).inputs  # [T, B, 2]
    r_np = random_array(1, B, 1)

    pred_t = readout(torch_backbone(encoder(torch.from_numpy(np.array(inputs))))[-1])
    (pred_t * torch.from_numpy(r_np)).sum().backward()

    r = jnp.asarray(r_np)
    loss = lambda m: jnp.sum(m(inputs) * r)  # noqa: E731
    pred, g = nnx.jit(lambda m: (m(inputs), nnx.grad(loss)(m)))(model)

    assert pred.shape == (B, 1)
    np.testing.assert_allclose(pred, tnp(pred_t), **FWD)
    np.testing.assert_allclose(g.encoder.kernel[...], encoder.weight.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(g.encoder.bias[...], encoder.bias.grad.numpy(), **GRAD)
    for l, (m, suffix) in enumerate(layer_rnns):
        assert_direction_grads(g.layers[l].forward, m, suffix)
        assert_direction_grads(g.layers[l].backward, m, f"{suffix}_reverse")
    np.testing.assert_allclose(g.readout.kernel[...], readout.weight.grad.numpy().T, **GRAD)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_layer_merge_sum_is_the_sum_of_torch_directions(cell):
    rnn = TORCH_RNN[cell](D, H, bidirectional=True)
    randomise(rnn, 3)
    layer = make_bidirectional(cell, D, merge="sum")
    copy_direction(layer.forward, rnn, "l0")
    copy_direction(layer.backward, rnn, "l0_reverse")
    x_np = random_array(4, T, B, D)
    out = tnp(rnn(torch.from_numpy(x_np))[0])
    fwd, bwd = out[..., :H], out[..., H:]
    y = np.asarray(layer(jnp.asarray(x_np)))
    np.testing.assert_allclose(y, fwd + bwd, **FWD)
    assert np.abs(y - fwd).max() > 1e-2 and np.abs(y - bwd).max() > 1e-2


# ---------------------------------------------------------------- 2. variable lengths


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_variable_lengths_match_torch_packed_sequences(cell):
    lengths_np = np.array([T, 4, 2])
    rnn = TORCH_RNN[cell](D, H, bidirectional=True)
    randomise(rnn, 5)
    layer = make_bidirectional(cell, D)
    copy_direction(layer.forward, rnn, "l0")
    copy_direction(layer.backward, rnn, "l0_reverse")
    x_np = random_array(6, T, B, D)  # the padding is random too: it must not leak in
    valid = np.arange(T)[:, None] < lengths_np[None, :]  # [T, B]
    r_np = random_array(7, T, B, 2 * H) * valid[..., None]

    x_t = torch.from_numpy(x_np).requires_grad_(True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x_t, torch.from_numpy(lengths_np), enforce_sorted=False
    )
    y_t, _ = torch.nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], total_length=T)
    (y_t * torch.from_numpy(r_np)).sum().backward()

    x, r, lengths = jnp.asarray(x_np), jnp.asarray(r_np), jnp.asarray(lengths_np)
    loss = lambda m, x: jnp.sum(m(x, lengths) * r)  # noqa: E731
    y, g_x = nnx.jit(lambda m, x: (m(x, lengths), nnx.grad(loss, argnums=1)(m, x)))(layer, x)

    y, y_ref = np.asarray(y), tnp(y_t)
    np.testing.assert_allclose(y[valid], y_ref[valid], **FWD)
    np.testing.assert_allclose(g_x, x_t.grad.numpy(), **GRAD)  # zero on padding for both
    np.testing.assert_array_equal(np.asarray(g_x)[~valid], 0.0)
    # Reversing the padded sequence instead would differ for the short ones.
    y_plain = np.asarray(layer(x))
    short = valid & (lengths_np[None, :] < T)
    assert np.abs(y_plain[short][:, H:] - y_ref[short][:, H:]).min() > 1e-6


def test_reverse_within_lengths():
    x = jnp.arange(T * B).reshape(T, B)
    lengths = jnp.array([T, 4, 1])
    y = np.asarray(reverse_within_lengths(x, lengths))
    np.testing.assert_array_equal(y[:, 0], np.asarray(x[::-1, 0]))
    np.testing.assert_array_equal(y[:4, 1], np.asarray(x[3::-1, 1]))
    np.testing.assert_array_equal(y[4:, 1], np.asarray(x[4:, 1]))
    np.testing.assert_array_equal(y[:, 2], np.asarray(x[:, 2]))
    np.testing.assert_array_equal(reverse_within_lengths(jnp.asarray(y), lengths), x)


# ---------------------------------------------------------------- 3. configs, streaming


@pytest.mark.parametrize(
    "overrides, unidirectional",
    [
        ([("model.name", "bilstm")], "lstm"),
        ([("model.name", "bigru")], "gru"),
        ([("model.name", "gru"), ("model.bidirectional", "true")], "gru"),
    ],
    ids=["bilstm", "bigru", "gru-bidirectional"],
)
def test_copy_refuses_bidirectional_models(overrides, unidirectional):
    with pytest.raises(ConfigError, match="causal"):
        load(str(CONFIGS / "copy.py") + ":fast", overrides)
    # ...while the same config with the unidirectional cell is fine.
    assert load(str(CONFIGS / "copy.py") + ":fast", [("model.name", unidirectional)]).model.name


def test_bidirectional_gru_builds_on_adding():
    cfg = load(
        str(CONFIGS / "adding.py") + ":fast",
        [
            ("model.name", "gru"),
            ("model.bidirectional", "true"),
            ("model.hidden", str(H)),
            ("task.length", str(T)),
        ],
    )
    spec = TASKS.get(cfg.task.name)(cfg.task).spec
    model = MODELS.get(cfg.model.name)(cfg.model, spec, nnx.Rngs(params=0))
    layer = model.layers[0]
    assert isinstance(layer, Bidirectional) and isinstance(layer.backward, GRULayer)
    assert layer.out_features == 2 * H
    inputs = sample(task("adding", T), 0, B).inputs
    out = np.asarray(model(inputs))
    assert out.shape == (B, 1) and np.isfinite(out).all() and np.abs(out).max() > 0


@pytest.mark.parametrize("name", ["bilstm", "bigru"])
def test_bidirectional_has_no_streaming_step(name):
    model = build(name, task("adding", T).spec)
    with pytest.raises(NotImplementedError, match="reverse direction"):
        model.initial_state(B)
    with pytest.raises(NotImplementedError, match="reverse direction"):
        model.layers[0].step(None, jnp.zeros((B, E)))
