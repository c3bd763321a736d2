"""LRU: equivalence with the lru-pytorch package's LRU (outputs and every gradient), the
paper's ring initialisation, scan == associative == chunked == streaming step in float32 and
float64 (complex128), parameter counts, causality.

Weight map onto lru-pytorch 0.1.3 (LRU_pytorch/LRU.py): nu_log, theta_log, gamma_log as they
are; its B [N, in] complex = (b_re + i·b_im)ᵀ; C [H, N] = (c_re + i·c_im)ᵀ; its D is always a
matrix [H, in]: dᵀ for our matrix D (in ≠ H), diag(d) for our vector D (in == H, the paper's).
torch's gradient of a complex parameter is ∂L/∂Re + i·∂L/∂Im, so its real and imaginary parts
are the gradients of our real and imaginary parts. Tolerances: common.FWD and GRAD (float32);
the two sides sum the same terms in another order, nothing more.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from LRU_pytorch import LRU as TorchLRU
from scipy import stats

from seqlab.config import base_config
from seqlab.models.linear_recurrence import as_cell, run_linear
from seqlab.models.lru import LRU, LRULayer, lru_lambda, ring_init
from seqlab.models.recurrence import step
from seqlab.models.sizing import count_params
from seqlab.registry import TASKS
from tests.models.common import (
    FWD,
    GRAD,
    apply,
    assert_module_causal,
    assert_streams_like_whole_sequence,
    build,
    model_cfg,
    random_array,
    sample,
    set_param,
    value_and_grads,
)

T, B, D, H, N = 7, 3, 4, 5, 6
F32 = dict(rtol=1e-5, atol=1e-5)
# jitted: eager parallel scans dispatch hundreds of small ops, slower than one compile
run = jax.jit(run_linear, static_argnums=0, static_argnames=("form", "chunk_size"))
call = nnx.jit(lambda layer, x: layer(x))
F64 = dict(rtol=1e-12, atol=1e-12)


def task(name: str, length: int):
    """A task from the full default task config (common.task's two-field config lacks the
    fields copy now reads, e.g. task.memorize)."""
    cfg = base_config().task
    cfg.update(dict(name=name, length=length))
    return TASKS.get(name)(cfg)


def copy_from_torch(ref: TorchLRU, layer: LRULayer) -> None:
    for name in ("nu_log", "theta_log", "gamma_log"):
        set_param(getattr(layer, name), getattr(ref, name))
    b, c = ref.B.detach().numpy(), ref.C.detach().numpy()
    set_param(layer.b_re, b.real.T)
    set_param(layer.b_im, b.imag.T)
    set_param(layer.c_re, c.real.T)
    set_param(layer.c_im, c.imag.T)
    d = ref.D.detach().numpy()
    set_param(layer.d, np.diag(d) if layer.d[...].ndim == 1 else d.T)


@pytest.mark.parametrize("in_features", [D, H], ids=["matrix_D", "paper_diagonal_D"])
def test_matches_lru_pytorch(in_features):
    torch.manual_seed(0)
    ref = TorchLRU(in_features, H, N, rmin=0.5, rmax=0.95, max_phase=3.0)
    if in_features == H:  # our D is diagonal: give torch's matrix D that diagonal only
        with torch.no_grad():
            ref.D.copy_(torch.diag(torch.randn(H)))
    layer = LRULayer(in_features, H, rngs=nnx.Rngs(params=0), state_dim=N)
    copy_from_torch(ref, layer)
    x_np, r_np = random_array(1, T, B, in_features), random_array(2, T, B, H)

    x_t = torch.from_numpy(x_np.transpose(1, 0, 2).copy()).requires_grad_(True)  # batch-first
    y_t = ref(x_t)
    (y_t * torch.from_numpy(r_np.transpose(1, 0, 2).copy())).sum().backward()
    y, (g, g_x) = value_and_grads(layer, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, y_t.detach().numpy().transpose(1, 0, 2), **FWD)
    np.testing.assert_allclose(g_x, x_t.grad.numpy().transpose(1, 0, 2), **GRAD)
    for name in ("nu_log", "theta_log", "gamma_log"):
        np.testing.assert_allclose(getattr(g, name)[...], getattr(ref, name).grad, **GRAD)
        assert np.abs(getattr(ref, name).grad.numpy()).min() > 1e-4, name  # every λ is used
    np.testing.assert_allclose(g.b_re[...], ref.B.grad.real.T, **GRAD)
    np.testing.assert_allclose(g.b_im[...], ref.B.grad.imag.T, **GRAD)
    np.testing.assert_allclose(g.c_re[...], ref.C.grad.real.T, **GRAD)
    np.testing.assert_allclose(g.c_im[...], ref.C.grad.imag.T, **GRAD)
    d_grad = ref.D.grad.numpy()
    np.testing.assert_allclose(g.d[...], np.diag(d_grad) if in_features == H else d_grad.T, **GRAD)


def test_a_wrong_phase_or_normalisation_is_detected():
    """Conjugate λ (phase sign) or a dropped γ both break the torch match."""
    torch.manual_seed(1)
    ref = TorchLRU(D, H, N, rmin=0.5, rmax=0.95, max_phase=3.0)
    layer = LRULayer(D, H, rngs=nnx.Rngs(params=0), state_dim=N)
    copy_from_torch(ref, layer)
    x = random_array(3, T, B, D)
    y_t = ref(torch.from_numpy(x.transpose(1, 0, 2).copy())).detach().numpy().transpose(1, 0, 2)
    np.testing.assert_allclose(layer(jnp.asarray(x)), y_t, **FWD)
    layer.b_im[...] = -layer.b_im[...]
    layer.c_im[...] = -layer.c_im[...]  # conj(B), conj(C): the same model only if λ is real
    assert np.abs(np.asarray(layer(jnp.asarray(x))) - y_t).max() > 1e-2
    layer.b_im[...], layer.c_im[...] = -layer.b_im[...], -layer.c_im[...]
    layer.gamma_log[...] = jnp.zeros(N)
    assert np.abs(np.asarray(layer(jnp.asarray(x))) - y_t).max() > 1e-2


# ---------------------------------------------------------------- initialisation


def test_ring_init_is_uniform_by_area_on_the_ring():
    r_min, r_max, max_phase = 0.4, 0.9, np.pi / 2
    nu_log, theta_log, gamma_log = ring_init(jax.random.key(0), 4096, r_min, r_max, max_phase)
    lam = np.asarray(lru_lambda(dict(nu_log=nu_log, theta_log=theta_log)))
    modulus, phase = np.abs(lam), np.angle(lam)
    assert modulus.min() >= r_min - 1e-6 and modulus.max() <= r_max + 1e-6
    assert phase.min() >= 0 and phase.max() <= max_phase + 1e-6
    # |λ|² uniform on [r_min², r_max²] (uniform by area); |λ| itself is not uniform
    assert stats.kstest(modulus**2, stats.uniform(r_min**2, r_max**2 - r_min**2).cdf).pvalue > 1e-3
    assert stats.kstest(modulus, stats.uniform(r_min, r_max - r_min).cdf).pvalue < 1e-6
    assert stats.kstest(phase, stats.uniform(0, max_phase).cdf).pvalue > 1e-3
    np.testing.assert_allclose(np.exp(gamma_log), np.sqrt(1 - modulus**2), rtol=1e-5)


def test_layer_init_matches_the_paper():
    """Defaults r_min 0, r_max 1, max_phase 6.28; B ~ N(0, 1/(2 in)) per part, C ~ N(0, 1/N),
    D ~ N(0, 1) (diagonal) or N(0, 1/in) (matrix)."""
    wide, n = 64, 512
    layer = LRULayer(wide, wide, rngs=nnx.Rngs(params=0), state_dim=n)
    lam = np.asarray(lru_lambda(layer.params()))
    assert np.abs(lam).max() < 1 and np.abs(lam).min() < 0.1  # the full disc
    assert np.angle(lam).min() < -3.0 and np.angle(lam).max() > 3.0  # phases up to 6.28
    std = lambda p: float(np.std(np.asarray(p[...])))  # noqa: E731
    np.testing.assert_allclose(std(layer.b_re), 1 / np.sqrt(2 * wide), rtol=0.05)
    np.testing.assert_allclose(std(layer.b_im), 1 / np.sqrt(2 * wide), rtol=0.05)
    np.testing.assert_allclose(std(layer.c_re), 1 / np.sqrt(n), rtol=0.05)
    np.testing.assert_allclose(std(layer.c_im), 1 / np.sqrt(n), rtol=0.05)
    assert layer.d[...].shape == (wide,)
    np.testing.assert_allclose(std(layer.d), 1.0, rtol=0.25)
    matrix = LRULayer(16, wide, rngs=nnx.Rngs(params=0), state_dim=n)
    assert matrix.d[...].shape == (16, wide)
    np.testing.assert_allclose(std(matrix.d), 1 / 4, rtol=0.1)


def test_ring_options_are_checked():
    with pytest.raises(ValueError, match=r"r_min < model\.r_max"):
        LRULayer(D, H, rngs=nnx.Rngs(params=0), r_min=0.9, r_max=0.5)
    with pytest.raises(ValueError, match="max_phase must be > 0"):
        LRULayer(D, H, rngs=nnx.Rngs(params=0), max_phase=0.0)
    with pytest.raises(ValueError, match="scan_form=log needs positive"):
        LRULayer(D, H, rngs=nnx.Rngs(params=0), form="log")


# ---------------------------------------------------------------- forms and streaming


def stepped(cell, params, x, h):
    ys = []
    for t in range(x.shape[0]):
        h, y = step(cell, params, h, x[t])
        ys.append(y)
    return h, jnp.stack(ys)


def test_forms_equal_streaming_step_float32():
    layer = LRULayer(D, H, rngs=nnx.Rngs(params=3), state_dim=N, r_min=0.8, r_max=0.99)
    x = jnp.asarray(random_array(4, 3 * T, B, D))
    h_last, expected = stepped(layer.cell, layer.params(), x, layer.initial_state(B))
    assert h_last.dtype == jnp.complex64 and h_last.shape == (B, N)
    for form in ("scan", "associative", "chunked"):
        layer.form, layer.chunk_size = form, 4
        np.testing.assert_allclose(call(layer, x), expected, **F32, err_msg=form)
    assert np.abs(np.asarray(expected[-1])).max() > 1e-2


def test_forms_equal_streaming_step_float64():
    with jax.enable_x64(True):
        layer = LRULayer(D, H, rngs=nnx.Rngs(params=3), state_dim=N, r_min=0.8, r_max=0.99)
        params = {k: jnp.asarray(v, jnp.float64) for k, v in layer.params().items()}
        x = jnp.asarray(random_array(4, 3 * T, B, D), jnp.float64)
        h0 = LRU.initial_state(params, B) + 0.5j  # a nonzero complex start
        assert h0.dtype == jnp.complex128
        h_last, expected = stepped(as_cell(LRU), params, x, h0)
        for form in ("scan", "associative", "chunked"):
            last, y = run(LRU, params, x, h0, form=form, chunk_size=5)
            assert y.dtype == jnp.float64
            np.testing.assert_allclose(y, expected, **F64, err_msg=form)
            np.testing.assert_allclose(last, h_last, **F64, err_msg=form)
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


@pytest.mark.parametrize("form", ["scan", "associative", "chunked"])
def test_model_streaming_equals_whole_sequence(form):
    assert_streams_like_whole_sequence(
        "lru", B, layers=2, residual=True, norm="layer", scan_form=form
    )


def test_scan_options_keep_the_numbers():
    """hoist_input scans over coefficients projected for all steps: the time-invariant λ gets
    their time axis (linear_recurrence.as_cell); checkpointed and rematerialised scans too."""
    copy = task("copy", 2)
    tokens = sample(copy, 1, B).inputs
    expected = apply(build("lru", copy.spec), tokens)
    for options in (dict(hoist_input=True), dict(checkpoint_every=3), dict(remat=True)):
        got = apply(build("lru", copy.spec, **options), tokens)
        np.testing.assert_allclose(got, expected, **FWD, err_msg=str(options))


# ---------------------------------------------------------------- sizes, causality, options


def test_state_and_parameter_count():
    layer = LRULayer(D, H, rngs=nnx.Rngs(params=0), state_dim=N)
    assert layer.initial_state(B).shape == (B, N)
    n_params = sum(p.size for p in layer.params().values())
    assert n_params == 3 * N + 2 * D * N + 2 * N * H + D * H
    square = LRULayer(H, H, rngs=nnx.Rngs(params=0))  # state_dim 0: N = H, diagonal D
    assert square.initial_state(B).shape == (B, H)
    assert sum(p.size for p in square.params().values()) == 3 * H + 4 * H * H + H
    spec = task("adding", 4).spec
    cfg = model_cfg("lru", hidden=8, embed_dim=6, state_dim=16)
    # encoder 2·6 + 6; layer 3·16 + 2·6·16 + 2·16·8 + 6·8; readout 8 + 1
    assert count_params(cfg, spec) == 18 + (48 + 192 + 256 + 48) + 9


def test_layer_is_causal():
    layer = LRULayer(D, H, rngs=nnx.Rngs(params=5), state_dim=N, r_min=0.5, r_max=0.9)
    x = jnp.asarray(random_array(6, T, B, D))
    for form in ("scan", "associative", "chunked"):
        layer.form, layer.chunk_size = form, 3
        assert_module_causal(layer, x)


def test_bidirectional_lru_sees_both_directions():
    adding = task("adding", 6)
    model = build("lru", adding.spec, bidirectional=True, scan_form="associative")
    batch = sample(adding, 2, B)
    out = apply(model, batch.inputs, batch.lengths)
    assert out.shape == (B, 1) and np.isfinite(np.asarray(out)).all()
    assert model.layers[0].out_features == 2 * 8
