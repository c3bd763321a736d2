"""S5: the block against the s5-pytorch package's S5 SSM inside a torch transcription of the
official code's SequenceLayer (outputs and every gradient), HiPPO-N eigenvalues against an
independent NumPy construction from the HiPPO-LegS definition, the official initialisation,
scan == associative == chunked == streaming step in float32 and float64 (complex128), parameter
counts, causality.

s5-pytorch 0.2.1 (s5/s5_model.py `S5`, `S5SSM.forward`: discretize_zoh, apply_ssm) implements the
paper's SSM without conjugate symmetry: P complex states, y = Re(C̃ h) + D u. Ours keeps P/2 and
takes 2·Re (the official code's conj_sym=True): loaded into the package as the P states
[λ, λ̄], B̃ = [B̃; B̃̄], C̃ = [C̃, C̃̄], log Δ twice, the two models are the same function, and our
gradients are theirs folded back: for a complex weight w whose copies are w (first half) and w̄
(second), torch's ∂L/∂Re + i ∂L/∂Im gives ours as g₁ + ḡ₂. The block around it (prenorm
LayerNorm, tanh-GELU, half-GLU gate, residual) is written in torch from s5/layers.py. The package
(einops, scipy, torch) installs beside ours unchanged. Tolerances: common.FWD and GRAD (float32).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from flax import nnx
from s5 import S5 as TorchS5
from scipy import stats

from seqlab.models.linear_recurrence import AFFINE_FORMS, as_cell, run_linear
from seqlab.models.recurrence import step
from seqlab.models.s5 import S5_CELL, S5Block, hippo_init, normal_hippo
from seqlab.models.sizing import count_params
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
    value_and_grads,
)
from tests.models.test_lru import task

T, B, H, P, J = 7, 2, 4, 8, 2  # P states (P/2 kept), J HiPPO blocks
HALF = P // 2
F32 = dict(rtol=1e-5, atol=1e-5)
F64 = dict(rtol=1e-12, atol=1e-12)
run = jax.jit(run_linear, static_argnums=0, static_argnames=("form", "chunk_size"))


def our_block(seed: int = 0, form: str = "scan") -> S5Block:
    block = S5Block(H, rngs=nnx.Rngs(params=seed), state_dim=P, blocks=J, form=form, chunk_size=3)
    rng = np.random.default_rng(seed)
    for p in (block.norm.scale, block.norm.bias, block.gate.bias, block.ssm.log_step):
        p[...] = p[...] + jnp.asarray(0.3 * rng.standard_normal(p.shape), jnp.float32)
    return block


def torch_ssm_from(block: S5Block) -> TorchS5:
    """s5-pytorch's S5 with P states holding our P/2 and their conjugates."""
    s = {k: np.asarray(v) for k, v in block.ssm.params().items()}
    ref = TorchS5(H, state_width=P)
    lam = s["lambda_re"] + 1j * s["lambda_im"]
    b = (s["b_re"] + 1j * s["b_im"]).T  # [P/2, H]
    c = (s["c_re"] + 1j * s["c_im"]).T  # [H, P/2]
    b_full = np.concatenate([b, b.conj()])
    with torch.no_grad():
        ref.seq.Lambda.copy_(torch.from_numpy(np.concatenate([lam, lam.conj()])))
        ref.seq.B.copy_(torch.from_numpy(np.stack([b_full.real, b_full.imag], -1)))
        ref.seq.C.copy_(torch.from_numpy(np.concatenate([c, c.conj()], axis=1)))
        ref.seq.D.copy_(torch.from_numpy(s["d"]))
        ref.seq.log_step.copy_(torch.from_numpy(np.concatenate([s["log_step"]] * 2)))
    return ref


class TorchBlock(torch.nn.Module):
    """s5/layers.py SequenceLayer, prenorm, half_glu1, LayerNorm, no dropout."""

    def __init__(self, block: S5Block):
        super().__init__()
        self.ssm = torch_ssm_from(block)
        t = lambda p: torch.nn.Parameter(torch.from_numpy(np.array(p[...])))  # noqa: E731
        self.norm_w, self.norm_b = t(block.norm.scale), t(block.norm.bias)
        self.gate_w, self.gate_b = t(block.gate.kernel), t(block.gate.bias)

    def forward(self, x):  # [B, T, H]
        n = F.layer_norm(x, (H,), self.norm_w, self.norm_b, eps=1e-6)
        g = F.gelu(self.ssm(n), approximate="tanh")
        return x + g * torch.sigmoid(g @ self.gate_w + self.gate_b)


def folded_grads(ref: TorchBlock):
    """Their gradients in our layout: conjugate copies folded back (module docstring)."""
    seq = ref.ssm.seq
    g_lam, g_b, g_c = seq.Lambda.grad, seq.B.grad.numpy(), seq.C.grad.numpy()
    g_lam = (g_lam[:HALF] + g_lam[HALF:].conj()).numpy()
    g_c = g_c[:, :HALF] + g_c[:, HALF:].conj()
    return {
        "lambda_re": g_lam.real,
        "lambda_im": g_lam.imag,
        "b_re": (g_b[:HALF, :, 0] + g_b[HALF:, :, 0]).T,
        "b_im": (g_b[:HALF, :, 1] - g_b[HALF:, :, 1]).T,
        "c_re": g_c.real.T,
        "c_im": g_c.imag.T,
        "d": seq.D.grad.numpy(),
        "log_step": (seq.log_step.grad[:HALF] + seq.log_step.grad[HALF:]).numpy(),
    }


def batch_first(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(a, 0, 1)))


@pytest.mark.parametrize("form", AFFINE_FORMS)
def test_block_matches_s5_pytorch(form):
    block = our_block(0, form)
    ref = TorchBlock(block)
    x_np, r_np = random_array(1, T, B, H), random_array(2, T, B, H)
    x_t = batch_first(x_np).requires_grad_(True)
    y_t = ref(x_t)
    (y_t * batch_first(r_np)).sum().backward()
    y, (grads, g_x) = value_and_grads(block, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, np.swapaxes(y_t.detach().numpy(), 0, 1), **FWD)
    np.testing.assert_allclose(g_x, np.swapaxes(x_t.grad.numpy(), 0, 1), **GRAD)
    for name, theirs in folded_grads(ref).items():
        ours = getattr(grads.ssm, name)[...]
        np.testing.assert_allclose(ours, theirs, **GRAD, err_msg=name)
        assert np.abs(theirs).min() > 1e-5, name  # every state and weight is used
    for ours, theirs in [
        (grads.norm.scale, ref.norm_w),
        (grads.norm.bias, ref.norm_b),
        (grads.gate.kernel, ref.gate_w),
        (grads.gate.bias, ref.gate_b),
    ]:
        np.testing.assert_allclose(ours[...], theirs.grad.numpy(), **GRAD)


def test_conjugate_symmetry_is_what_the_match_needs():
    """Without the factor 2 (Re instead of 2·Re) the match with the package breaks."""
    block = our_block(1)
    ref = TorchBlock(block)
    x_np = random_array(3, T, B, H)
    expected = np.swapaxes(ref(batch_first(x_np)).detach().numpy(), 0, 1)
    np.testing.assert_allclose(apply_block(block, x_np), expected, **FWD)
    block.ssm.c_re[...], block.ssm.c_im[...] = block.ssm.c_re[...] / 2, block.ssm.c_im[...] / 2
    assert np.abs(apply_block(block, x_np) - expected).max() > 1e-2


def apply_block(block, x_np):
    return np.asarray(nnx.jit(lambda m, x: m(x))(block, jnp.asarray(x_np)))


# ---------------------------------------------------------------- HiPPO-N initialisation


def legs_normal_part(n: int) -> np.ndarray:
    """From the definitions, entry by entry: HiPPO-LegS A_nk = −√(2n+1)√(2k+1) (n > k),
    −(n+1) (n = k), 0 (n < k), plus the rank-one p pᵀ, p_n = √(n + ½) (Gu et al. 2022)."""
    S = np.zeros((n, n))
    for i in range(n):
        for k in range(n):
            a = -np.sqrt(2 * i + 1) * np.sqrt(2 * k + 1) if i > k else (-(i + 1) if i == k else 0)
            S[i, k] = a + np.sqrt(i + 0.5) * np.sqrt(k + 0.5)
    return S


@pytest.mark.parametrize("n", [2, 8, 16])
def test_hippo_eigenvalues_against_numpy(n):
    S = legs_normal_part(n)
    want = np.linalg.eigvals(S)  # the general (non-Hermitian) solver: another algorithm
    lam, V = normal_hippo(n)
    np.testing.assert_allclose(lam.real, -0.5, atol=1e-12)
    np.testing.assert_allclose(np.sort(lam.imag), np.sort(want.imag), atol=1e-9)
    np.testing.assert_allclose(want.real, -0.5, atol=1e-9)
    np.testing.assert_allclose(S @ V, V * lam, atol=1e-9)  # S = V diag(Λ) Vᴴ
    np.testing.assert_allclose(V.conj().T @ V, np.eye(n), atol=1e-12)
    kept, _ = hippo_init(n, 1)  # conjugate symmetry: the half with negative imaginary part
    np.testing.assert_allclose(np.sort(kept.imag), np.sort(want.imag)[: n // 2], atol=1e-9)
    assert (kept.imag < 0).all()


def test_blocks_repeat_the_hippo_block():
    lam, V = hippo_init(16, 4)
    block_lam, _ = hippo_init(4, 1)
    np.testing.assert_allclose(lam, np.tile(block_lam, 4))
    S = scipy.linalg.block_diag(*([legs_normal_part(4)] * 4))
    np.testing.assert_allclose(S @ V, V * lam, atol=1e-9)
    assert V.shape == (16, 8)
    with pytest.raises(ValueError, match=r"multiple of 2 · model\.heads = 8"):
        hippo_init(12, 4)


def test_init_as_the_official_code():
    """Λ as hippo_init; log Δ ~ U[log 0.001, log 0.1]; D ~ N(0, 1); B̃ = V⁻¹B and C̃ = CV with
    B, C of variance 1/P, so E|B̃|² = 1/P and E|C̃|² = 2/P (V's columns are unit vectors)."""
    width, p, blocks = 64, 256, 4
    block = S5Block(width, rngs=nnx.Rngs(params=0), state_dim=p, blocks=blocks)
    ssm = block.ssm
    lam, _ = hippo_init(p, blocks)
    np.testing.assert_allclose(ssm.lambda_re[...], lam.real, rtol=1e-6)
    np.testing.assert_allclose(ssm.lambda_im[...], lam.imag, rtol=1e-6)
    log_step = np.asarray(ssm.log_step[...])
    assert log_step.shape == (p // 2,)
    assert log_step.min() >= np.log(0.001) - 1e-6 and log_step.max() <= np.log(0.1) + 1e-6
    cdf = stats.uniform(np.log(0.001), np.log(100)).cdf
    assert stats.kstest(log_step, cdf).pvalue > 1e-3
    assert stats.kstest(np.asarray(ssm.d[...]), stats.norm().cdf).pvalue > 1e-3
    b2 = np.mean(np.asarray(ssm.b_re[...]) ** 2 + np.asarray(ssm.b_im[...]) ** 2)
    c2 = np.mean(np.asarray(ssm.c_re[...]) ** 2 + np.asarray(ssm.c_im[...]) ** 2)
    np.testing.assert_allclose(b2, 1 / p, rtol=0.1)
    np.testing.assert_allclose(c2, 2 / p, rtol=0.1)
    np.testing.assert_array_equal(block.gate.bias[...], 0.0)


# ---------------------------------------------------------------- forms and streaming


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forms_equal_streaming_step(dtype):
    with jax.enable_x64(dtype == "float64"):
        dt = jnp.float64 if dtype == "float64" else jnp.float32
        params = {k: jnp.asarray(v, dt) for k, v in our_block(4).ssm.params().items()}
        params["log_step"] = params["log_step"] + 2.0  # Δ of order one: the states decay
        tol = F64 if dtype == "float64" else F32
        u = jnp.asarray(random_array(5, 3 * T, B, H), dt)
        h = h0 = S5_CELL.initial_state(params, B) + 0.5j  # a nonzero complex start
        ys = []
        for t in range(u.shape[0]):
            h, y = step(as_cell(S5_CELL), params, h, u[t])
            ys.append(y)
        for form in AFFINE_FORMS:
            last, y = run(S5_CELL, params, u, h0, form=form, chunk_size=4)
            assert y.dtype == dt and last.dtype == h0.dtype
            np.testing.assert_allclose(y, jnp.stack(ys), **tol, err_msg=form)
            np.testing.assert_allclose(last, h, **tol, err_msg=form)
        assert float(jnp.abs(h - h0).max()) > 0.1
    assert jnp.zeros(()).dtype == jnp.float32  # x64 did not leak


@pytest.mark.parametrize("form", AFFINE_FORMS)
def test_model_streaming_equals_whole_sequence(form):
    assert_streams_like_whole_sequence("s5", B, layers=2, heads=2, scan_form=form, chunk_size=5)


def test_scan_options_keep_the_numbers():
    """hoist_input scans over the hoisted coefficients: Λ̄ needs their time axis."""
    copy = task("copy", 2)
    tokens = sample(copy, 1, B).inputs
    expected = apply(build("s5", copy.spec, heads=2), tokens)
    for options in (dict(hoist_input=True), dict(checkpoint_every=3), dict(remat=True)):
        got = apply(build("s5", copy.spec, heads=2, **options), tokens)
        np.testing.assert_allclose(got, expected, **F32, err_msg=str(options))


# ---------------------------------------------------------------- sizes, causality


def test_parameter_count_and_state():
    """The official code's parameters: Λ_re, Λ_im [P/2], B [P/2, H, 2], C [H, P/2, 2], D [H],
    log_step [P/2]; the block adds the LayerNorm (2H) and the gate Dense (H² + H)."""
    block = S5Block(H, rngs=nnx.Rngs(params=0), state_dim=P, blocks=J)
    ssm = sum(x.size for x in jax.tree.leaves(nnx.state(block.ssm, nnx.Param)))
    assert ssm == 2 * HALF + 2 * HALF * H + 2 * H * HALF + H + HALF
    n_params = sum(x.size for x in jax.tree.leaves(nnx.state(block, nnx.Param)))
    assert n_params == ssm + 2 * H + H * H + H
    # the package's S5 holds every state: twice ours in Λ, B, C, log Δ, once D
    ref = TorchS5(H, state_width=P)
    theirs = sum(p.numel() * (2 if p.is_complex() else 1) for p in ref.parameters())
    assert theirs == 2 * ssm - H
    spec = task("adding", 4).spec
    cfg = model_cfg("s5", hidden=10, heads=2, layers=2)
    model = build("s5", spec, hidden=10, heads=2, layers=2)
    h = model.initial_state(5)[0]
    assert h.shape == (5, 6) and h.dtype == jnp.complex64  # P = 12: 10 rounded up to 2·heads
    assert count_params(cfg, spec) == sum(
        x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))
    )
    with pytest.raises(ValueError, match=r"model\.state_dim=6 \(P\) must be a multiple of"):
        build("s5", spec, hidden=10, heads=2, state_dim=6)


def test_block_is_causal():
    block = our_block(6)
    x = jnp.asarray(random_array(7, T, B, H))
    for form in AFFINE_FORMS:
        block.ssm.form, block.ssm.chunk_size = form, 3
        assert_module_causal(block, x)
