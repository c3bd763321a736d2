"""Transformer: attention and a whole block against torch (outputs and gradients), rotary
against NumPy and its relative-position property, sinusoidal codes against the formula,
positions break permutation symmetry, causality via gradients, the encoder's length mask,
the KV-cache stream against the whole-sequence call, shapes and jit; Zoology's attention
baseline (model.attention_block=zoology) against a torch re-implementation of their code.

Float32; tolerances: forward 1e-5, gradients 1e-4 against torch, 1e-5 between our own forms.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx

from seqlab.config import base_config
from seqlab.models.sizing import count_params
from seqlab.models.transformer import (
    SelfAttention,
    Transformer,
    TransformerBlock,
    ZoologyBlock,
    alibi_bias,
    alibi_slopes,
    relative_codes,
    rotary,
    sinusoids,
)
from seqlab.registry import MODELS, TASKS
from tests.models.common import (
    FWD,
    GRAD,
    apply,
    build,
    model_cfg,
    random_array,
    sample,
    set_param,
    stream,
    task,
    value_and_grads,
)

T, B, D, N = 6, 2, 8, 2
POSITIONS = ["learned", "sinusoidal", "rotary", "alibi", "relative"]
IN_ATTENTION = ("rotary", "alibi", "relative")  # the positions attention itself applies


def tnp(p: torch.Tensor) -> np.ndarray:
    return p.detach().numpy()


def randomise(module: torch.nn.Module, seed: int) -> None:
    """Every torch parameter random (torch starts biases at 0 and LN weights at 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = 0.4 * torch.randn(p.shape, generator=g)
            p.copy_(1 + 0.5 * noise if "norm" in name and "weight" in name else noise)


def causal_mask(length: int) -> torch.Tensor:
    return torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)  # True: masked


def copy_attention(attn: SelfAttention, mha: torch.nn.MultiheadAttention) -> None:
    # torch's in_proj is [q; k; v] along its output rows, heads contiguous within each.
    set_param(attn.qkv.kernel, tnp(mha.in_proj_weight).T)
    set_param(attn.qkv.bias, mha.in_proj_bias)
    set_param(attn.out.kernel, tnp(mha.out_proj.weight).T)
    set_param(attn.out.bias, mha.out_proj.bias)


def check_attention_grads(g: SelfAttention, mha: torch.nn.MultiheadAttention) -> None:
    np.testing.assert_allclose(g.qkv.kernel[...], mha.in_proj_weight.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(g.qkv.bias[...], mha.in_proj_bias.grad.numpy(), **GRAD)
    np.testing.assert_allclose(g.out.kernel[...], mha.out_proj.weight.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(g.out.bias[...], mha.out_proj.bias.grad.numpy(), **GRAD)


def torch_value_and_grad(module, x_np, r_np, **kwargs):
    x_t = torch.from_numpy(x_np).requires_grad_(True)
    y_t = module(x_t, **kwargs)
    (y_t * torch.from_numpy(r_np)).sum().backward()
    return tnp(y_t), x_t.grad.numpy()


# ---------------------------------------------------------------- 1. attention vs torch


def check_attention_against_torch(attn, mha, attn_mask, seed: int):
    """Asserts `attn` (mha's weights copied in) equals torch's attention with `attn_mask` in
    output and gradients (inputs and weights), for an input and a cotangent drawn from `seed`
    and `seed + 1`; returns that input and torch's output."""
    x_np, r_np = random_array(seed, T, B, D), random_array(seed + 1, T, B, D)
    forward = lambda x: mha(x, x, x, attn_mask=attn_mask, need_weights=False)[0]  # noqa: E731
    y_ref, g_x_ref = torch_value_and_grad(forward, x_np, r_np)
    y, (g_attn, g_x) = value_and_grads(attn, jnp.asarray(x_np), jnp.asarray(r_np))
    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, g_x_ref, **GRAD)
    check_attention_grads(g_attn, mha)
    return x_np, y_ref


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "no_mask"])
def test_attention_matches_torch_multihead_attention(causal):
    mha = torch.nn.MultiheadAttention(D, N)  # time-major [T, B, D], like ours
    randomise(mha, 1)
    attn = SelfAttention(D, N, rngs=nnx.Rngs(params=0), causal=causal)
    copy_attention(attn, mha)
    x_np, y_ref = check_attention_against_torch(attn, mha, causal_mask(T) if causal else None, 2)
    # The mask is what is being tested: the other setting gives another output.
    other = SelfAttention(D, N, rngs=nnx.Rngs(params=0), causal=not causal)
    copy_attention(other, mha)
    assert np.abs(np.asarray(other(jnp.asarray(x_np))) - y_ref).max() > 1e-2


def their_alibi(heads: int, length: int) -> np.ndarray:
    """[N, T, T] ALiBi biases built as Delétang et al.'s models/positional_encodings.py builds
    them: sums of triangular matrices (-|t - s|, then 0.5 added below the diagonal), times the
    slopes of ofirpress/attention_with_linear_biases (start 2^(-2^-(log2 N - 3)), ratio start)."""
    start = 2 ** (-(2 ** -(np.log2(heads) - 3)))
    slopes = np.array([start * start**i for i in range(heads)])
    b = np.zeros((length, length))
    b -= sum(np.tri(length, length, k=-i) for i in range(1, length))
    b -= sum(np.tri(length, length, k=-i).T for i in range(1, length))
    b += 0.5 * np.tri(length, length, k=-1)
    return slopes[:, None, None] * b


def test_alibi_slopes_and_biases_are_theirs():
    assert alibi_slopes(8) == [2.0**-k for k in range(1, 9)]
    assert alibi_slopes(6) == [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3]
    t = jnp.arange(7)
    np.testing.assert_allclose(alibi_bias(4, t, t), their_alibi(4, 7), rtol=0, atol=1e-7)


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "no_mask"])
def test_alibi_attention_matches_torch_with_their_biases(causal):
    """torch's attention with Delétang et al.'s ALiBi matrix as its float mask (added to the
    scaled logits, as theirs is)."""
    mha = torch.nn.MultiheadAttention(D, N)
    randomise(mha, 5)
    attn = SelfAttention(D, N, rngs=nnx.Rngs(params=0), causal=causal, positions="alibi")
    copy_attention(attn, mha)
    bias = torch.from_numpy(np.tile(their_alibi(N, T), (B, 1, 1))).float()  # [B·N, T, T]
    if causal:
        bias = bias.masked_fill(causal_mask(T), float("-inf"))
    x_np, y_ref = check_attention_against_torch(attn, mha, bias, 6)
    plain = SelfAttention(D, N, rngs=nnx.Rngs(params=0), causal=causal)  # the control
    copy_attention(plain, mha)
    assert np.abs(np.asarray(plain(jnp.asarray(x_np))) - y_ref).max() > 1e-2


def their_relative_attention(x, w, causal: bool, sign: float = 1.0):
    """Self-attention with Transformer-XL's relative encoding, in torch, step by step as
    Delétang et al.'s models/positional_encodings.py (compute_attention_with_relative_encodings,
    sinusoid_position_encoding, _rel_shift_inner) and models/transformer.py compute it: codes
    of the offsets T, T-1, ..., -T+1, projected by W_r, the relative logits [.., Tq, 2T]
    shifted by their reshape trick, both terms scaled by 1/√H. Their shift for a causal
    decoder uses the offsets T..1 (R_{t-s+1}); the causal reference here keeps the encoder's
    shift and masks the future. `w`: torch tensors qkv_w, qkv_b, out_w, out_b, u, v, w_r;
    `sign` -1 mirrors the offsets (a control)."""
    t_len, batch, width = x.shape
    heads, head = w["u"].shape
    q, k, v = (x @ w["qkv_w"] + w["qkv_b"]).split(width, dim=-1)
    q, k, v = (a.reshape(t_len, batch, heads, head).permute(1, 0, 2, 3) for a in (q, k, v))
    content = torch.einsum("bthd,bshd->bhts", q + w["u"], k)
    inv_freq = 10000.0 ** (-torch.arange(0, width, 2, dtype=torch.float64) / width)
    offsets = sign * torch.arange(t_len, -t_len, -1.0, dtype=torch.float64)
    angle = offsets[:, None] * inv_freq
    codes = torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1).float()  # [2T, D]
    rel_keys = (codes @ w["w_r"]).reshape(2 * t_len, heads, head)
    rel = torch.einsum("bthd,phd->bhtp", q + w["v"], rel_keys)  # [B, N, T, 2T]
    rel = rel.reshape(batch, heads, 2 * t_len, t_len)[:, :, 1:]  # their _rel_shift_inner
    rel = rel.reshape(batch, heads, t_len, 2 * t_len - 1)[..., :t_len]
    logits = (content + rel) / head**0.5
    if causal:
        logits = logits.masked_fill(causal_mask(t_len), float("-inf"))
    y = torch.einsum("bhts,bshd->bthd", logits.softmax(-1), v).reshape(batch, t_len, width)
    return y.permute(1, 0, 2) @ w["out_w"] + w["out_b"]


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "no_mask"])
def test_relative_attention_matches_their_transformer_xl_computation(causal):
    attn = SelfAttention(D, N, rngs=nnx.Rngs(params=0), causal=causal, positions="relative")
    g = torch.Generator().manual_seed(7)
    shapes = {"qkv_w": (D, 3 * D), "qkv_b": (3 * D,), "out_w": (D, D), "out_b": (D,)}
    shapes |= {"u": (N, D // N), "v": (N, D // N), "w_r": (D, D)}
    w = {
        n: (0.4 * torch.randn(shape, generator=g)).requires_grad_(True)
        for n, shape in shapes.items()
    }
    ours = {"qkv_w": attn.qkv.kernel, "qkv_b": attn.qkv.bias, "out_w": attn.out.kernel}
    ours |= {"out_b": attn.out.bias, "u": attn.content_bias, "v": attn.position_bias}
    ours |= {"w_r": attn.relative_keys.kernel}
    for name, param in ours.items():
        set_param(param, tnp(w[name]))
    x_np, r_np = random_array(8, T, B, D), random_array(9, T, B, D)
    y_ref, g_x_ref = torch_value_and_grad(
        lambda x: their_relative_attention(x, w, causal), x_np, r_np
    )
    y, (g_attn, g_x) = value_and_grads(attn, jnp.asarray(x_np), jnp.asarray(r_np))
    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, g_x_ref, **GRAD)
    grads = {"u": g_attn.content_bias, "v": g_attn.position_bias}
    grads |= {"w_r": g_attn.relative_keys.kernel}
    for name, grad in grads.items():
        np.testing.assert_allclose(grad[...], tnp(w[name].grad), **GRAD)
        assert np.abs(tnp(w[name].grad)).max() > 1e-4  # the positions' parameters are used
    # The sign of the offsets is what is tested: codes of s - t give another output.
    with torch.no_grad():
        mirrored = their_relative_attention(torch.from_numpy(x_np), w, causal, sign=-1.0)
    assert np.abs(np.asarray(y) - tnp(mirrored)).max() > 1e-2


def test_relative_codes_are_theirs():
    """sin of every frequency, then cos (their sinusoid_position_encoding), at any offset."""
    p = np.array([-3.0, 0.0, 2.0, 7.0])
    inv_freq = 10000.0 ** (-np.arange(0, 6, 2) / 6)
    expected = np.concatenate([np.sin(p[:, None] * inv_freq), np.cos(p[:, None] * inv_freq)], -1)
    np.testing.assert_allclose(relative_codes(jnp.asarray(p), 6), expected, rtol=0, atol=1e-6)


class TorchBlock(torch.nn.Module):
    """The pre-LN reference: LN -> MHA -> residual -> LN -> Linear/GELU/Linear -> residual."""

    def __init__(self, d: int, heads: int, ratio: int):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(d, eps=1e-6)  # flax's LayerNorm epsilon
        self.mha = torch.nn.MultiheadAttention(d, heads)
        self.norm2 = torch.nn.LayerNorm(d, eps=1e-6)
        self.fc1 = torch.nn.Linear(d, ratio * d)
        self.fc2 = torch.nn.Linear(ratio * d, d)

    def forward(self, x, mask=None):
        h = self.norm1(x)
        x = x + self.mha(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm2(x))))


@pytest.mark.parametrize("causal", [True, False], ids=["decoder", "encoder"])
def test_block_matches_torch_reference(causal):
    ratio = 3  # not the default 4: mlp_ratio must reach the MLP's width
    ref = TorchBlock(D, N, ratio)
    randomise(ref, 4)
    block = TransformerBlock(D, N, rngs=nnx.Rngs(params=0), mlp_ratio=ratio, causal=causal)
    copy_attention(block.attn, ref.mha)
    for ours, theirs in ((block.attn_norm, ref.norm1), (block.mlp_norm, ref.norm2)):
        set_param(ours.scale, theirs.weight)
        set_param(ours.bias, theirs.bias)
    for ours, theirs in ((block.mlp_in, ref.fc1), (block.mlp_out, ref.fc2)):
        set_param(ours.kernel, tnp(theirs.weight).T)
        set_param(ours.bias, theirs.bias)
    x_np, r_np = random_array(5, T, B, D), random_array(6, T, B, D)

    y_ref, g_x_ref = torch_value_and_grad(ref, x_np, r_np, mask=causal_mask(T) if causal else None)
    y, (g, g_x) = value_and_grads(block, jnp.asarray(x_np), jnp.asarray(r_np))

    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, g_x_ref, **GRAD)
    check_attention_grads(g.attn, ref.mha)
    for ours, theirs in ((g.attn_norm, ref.norm1), (g.mlp_norm, ref.norm2)):
        np.testing.assert_allclose(ours.scale[...], theirs.weight.grad.numpy(), **GRAD)
        np.testing.assert_allclose(ours.bias[...], theirs.bias.grad.numpy(), **GRAD)
    for ours, theirs in ((g.mlp_in, ref.fc1), (g.mlp_out, ref.fc2)):
        np.testing.assert_allclose(ours.kernel[...], theirs.weight.grad.numpy().T, **GRAD)
        np.testing.assert_allclose(ours.bias[...], theirs.bias.grad.numpy(), **GRAD)
    assert np.abs(np.asarray(g.mlp_norm.scale[...])).max() > 1e-2  # not two zero arrays


# ---------------------------------------------------------------- 2. positions


def numpy_rotary(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """RoFormer eq. 15 written out: x [P, d] times the block-diagonal matrix R_{Θ,m}."""
    d = x.shape[-1]
    out = np.empty_like(x, dtype=np.float64)
    for p, m in enumerate(positions):
        R = np.zeros((d, d))
        for i in range(d // 2):
            a = m * 10000.0 ** (-2 * i / d)
            R[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [
                [np.cos(a), -np.sin(a)],
                [np.sin(a), np.cos(a)],
            ]
        out[p] = R @ x[p]
    return out


def test_rotary_matches_numpy():
    x = random_array(7, T, B, N, 8)  # [T, B, N, H] as inside attention
    positions = np.arange(T) + 3
    got = np.asarray(rotary(jnp.asarray(x), jnp.asarray(positions)[:, None, None]))
    for b in range(B):
        for n in range(N):
            np.testing.assert_allclose(got[:, b, n], numpy_rotary(x[:, b, n], positions), **FWD)
    # One streamed step (a scalar position) rotates like its row of the sequence.
    np.testing.assert_allclose(rotary(jnp.asarray(x[4]), 7), got[4], **FWD)
    assert np.abs(got - x).max() > 1e-1  # rotation happened
    with pytest.raises(ValueError, match="even"):
        rotary(jnp.ones((2, 3)), jnp.arange(2))


def test_rotary_scores_depend_only_on_the_offset():
    q, k = jnp.asarray(random_array(8, 16)), jnp.asarray(random_array(9, 16))

    def score(m, n):
        return float(jnp.dot(rotary(q, m), rotary(k, n)))

    for m, n in [(5, 2), (2, 5), (9, 9)]:
        for shift in (1, 7, 100):
            np.testing.assert_allclose(score(m + shift, n + shift), score(m, n), rtol=1e-4)
    np.testing.assert_allclose(score(3, 3), float(jnp.dot(q, k)), rtol=1e-5)  # offset 0
    assert abs(score(5, 2) - score(2, 5)) > 1e-2  # the sign of the offset matters
    assert abs(score(5, 2) - score(5, 4)) > 1e-2  # and its size


@pytest.mark.parametrize("features", [8, 7])
def test_sinusoids_match_the_formula(features):
    length = 12
    expected = np.zeros((length, features))
    for pos in range(length):
        for j in range(features):
            angle = pos / 10000.0 ** ((j - j % 2) / features)
            expected[pos, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    np.testing.assert_allclose(sinusoids(jnp.arange(length), features), expected, **FWD)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_additive_positions_are_added_after_the_encoder(positions):
    model = build("transformer", task("adding", T).spec, positions=positions)
    x = jnp.asarray(random_array(14, T, B, 2))
    added = np.asarray(nnx.jit(lambda m, x: m.encode(x) - m.encoder(x))(model, x))
    table = model.position_table[...] if positions == "learned" else sinusoids(jnp.arange(T), 8)
    expected = np.broadcast_to(np.asarray(table)[:, None], added.shape)
    np.testing.assert_allclose(added, expected, **FWD)
    assert np.abs(added).max() > 1e-3


def without_positions(model: Transformer) -> None:
    """Switches a model's positions off in place (the control a position test must fail on)."""
    model.positions = "none"
    for layer in model.layers:
        layer.attn.rotary = layer.attn.alibi = layer.attn.relative = False


def every_step_reals_spec(length: int):
    """The adding task's reals input, read at every step (so y_t can be differentiated)."""
    return dataclasses.replace(task("adding", length).spec, scored="every")


def permutation_gap(model, x_TBD, perm) -> float:
    """max |model(x permuted in time) - model(x) permuted|: 0 for a model blind to order."""
    return float(
        np.abs(np.asarray(apply(model, x_TBD[perm])) - np.asarray(apply(model, x_TBD))[perm]).max()
    )


X_PERM = jnp.asarray(random_array(15, T, B, 2))
PERM = np.random.default_rng(0).permutation(T)


@pytest.mark.parametrize("positions", POSITIONS)
def test_positions_break_permutation_symmetry(positions):
    model = build("transformer", every_step_reals_spec(T), positions=positions, causal=False)
    assert permutation_gap(model, X_PERM, PERM) > 1e-3


def test_without_positions_the_encoder_is_permutation_equivariant():
    """The control for the test above: the same encoder, positions switched off, is blind."""
    model = build("transformer", every_step_reals_spec(T), positions="rotary", causal=False)
    without_positions(model)
    assert permutation_gap(model, X_PERM, PERM) < 1e-5


def test_positions_none_is_an_encoder_blind_to_order_and_a_decoder_that_is_not():
    """model.positions=none (NoPE): the encoder is permutation-equivariant, the causal decoder
    still tells positions apart through its mask."""
    spec = every_step_reals_spec(T)
    encoder = build("transformer", spec, positions="none", causal=False)
    assert not hasattr(encoder, "position_table")
    assert permutation_gap(encoder, X_PERM, PERM) < 1e-5
    assert permutation_gap(build("transformer", spec, positions="none"), X_PERM, PERM) > 1e-3


# ---------------------------------------------------------------- 3. causality, the length mask


def dependence(model, x_TBD) -> np.ndarray:
    """[T, T]: sum |d y_t / d x_s| for batch row 0; asserts rows never mix."""
    graphdef, state = nnx.split(model)
    jac = jax.jit(jax.jacrev(lambda x: nnx.merge(graphdef, state)(x)[:, 0, 0]))(x_TBD)
    jac = np.abs(np.asarray(jac))  # [T_out, T_in, B, D_in]
    assert jac[:, :, 1:].max() == 0  # batch rows are independent
    return jac[:, :, 0].sum(-1)


@pytest.mark.parametrize("positions", [*POSITIONS, "none"])
def test_decoder_is_causal_via_gradients(positions):
    model = build("transformer", every_step_reals_spec(T), positions=positions)
    dep = dependence(model, jnp.asarray(random_array(10, T, B, 2)))
    future = np.triu(np.ones((T, T), bool), k=1)  # s > t
    assert dep[future].max() == 0
    assert dep[~future].min() > 1e-6


def test_encoder_depends_on_the_future():
    model = build("transformer", every_step_reals_spec(T), causal=False)
    dep = dependence(model, jnp.asarray(random_array(10, T, B, 2)))
    assert dep.min() > 1e-6


@pytest.mark.parametrize("causal", [True, False], ids=["decoder", "encoder"])
def test_padding_is_ignored_with_lengths(causal):
    """Read at each sequence's last valid step, padding values do not matter: the decoder
    never attends to later steps, the encoder masks keys beyond each length."""
    model = build("transformer", task("adding", T).spec, causal=causal, layers=2)
    lengths = jnp.asarray([3, 5, T], jnp.int32)
    x = random_array(11, T, 3, 2)
    noisy = x.copy()
    for b, n in enumerate(lengths.tolist()):
        noisy[n:, b] = random_array(12 + b, T - n, 2, scale=5.0)
    out = np.asarray(apply(model, jnp.asarray(x), lengths))
    np.testing.assert_allclose(apply(model, jnp.asarray(noisy), lengths), out, **FWD)
    # The first sequence alone, cut to its 3 steps, gives the same readout.
    np.testing.assert_allclose(apply(model, jnp.asarray(x[:3, :1]))[0], out[0], **FWD)
    # Every step's readout of the noisy batch with no length mask, read at the same steps:
    # the decoder needs no mask (equal); the encoder without one sees the padding.
    everywhere = nnx.jit(lambda m, x: m.readout(m.backbone(m.encode(x))))(model, noisy)
    unmasked = np.asarray(everywhere)[np.asarray(lengths) - 1, np.arange(3)]
    np.testing.assert_allclose(unmasked[2], out[2], **FWD)  # full length: nothing padded
    if causal:
        np.testing.assert_allclose(unmasked, out, **FWD)
    else:
        assert np.abs(unmasked[:2] - out[:2]).min() > 1e-4


# ---------------------------------------------------------------- 4. streaming


@pytest.mark.parametrize("positions", [*POSITIONS, "none"])
def test_kv_cache_stream_equals_the_whole_sequence(positions):
    # Two layers where attention holds the positions (each keeps its own cache); one elsewhere
    # keeps the compiles small.
    layers = 2 if positions in IN_ATTENTION else 1
    model = build("transformer", every_step_reals_spec(T), positions=positions, layers=layers)
    x = jnp.asarray(random_array(16, T, B, 2))
    expected = apply(model, x)
    np.testing.assert_allclose(stream(model, x), expected, **FWD)
    assert np.abs(np.asarray(expected[1:] - expected[:-1])).max() > 1e-3


def test_zoology_kv_cache_stream_equals_the_whole_sequence():
    model = build("transformer", mqar_spec(16, 64), attention_block="zoology", layers=2)
    assert isinstance(model.layers[0], ZoologyBlock)
    tokens = jnp.asarray(np.random.default_rng(17).integers(0, 64, (16, B)), jnp.int32)
    expected = apply(model, tokens)
    np.testing.assert_allclose(stream(model, tokens), expected, **FWD)
    assert np.abs(np.asarray(expected[1:] - expected[:-1])).max() > 1e-3


def test_encoder_has_no_streaming_step():
    model = build("transformer", task("adding", T).spec, causal=False)
    with pytest.raises(NotImplementedError, match="encoder"):
        model.initial_state(B)
    with pytest.raises(NotImplementedError, match="encoder"):
        model.layers[0].step(None, jnp.zeros((B, 8)))


# ---------------------------------------------------------------- 5. shapes, jit, config


@pytest.mark.parametrize(
    "task_name, overrides",
    [("copy", {}), ("adding", dict(causal=False, positions="sinusoidal"))],
    ids=["copy-decoder", "adding-encoder"],
)
def test_shapes_finite_and_jit_equals_eager(task_name, overrides):
    t = task(task_name, 3)
    model = build("transformer", t.spec, layers=2, **overrides)
    batch = sample(t, 4, B)
    expected_shape = (t.spec.seq_len, B, 10) if task_name == "copy" else (B, 1)

    eager = model(batch.inputs, batch.lengths)
    # The engine's form: split once, merge inside one jax.jit.
    graphdef, state = nnx.split(model)
    jitted = jax.jit(lambda s, x, n: nnx.merge(graphdef, s)(x, n))(
        state, batch.inputs, batch.lengths
    )
    for out in (eager, jitted):
        assert out.shape == expected_shape and out.dtype == jnp.float32
        assert np.isfinite(np.asarray(out)).all()
    np.testing.assert_allclose(jitted, eager, **FWD)
    assert np.abs(np.asarray(eager)).max() > 0


def test_bad_widths_raise_and_registry_traits():
    spec = task("adding", T).spec
    with pytest.raises(ValueError, match=r"model\.heads"):
        build("transformer", spec, hidden=10, heads=4)
    with pytest.raises(ValueError, match="even head width"):
        build("transformer", spec, hidden=12, heads=4, positions="rotary")
    with pytest.raises(ValueError, match="valid choices"):
        build("transformer", spec, positions="xl")
    with pytest.raises(ValueError, match=r"relative needs an even model\.hidden"):
        build("transformer", spec, hidden=9, heads=3, positions="relative")
    # An odd head width is fine without rotary (built abstractly: no arrays needed).
    nnx.eval_shape(lambda: build("transformer", spec, hidden=12, heads=4, positions="learned"))
    entry = MODELS.entry("transformer")
    assert entry.blocks and not entry.recurrent and set(entry.sizes) == {"tiny", "small", "base"}
    assert entry.causal(model_cfg("transformer")) and not entry.causal(
        model_cfg("transformer", causal=False)
    )
    assert entry.width_multiple(model_cfg("transformer", heads=4)) == 4
    assert entry.width_multiple(model_cfg("transformer", heads=4, positions="rotary")) == 8
    assert entry.width_multiple(model_cfg("transformer", heads=3, positions="relative")) == 6
    assert entry.width_multiple(model_cfg("transformer", heads=4, positions="relative")) == 4


# ---------------------------------------------------------------- 6. Zoology's attention baseline


def mqar_spec(length: int, vocab: int):
    cfg = base_config().task
    cfg.update(name="mqar", length=length, vocab_size=vocab, pairs=max(1, length // 16))
    return TASKS.get("mqar")(cfg).spec


class TorchZoology(torch.nn.Module):
    """Zoology's LanguageModel with their Fig. 2 attention mixer (MHA) and Identity state
    mixer, re-written in torch from HazyResearch/zoology (commit d88d6f5: zoology/model.py
    TokenEmbeddings, TransformerBlock, LMBackbone, LanguageModel; zoology/mixers/attention.py
    MHA, SelfAttention), dropout off. It keeps their (hidden, residual) hand-over between
    blocks rather than seqlab's x + LN_2(x) form, so the two are written independently."""

    def __init__(self, vocab: int, d: int, layers: int, heads: int, max_len: int):
        super().__init__()
        self.heads = heads
        self.word = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(max_len, d)
        self.norm1 = torch.nn.ModuleList(torch.nn.LayerNorm(d) for _ in range(layers))
        self.wqkv = torch.nn.ModuleList(torch.nn.Linear(d, 3 * d) for _ in range(layers))
        self.out_proj = torch.nn.ModuleList(torch.nn.Linear(d, d) for _ in range(layers))
        self.norm2 = torch.nn.ModuleList(torch.nn.LayerNorm(d) for _ in range(layers))
        self.ln_f = torch.nn.LayerNorm(d, eps=1e-5)
        self.lm_head = torch.nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.word.weight  # tied

    def attention(self, i: int, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.wqkv[i](x).reshape(b, t, 3, self.heads, d // self.heads)  # (three h d)
        q, k, v = qkv.unbind(dim=2)
        scores = torch.einsum("bthd,bshd->bhts", q, k / (d // self.heads) ** 0.5)
        scores = scores + torch.triu(torch.full((t, t), -10000.0), 1)
        out = torch.einsum("bhts,bshd->bthd", torch.softmax(scores, dim=-1), v)
        return self.out_proj[i](out.reshape(b, t, d))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # [B, T] -> [B, T, vocab]
        hidden = self.word(ids) + self.pos(torch.arange(ids.shape[1]))
        residual = None
        for i in range(len(self.wqkv)):
            residual = hidden if residual is None else hidden + residual
            hidden = self.attention(i, self.norm1[i](residual))
            residual = hidden + residual
            hidden = self.norm2[i](residual)  # the Identity state mixer returns it as it is
        return self.lm_head(self.ln_f(hidden + residual))


def copy_zoology(model: Transformer, ref: TorchZoology) -> None:
    set_param(model.encoder.embedding, ref.word.weight)
    set_param(model.position_table, ref.pos.weight)
    for i, block in enumerate(model.layers):
        for ours, theirs in ((block.attn_norm, ref.norm1[i]), (block.state_norm, ref.norm2[i])):
            set_param(ours.scale, theirs.weight)
            set_param(ours.bias, theirs.bias)
        set_param(block.attn.qkv.kernel, tnp(ref.wqkv[i].weight).T)
        set_param(block.attn.qkv.bias, ref.wqkv[i].bias)
        set_param(block.attn.out.kernel, tnp(ref.out_proj[i].weight).T)
        set_param(block.attn.out.bias, ref.out_proj[i].bias)
    set_param(model.final_norm.scale, ref.ln_f.weight)
    set_param(model.final_norm.bias, ref.ln_f.bias)


@pytest.mark.parametrize("heads", [1, 2])
def test_zoology_attention_matches_their_model_in_torch(heads):
    """Logits and every gradient (the tied embedding's sums both of its uses) against the torch
    re-implementation; the seqlab block with the same weights gives other logits."""
    vocab, d, layers, length = 24, 8, 2, 8
    ref = TorchZoology(vocab, d, layers, heads, length)
    randomise(ref, 21)
    model = build("transformer", mqar_spec(length, vocab), attention_block="zoology",
                  hidden=d, layers=layers, heads=heads)  # fmt: skip
    copy_zoology(model, ref)
    ids = np.random.default_rng(22).integers(0, vocab, (B, length))
    r = random_array(23, length, B, vocab)

    logits_ref = ref(torch.from_numpy(ids))  # [B, T, V]
    (logits_ref * torch.from_numpy(r.transpose(1, 0, 2))).sum().backward()

    def loss(m):
        return jnp.sum(m(jnp.asarray(ids.T, jnp.int32)) * r)

    logits = apply(model, jnp.asarray(ids.T, jnp.int32))
    np.testing.assert_allclose(logits, tnp(logits_ref).transpose(1, 0, 2), **FWD)
    g = nnx.jit(nnx.grad(loss))(model)
    np.testing.assert_allclose(g.encoder.embedding[...], ref.word.weight.grad.numpy(), **GRAD)
    np.testing.assert_allclose(g.position_table[...], ref.pos.weight.grad.numpy(), **GRAD)
    for i in range(layers):
        block = g.layers[i]
        pairs = (
            (block.attn.qkv.kernel, ref.wqkv[i].weight.grad.T),
            (block.attn.qkv.bias, ref.wqkv[i].bias.grad),
            (block.attn.out.kernel, ref.out_proj[i].weight.grad.T),
            (block.attn.out.bias, ref.out_proj[i].bias.grad),
            (block.attn_norm.scale, ref.norm1[i].weight.grad),
            (block.attn_norm.bias, ref.norm1[i].bias.grad),
            (block.state_norm.scale, ref.norm2[i].weight.grad),
            (block.state_norm.bias, ref.norm2[i].bias.grad),
        )
        for ours, theirs in pairs:
            np.testing.assert_allclose(ours[...], theirs.numpy(), **GRAD)
    np.testing.assert_allclose(g.final_norm.scale[...], ref.ln_f.weight.grad.numpy(), **GRAD)
    np.testing.assert_allclose(g.final_norm.bias[...], ref.ln_f.bias.grad.numpy(), **GRAD)


def test_zoology_differs_from_the_seqlab_block_with_shared_weights():
    """The control: attention and norms copied into a seqlab pre-LN block (plus its MLP set to
    zero, so only the LN_2 skip and the readout differ) give other logits."""
    vocab, d, length = 24, 8, 8
    ref = TorchZoology(vocab, d, 1, 2, length)
    randomise(ref, 24)
    spec = mqar_spec(length, vocab)
    model = build("transformer", spec, attention_block="seqlab", hidden=d, layers=1, heads=2)
    set_param(model.encoder.embedding, ref.word.weight)
    set_param(model.position_table, ref.pos.weight)
    copy_attention_from(model.layers[0], ref)
    for p in (model.layers[0].mlp_out.kernel, model.layers[0].mlp_out.bias):
        p[...] = jnp.zeros_like(p[...])
    ids = np.random.default_rng(25).integers(0, vocab, (B, length))
    ours = np.asarray(apply(model, jnp.asarray(ids.T, jnp.int32)))
    theirs = tnp(ref(torch.from_numpy(ids))).transpose(1, 0, 2)
    assert np.abs(ours - theirs).max() > 1e-2


def copy_attention_from(block: TransformerBlock, ref: TorchZoology) -> None:
    set_param(block.attn_norm.scale, ref.norm1[0].weight)
    set_param(block.attn_norm.bias, ref.norm1[0].bias)
    set_param(block.attn.qkv.kernel, tnp(ref.wqkv[0].weight).T)
    set_param(block.attn.qkv.bias, ref.wqkv[0].bias)
    set_param(block.attn.out.kernel, tnp(ref.out_proj[0].weight).T)
    set_param(block.attn.out.bias, ref.out_proj[0].bias)


# Zoology Fig. 2's smallest attention model on MQAR at (64, 4): d_model 64, 2 layers, 1 head,
# vocabulary 8192. Theirs: embedding 8192·64 + positions 64·64 + 2 x (Wqkv 64·192 + 192,
# out_proj 64·64 + 64, two LayerNorms 4·64) + ln_f 2·64, the readout tied (no parameters).
ZOOLOGY_FIG2_PARAMS = 8192 * 64 + 64 * 64 + 2 * (64 * 192 + 192 + 64 * 64 + 64 + 4 * 64) + 2 * 64
# seqlab's block at the same size: each block also has an MLP (64 -> 256 -> 64), the final norm
# has no bias, and the readout its own 64 x 8192 kernel and bias.
SEQLAB_FIG2_PARAMS = (
    8192 * 64 + 64 * 64
    + 2 * (4 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 64 * 256 + 256 + 256 * 64 + 64)
    + 64 + 64 * 8192 + 8192
)  # fmt: skip


def test_zoology_parameter_count_on_mqar():
    assert ZOOLOGY_FIG2_PARAMS == 562_304 and SEQLAB_FIG2_PARAMS == 1_160_896
    spec = mqar_spec(64, 8192)
    zoo = model_cfg("transformer", attention_block="zoology", hidden=64, layers=2, heads=1)
    seq = model_cfg("transformer", attention_block="seqlab", hidden=64, layers=2, heads=1)
    assert count_params(zoo, spec) == ZOOLOGY_FIG2_PARAMS
    assert count_params(seq, spec) == SEQLAB_FIG2_PARAMS
    ref = TorchZoology(8192, 64, 2, 1, 64)
    assert sum(p.numel() for p in ref.parameters()) == ZOOLOGY_FIG2_PARAMS  # tied: once


def test_zoology_initialisation():
    """Their _init_weights: N(0, 0.02²) embeddings and linear weights, the attention output
    N(0, (0.02/√(2·layers))²), zero biases, unit LayerNorms, the readout the embedding itself."""
    layers = 4
    model = build("transformer", mqar_spec(64, 8192), attention_block="zoology", hidden=64,
                  layers=layers, heads=1)  # fmt: skip
    assert model.readout.embed is model.encoder
    stds = {
        "embedding": (model.encoder.embedding[...], 0.02),
        "positions": (model.position_table[...], 0.02),
        "qkv": (jnp.concatenate([b.attn.qkv.kernel[...] for b in model.layers]), 0.02),
        "out": (jnp.concatenate([b.attn.out.kernel[...] for b in model.layers]), 0.02 / 8**0.5),
    }
    for name, (w, std) in stds.items():
        w = np.asarray(w)
        assert abs(w.mean()) < 0.1 * std, name
        assert w.std() == pytest.approx(std, rel=0.05 if w.size > 40_000 else 0.1), name
    for b in model.layers:
        assert (
            not np.asarray(b.attn.qkv.bias[...]).any()
            and not np.asarray(b.attn.out.bias[...]).any()
        )
        for norm in (b.attn_norm, b.state_norm):
            assert (np.asarray(norm.scale[...]) == 1).all() and not np.asarray(norm.bias[...]).any()
            assert norm.epsilon == 1e-5
    assert model.final_norm.bias is not None and model.final_norm.epsilon == 1e-5
    # the seqlab block keeps flax's defaults (LeCun-normal: std 1/8 at width 64)
    seqlab = build("transformer", mqar_spec(64, 8192), hidden=64, layers=1, heads=1)
    assert np.asarray(seqlab.layers[0].attn.qkv.kernel[...]).std() > 0.1


def test_zoology_needs_a_token_task_whose_outputs_are_its_tokens():
    with pytest.raises(ValueError, match=r"ties the readout to the token embedding.*reals in"):
        build("transformer", task("adding", T).spec, attention_block="zoology")
    with pytest.raises(ValueError, match=r"'parity' has 3 tokens in, 2 outputs"):
        build("transformer", task("parity", T).spec, attention_block="zoology")
    with pytest.raises(ValueError, match="valid choices: seqlab, zoology"):
        build("transformer", mqar_spec(16, 64), attention_block="theirs")
