"""The 1997 LSTM (Hochreiter & Schmidhuber): equal to an independent NumPy implementation of
the paper's equations (per-cell and per-gate arrays, loops over blocks) on adding_1997 batches
of variable length; the paper's 93 weights and the count formula; the initialisation; the
truncated gradient against a reference that feeds a(t-1) in as data (and unlike the full
gradient); streaming == whole sequence; jit; the config's refusals.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads

from seqlab.config import ConfigError
from seqlab.models.lstm1997 import LSTM1997, lstm1997_cell
from seqlab.models.recurrence import step
from seqlab.models.sizing import count_params, resolve
from tests.conftest import small_config
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
)

T = 30  # adding_1997 needs T >= 24; sequences are 30..33 steps
B = 5


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def paper_model(hidden: int = 4, heads: int = 2, seed: int = 0, scale: float | None = 0.7):
    """lstm1997 on adding_1997; `scale`: random N(0, scale²) weights instead of the paper's init
    (the paper's tiny weights hardly move the output, which would make comparisons weak)."""
    model = build("lstm1997", task("adding_1997", T).spec, seed, hidden=hidden, heads=heads)
    if scale is not None:
        layer = model.layers[0]
        for n, p in enumerate((layer.w_ih, layer.w_hh, layer.b, model.readout.kernel)):
            set_param(p, random_array(seed + 10 + n, *p[...].shape, scale=scale))
    return model


def weights(model) -> dict[str, np.ndarray]:
    layer = model.layers[0]
    return dict(
        w_ih=np.asarray(layer.w_ih[...]),
        w_hh=np.asarray(layer.w_hh[...]),
        b=np.asarray(layer.b[...]),
        w_out=np.asarray(model.readout.kernel[...]),
        b_out=np.asarray(model.readout.bias[...]),
    )


def numpy_lstm1997(
    x, lengths, w_ih, w_hh, b, w_out, b_out, *, blocks, gates_feed_back=True, round_robin=False
):
    """Float64 NumPy from the paper's equations, one cell and one gate at a time.

    seqlab's layout of the hidden units (columns of w_ih, w_hh, b): the cells block by block,
    then the input gates, then the output gates. Returns (y_c [T, B, cells], output [B, 1]).
    Wrong variants, to show the comparison can fail: `gates_feed_back=False` leaves the gates'
    activations out of a(t-1); `round_robin=True` puts cell j + blocks·m in block j.
    """
    x = np.asarray(x, np.float64)
    n_steps, batch = x.shape[:2]
    cells = w_hh.shape[0] - 2 * blocks
    size = cells // blocks
    unit = (lambda j, m: j + blocks * m) if round_robin else (lambda j, m: j * size + m)
    order = [unit(j, m) for j in range(blocks) for m in range(size)]  # (j, m) -> cell column
    s = np.zeros((blocks, size, batch))  # cell states (the constant error carousels)
    y_c = np.zeros((blocks, size, batch))
    y_in = np.zeros((blocks, batch))
    y_out = np.zeros((blocks, batch))
    outs = np.zeros((n_steps, batch, cells))
    for t in range(n_steps):
        gates_prev = [y_in, y_out] if gates_feed_back else [np.zeros_like(y_in)] * 2
        cells_prev = np.zeros((cells, batch))
        cells_prev[order] = y_c.reshape(cells, batch)
        a_prev = np.concatenate([cells_prev, *gates_prev]).T  # [B, units]

        def net(unit, t=t, a_prev=a_prev):
            return x[t] @ w_ih[:, unit] + a_prev @ w_hh[:, unit] + b[unit]

        new_y_c, new_y_in, new_y_out = np.zeros_like(y_c), np.zeros_like(y_in), np.zeros_like(y_out)
        for j in range(blocks):
            new_y_in[j] = sigmoid(net(cells + j))
            new_y_out[j] = sigmoid(net(cells + blocks + j))
            for m in range(size):
                g = 4.0 * sigmoid(net(unit(j, m))) - 2.0
                s[j, m] = s[j, m] + new_y_in[j] * g  # no forget gate
                new_y_c[j, m] = new_y_out[j] * (2.0 * sigmoid(s[j, m]) - 1.0)
        y_c, y_in, y_out = new_y_c, new_y_in, new_y_out
        outs[t, :, order] = y_c.reshape(cells, batch)
    last = outs[np.asarray(lengths) - 1, np.arange(batch)]
    return outs, sigmoid(last @ w_out + b_out)


# ---------------------------------------------------------------- 1. NumPy reference


@pytest.mark.parametrize("hidden,heads", [(4, 2), (6, 3), (6, 2), (3, 1)])
def test_matches_numpy_reference_on_variable_length_batches(hidden, heads):
    model = paper_model(hidden, heads, seed=hidden + heads)
    batch = sample(task("adding_1997", T), 1, B)
    lengths = np.asarray(batch.lengths)
    assert len(set(lengths)) > 1  # the batch really has several lengths
    y_c, expected = numpy_lstm1997(batch.inputs, lengths, **weights(model), blocks=heads)
    np.testing.assert_allclose(apply(model, batch.inputs, batch.lengths), expected, **FWD)
    np.testing.assert_allclose(model.backbone(batch.inputs), y_c, **FWD)
    # Read at each sequence's own last step, not at the padded end.
    assert np.abs(model(batch.inputs) - expected).max() > 1e-4
    # The gates' activations are part of a(t-1): leaving them out changes the outputs.
    _, wrong = numpy_lstm1997(
        batch.inputs, lengths, **weights(model), blocks=heads, gates_feed_back=False
    )
    assert np.abs(wrong - expected).max() > 1e-3


def test_matches_numpy_reference_at_the_paper_init():
    model = paper_model(scale=None)
    batch = sample(task("adding_1997", T), 2, B)
    _, expected = numpy_lstm1997(batch.inputs, batch.lengths, **weights(model), blocks=2)
    np.testing.assert_allclose(apply(model, batch.inputs, batch.lengths), expected, **FWD)


def test_block_membership_matters():
    """Cells of one block share its gates: with cells assigned to blocks round-robin instead
    of block by block, the same weights give different outputs."""
    model = paper_model(6, 3, seed=3)
    batch = sample(task("adding_1997", T), 3, B)
    w = weights(model)
    _, expected = numpy_lstm1997(batch.inputs, batch.lengths, **w, blocks=3)
    _, wrong = numpy_lstm1997(batch.inputs, batch.lengths, **w, blocks=3, round_robin=True)
    assert np.abs(wrong - expected).max() > 1e-3
    np.testing.assert_allclose(apply(model, batch.inputs, batch.lengths), expected, **FWD)


def test_regression_output_is_logistic_and_cells_are_bounded():
    model = paper_model(seed=4, scale=3.0)
    batch = sample(task("adding_1997", T), 4, 64)
    out = np.asarray(apply(model, batch.inputs, batch.lengths))
    assert (out > 0).all() and (out < 1).all() and out.std() > 0.05
    y_c = np.asarray(model.backbone(batch.inputs))
    assert np.abs(y_c).max() <= 1.0 and np.abs(y_c).max() > 0.5  # h ∈ [-1, 1], gates ∈ [0, 1]


# ---------------------------------------------------------------- 2. parameters and init


def expected_count(cells: int, blocks: int, inputs: int, outputs: int) -> int:
    units = cells + 2 * blocks
    return units * (inputs + units + 1) + outputs * (cells + 1)


def test_paper_net_has_93_weights():
    spec = task("adding_1997", 100).spec
    cfg = model_cfg("lstm1997", hidden=4, heads=2)
    assert count_params(cfg, spec) == 93 == expected_count(4, 2, 2, 1)
    paper = resolve(model_cfg("lstm1997", size="paper", hidden=128, heads=4, layers=1), spec)
    assert (paper.hidden, paper.heads) == (4, 2) and count_params(paper, spec) == 93
    # embed_dim builds nothing: the input units are the task's inputs.
    assert count_params(model_cfg("lstm1997", hidden=4, heads=2, embed_dim=64), spec) == 93


@pytest.mark.parametrize(
    "hidden,heads,task_name",
    [(6, 3, "adding_1997"), (8, 2, "adding"), (12, 4, "copy"), (5, 1, "adding_1997")],
)
def test_parameter_count_formula(hidden, heads, task_name):
    spec = task(task_name, 30).spec
    inputs = spec.vocab_size if spec.input_kind == "tokens" else spec.input_dim
    expected = expected_count(hidden, heads, inputs, spec.out_features)
    assert count_params(model_cfg("lstm1997", hidden=hidden, heads=heads), spec) == expected


@pytest.mark.parametrize("heads", [1, 2, 3])
def test_initialisation(heads):
    model = build("lstm1997", task("adding_1997", T).spec, 7, hidden=2 * heads, heads=heads)
    layer = model.layers[0]
    cells = 2 * heads
    b = np.asarray(layer.b[...])
    np.testing.assert_array_equal(b[cells : cells + heads], -3.0 * np.arange(1, heads + 1))
    others = [
        layer.w_ih[...],
        layer.w_hh[...],
        np.delete(b, np.arange(cells, cells + heads)),
        model.readout.kernel[...],
        model.readout.bias[...],
    ]
    values = np.concatenate([np.ravel(np.asarray(v)) for v in others])
    assert np.abs(values).max() <= 0.1
    # uniform over the whole range, not a narrower or constant draw
    assert values.min() < -0.07 and values.max() > 0.07 and len(np.unique(values)) == len(values)


def test_cells_must_split_into_blocks():
    spec = task("adding_1997", T).spec
    with pytest.raises(ValueError, match=r"model\.hidden=5 cells must split evenly"):
        build("lstm1997", spec, hidden=5, heads=2)
    with pytest.raises(ConfigError, match="must be a multiple of 2"):
        small_config(**{"model.name": "lstm1997", "model.hidden": 5, "model.heads": 2})
    with pytest.raises(ConfigError, match="single layer"):
        small_config(**{"model.name": "lstm1997", "model.heads": 2, "model.layers": 2})
    paper = {"model.name": "lstm1997", "model.size": "paper", "task.name": "adding_1997"}
    cfg = small_config(**paper, **{"task.length": 100})
    assert (cfg.model.name, cfg.model.size) == ("lstm1997", "paper")


# ---------------------------------------------------------------- 3. truncated gradient


def jnp_lstm1997(p, x, lengths, *, blocks, a_given=None):
    """jnp forward pass; with `a_given` [T, B, units] the previous activations a(t-1) are read
    from that array (data) instead of the recurrence: the paper's truncation by hand, as
    differentiating it sends no error back through a(t-1), only through s_c."""
    cells = p["w_hh"].shape[0] - 2 * blocks
    member = np.kron(np.eye(blocks), np.ones((1, cells // blocks)))  # [blocks, cells]
    s = jnp.zeros((x.shape[1], cells))
    a = jnp.zeros((x.shape[1], cells + 2 * blocks))
    ys, acts = [], []
    for t in range(x.shape[0]):
        a_prev = a if a_given is None else (a_given[t - 1] if t else jnp.zeros_like(a))
        net = x[t] @ p["w_ih"] + a_prev @ p["w_hh"] + p["b"]
        y_in = jax.nn.sigmoid(net[:, cells : cells + blocks])
        y_out = jax.nn.sigmoid(net[:, cells + blocks :])
        s = s + (y_in @ member) * (4 * jax.nn.sigmoid(net[:, :cells]) - 2)
        y_c = (y_out @ member) * (2 * jax.nn.sigmoid(s) - 1)
        a = jnp.concatenate([y_c, y_in, y_out], axis=1)
        ys.append(y_c)
        acts.append(a)
    last = jnp.stack(ys)[lengths - 1, jnp.arange(x.shape[1])]
    return jax.nn.sigmoid(last @ p["w_out"] + p["b_out"]), jnp.stack(acts)


def test_gradient_is_the_papers_truncated_gradient():
    model = paper_model(seed=5)
    batch = sample(task("adding_1997", T), 5, B)
    x, lengths = batch.inputs, batch.lengths
    p = {k: jnp.asarray(v) for k, v in weights(model).items()}
    graphdef, state = nnx.split(model)

    def ours(state, x):
        return nnx.merge(graphdef, state)(x, lengths).sum()

    g_state, g_x = jax.jit(jax.grad(ours, argnums=(0, 1)))(state, x)
    _, acts = jnp_lstm1997(p, x, lengths, blocks=2)

    def truncated(p, x):
        return jnp_lstm1997(p, x, lengths, blocks=2, a_given=acts)[0].sum()

    def full(p, x):
        return jnp_lstm1997(p, x, lengths, blocks=2)[0].sum()

    want_p, want_x = jax.grad(truncated, argnums=(0, 1))(p, x)
    np.testing.assert_allclose(g_x, want_x, **GRAD)
    layer = g_state["layers"][0]
    for ours_g, key in [(layer["w_ih"], "w_ih"), (layer["w_hh"], "w_hh"), (layer["b"], "b")]:
        np.testing.assert_allclose(ours_g[...], want_p[key], **GRAD, err_msg=key)
    np.testing.assert_allclose(g_state["readout"]["kernel"][...], want_p["w_out"], **GRAD)

    # The error reaches early inputs (through the carousels) ...
    early = slice(0, 10)
    assert np.abs(np.asarray(g_x)[early]).max() > 1e-4
    # ... and differs from full backpropagation through time there, so the truncation is real.
    full_p, full_x = jax.grad(full, argnums=(0, 1))(p, x)
    diff = np.abs(np.asarray(full_x - g_x)[early]).max()
    assert diff > 0.05 * np.abs(np.asarray(full_x)[early]).max(), diff
    assert np.abs(np.asarray(full_p["w_hh"] - layer["w_hh"][...])).max() > 1e-3
    # Inputs after a sequence's last step get no gradient.
    for b, n in enumerate(np.asarray(lengths)):
        np.testing.assert_array_equal(np.asarray(g_x)[n:, b], 0.0)


def test_cell_step_gradients_float64():
    """check_grads of one step w.r.t. the weights and x_t (the carry is data: the truncation
    makes its gradient zero by design, which finite differences would not see)."""
    with jax.enable_x64(True):
        blocks, cells, d = 2, 4, 3
        units = cells + 2 * blocks
        params = {
            "w_ih": jnp.asarray(random_array(80, d, units), jnp.float64),
            "w_hh": jnp.asarray(random_array(81, units, units), jnp.float64),
            "b": jnp.asarray(random_array(82, units), jnp.float64),
        }
        carry = (
            jnp.asarray(random_array(83, 2, cells), jnp.float64),
            jnp.asarray(sigmoid(random_array(84, 2, units)), jnp.float64),
        )
        x = jnp.asarray(random_array(85, 2, d), jnp.float64)
        cell = lstm1997_cell(blocks)

        def cell_step(p, s, x_t):
            return step(cell, p, (s, carry[1]), x_t)

        assert cell_step(params, carry[0], x)[1].dtype == jnp.float64
        check_grads(cell_step, (params, carry[0], x), order=2, modes=("rev",))
        # The previous activations get no gradient; the previous cell state gets the identity.
        g_a = jax.grad(lambda a: step(cell, params, (carry[0], a), x)[0][0].sum())(carry[1])
        np.testing.assert_array_equal(g_a, 0.0)
        g_s = jax.grad(lambda s: step(cell, params, (s, carry[1]), x)[0][0].sum())(carry[0])
        np.testing.assert_array_equal(g_s, 1.0)


# ---------------------------------------------------------------- 4. streaming, jit, copy


def test_streaming_step_equals_whole_sequence():
    model = paper_model(seed=6)
    batch = sample(task("adding_1997", T), 6, B)
    per_step = stream(model, batch.inputs)  # [T, B, 1]
    lengths = np.asarray(batch.lengths)
    at_last = np.asarray(per_step)[lengths - 1, np.arange(B)]
    np.testing.assert_allclose(at_last, apply(model, batch.inputs, batch.lengths), **TIGHT)
    assert np.abs(np.asarray(per_step)[-1] - at_last).max() > 1e-4  # the padding moves it


@pytest.mark.parametrize("task_name", ["adding_1997", "copy"])
def test_shapes_finite_jit_and_eager(task_name):
    t = task(task_name, T)
    model = build("lstm1997", t.spec, 8, hidden=6, heads=3)
    batch = sample(t, 7, 3)
    eager = model(batch.inputs, batch.lengths)
    jitted = apply(model, batch.inputs, batch.lengths)
    want = (3, 1) if t.spec.scored == "last" else (t.spec.seq_len, 3, t.spec.out_features)
    assert eager.shape == jitted.shape == want
    assert np.isfinite(np.asarray(eager)).all()
    np.testing.assert_allclose(jitted, eager, **TIGHT)
    if t.spec.scored == "every":  # classification: linear logits, not squashed to [0, 1]
        np.testing.assert_allclose(stream(model, batch.inputs), jitted, **TIGHT)
        logits = model.readout(model.backbone(model.encode(batch.inputs)))
        np.testing.assert_array_equal(jitted, logits)


def test_bidirectional_doubles_the_layer():
    spec = task("adding_1997", T).spec
    cfg = model_cfg("lstm1997", hidden=4, heads=2, bidirectional=True)
    assert count_params(cfg, spec) == 2 * 88 + 8 + 1
    model = LSTM1997(cfg, spec, rngs=nnx.Rngs(params=0))
    batch = sample(task("adding_1997", T), 8, B)
    assert apply(model, batch.inputs, batch.lengths).shape == (B, 1)
    with pytest.raises(NotImplementedError):
        model.initial_state(B)
