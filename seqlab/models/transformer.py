"""A small pre-LayerNorm Transformer: a causal decoder, or a bidirectional encoder.

Each block (Vaswani et al. 2017, "Attention is all you need", with the pre-LN placement of
Xiong et al. 2020) keeps the residual stream `model.hidden` wide:

    x = x + Attn(LN(x)),    x = x + W_2 GELU(W_1 LN(x) + b_1) + b_2   (W_1: D -> mlp_ratio·D)

    Attn(x) = concat_n softmax(q_n k_nᵀ / √d_h + mask) v_n · W_o + b_o,   [q|k|v] = x W_qkv + b_qkv

computed by `jax.nn.dot_product_attention` (causal for the decoder; the encoder masks keys
beyond each sequence's length). GELU is the exact (erf) form, torch's default.

Positions (`model.positions`):
- "learned": a table of `spec.seq_len` vectors added to the encoder's output;
- "sinusoidal": PE[t, 2i] = sin(t / 10000^(2i/D)), PE[t, 2i+1] = cos(t / 10000^(2i/D)),
  added (Vaswani et al. 2017, §3.5);
- "rotary": RoFormer (Su et al. 2021, eqs. 13-15): within each head, the pairs
  (x_{2i}, x_{2i+1}) of q and k are rotated by the angle t·θ_i, θ_i = 10000^(-2i/d_h), so
  q_mᵀ k_n depends on the positions only through m - n. The head width must be even;
- "alibi": ALiBi (Press et al. 2022): no codes; head n adds m_n·b(t, s) to its attention logit
  of query t and key s, after the 1/√d_h scaling, with b(t, s) = -|t - s| + 0.5·[s < t] and the
  slopes m_n = 2^(-8(n+1)/N) of their code for N a power of two. The 0.5 on past keys is
  Delétang et al.'s (models/positional_encodings.py: compute_alibi_encodings_biases), so that an
  encoder can tell left from right;
- "relative": Transformer-XL's relative encoding (Dai et al. 2019, §3.3), as Delétang et al.'s
  models/positional_encodings.py computes it (compute_attention_with_relative_encodings): the
  logit of query t and key s is ((q_t + u)·k_s + (q_t + v)·W_r R_{t-s}) / √d_h, with u, v
  learned per head (N(0, 0.02²)), W_r a learned D×D projection without bias, and R_p the
  sinusoids [sin(p·ω_i) | cos(p·ω_i)], ω_i = 10000^(-2i/D), of the offset p = t - s (positive
  for past keys). Theirs for a causal decoder takes R_{t-s+1}, a rotation of these codes
  that W_r absorbs; here both forms use R_{t-s};
- "none": no positions (NoPE). The encoder is then blind to order (permutation-equivariant);
  the causal decoder still sees it through its mask. One of the five encodings Delétang et
  al. 2023 take the best of (their models/positional_encodings.py).

The decoder streams with a key/value cache of `spec.seq_len` steps (`initial_state`/`step`);
the encoder attends to future steps and has no streaming form.

`model.attention_block=zoology` builds instead the attention baseline of Zoology (Arora et al.
2023, Fig. 2), as HazyResearch/zoology builds it (zoology/model.py: TransformerBlock,
LMBackbone, LanguageModel, _init_weights; zoology/mixers/attention.py: MHA; the Fig. 2 configs,
zoology/experiments/paper_configs/iclr24_zoology_figure2/configs.py, give the attention mixer
`num_heads=1` and the state mixer `torch.nn.Identity`). Their block passes (hidden, residual)
pairs: r = h + r, then norm, then mixer, twice per block. With the Identity state mixer the
second half is not a no-op: the next block (or the final norm) adds LN_2(r) to the stream, so

    x = x + Attn(LN_1(x)),    x = x + LN_2(x)      (no MLP; LayerNorms with bias, eps 1e-5)

then a final LayerNorm (with bias, eps 1e-5) and a readout tied to the token embedding, with
no bias: logits = LN_f(x) Eᵀ. Initialisation (their _init_weights, GPT-2's): every linear
weight and both embeddings (tokens, learned positions) N(0, 0.02²), biases 0, the attention
output projection N(0, (0.02/√(2·layers))²), LayerNorms 1 and 0. Heads and positions stay
`model.heads` and `model.positions` (theirs: 1, learned). Their dropout (0.1 on the embedding
and on the attention weights, the Fig. 2 setting) is not in seqlab: training here is without it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.config import ATTENTION_BLOCKS, POSITIONS
from seqlab.models.sequence import SequenceModel
from seqlab.models.sizing import BLOCK_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

NO_STREAMING = "a bidirectional encoder (model.causal=false) attends to future steps: no streaming"
ZOOLOGY_STD = 0.02  # zoology/model.py _init_weights: initializer_range
ZOOLOGY_EPS = 1e-5  # torch.nn.LayerNorm's default, and their layer_norm_epsilon


# ---------------------------------------------------------------- positions


def sinusoids(positions: jax.Array, features: int) -> jax.Array:
    """Sinusoidal codes [..., features] for integer positions [...] (odd widths drop a cos)."""
    freq_F = 10000.0 ** (-jnp.arange(0, features, 2, dtype=jnp.float32) / features)
    angle = jnp.asarray(positions, jnp.float32)[..., None] * freq_F
    codes = jnp.stack([jnp.sin(angle), jnp.cos(angle)], axis=-1)  # interleave sin, cos
    return codes.reshape(*angle.shape[:-1], -1)[..., :features]


def rotary(x: jax.Array, positions: jax.Array) -> jax.Array:
    """Rotates the pairs (x_{2i}, x_{2i+1}) of the last axis by positions·θ_i (RoFormer eq. 15).

    `positions` broadcasts against x.shape[:-1]: [T, 1, 1] for x [T, B, N, H], a scalar for
    one streamed step.
    """
    head = x.shape[-1]
    if head % 2:
        raise ValueError(f"rotary positions need an even head width, got {head}")
    theta = 10000.0 ** (-jnp.arange(0, head, 2, dtype=jnp.float32) / head)
    angle = jnp.asarray(positions, jnp.float32)[..., None] * theta
    cos, sin = jnp.cos(angle).astype(x.dtype), jnp.sin(angle).astype(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    rotated = jnp.stack([even * cos - odd * sin, even * sin + odd * cos], axis=-1)
    return rotated.reshape(x.shape)


def relative_codes(offsets: jax.Array, features: int) -> jax.Array:
    """Transformer-XL's codes [..., features] of integer offsets [...]: sin of every frequency,
    then cos of every frequency (Delétang et al.'s sinusoid_position_encoding; unlike
    `sinusoids`, not interleaved). `features` must be even."""
    freq_F = 10000.0 ** (-jnp.arange(0, features, 2, dtype=jnp.float32) / features)
    angle = jnp.asarray(offsets, jnp.float32)[..., None] * freq_F
    return jnp.concatenate([jnp.sin(angle), jnp.cos(angle)], axis=-1)


def alibi_slopes(heads: int) -> list[float]:
    """ALiBi's slope per head: for N a power of two the geometric sequence 2^(-8/N), 2^(-16/N),
    ..., 2^(-8); otherwise those of the nearest power of two below, then every other slope of
    the next power of two (ofirpress/attention_with_linear_biases, as Delétang et al. take it)."""
    exponent = math.log2(heads)
    if exponent.is_integer():
        return [2.0 ** (-8.0 * (n + 1) / heads) for n in range(heads)]
    below = 2 ** math.floor(exponent)
    return alibi_slopes(below) + alibi_slopes(2 * below)[0::2][: heads - below]


def alibi_bias(heads: int, queries: jax.Array, keys: jax.Array) -> jax.Array:
    """[N, Tq, Tk] ALiBi biases for integer query positions [Tq] and key positions [Tk]."""
    offset = queries[:, None] - keys[None, :]  # t - s
    b = -jnp.abs(offset).astype(jnp.float32) + 0.5 * (offset > 0)
    return jnp.asarray(alibi_slopes(heads), jnp.float32)[:, None, None] * b


# ---------------------------------------------------------------- attention


class KVCache(NamedTuple):
    """A decoder layer's streaming state: keys/values of the steps seen, and their count."""

    k_BSNH: jax.Array
    v_BSNH: jax.Array
    t: jax.Array  # int32 scalar: the next step's position


class SelfAttention(nnx.Module):
    """Multi-head self-attention over [T, B, D]: fused q/k/v projection, output projection."""

    def __init__(
        self,
        features: int,
        heads: int,
        *,
        rngs: nnx.Rngs,
        causal: bool = True,
        positions: str = "learned",
        max_len: int = 0,
        init: dict | None = None,
        out_init: dict | None = None,
    ):
        """`positions`: the model's; "rotary", "alibi" and "relative" act here, the others
        (added to the input, or none) leave attention blind to order. `init`, `out_init`:
        keyword arguments (initialisers) of the q/k/v and output projections' nnx.Linear;
        flax's defaults when None."""
        if features % heads:
            raise ValueError(f"model.hidden={features} must be a multiple of model.heads={heads}")
        self.rotary = positions == "rotary"
        self.alibi = positions == "alibi"
        self.relative = positions == "relative"
        if (self.rotary and (features // heads) % 2) or (self.relative and features % 2):
            raise ValueError(
                f"model.positions={positions} needs an even width; model.hidden={features}, "
                f"model.heads={heads}"
            )
        self.heads = heads
        self.causal = causal
        self.max_len = max_len  # key/value cache length for streaming
        self.qkv = nnx.Linear(features, 3 * features, rngs=rngs, **(init or {}))
        self.out = nnx.Linear(features, features, rngs=rngs, **(out_init or {}))
        if self.relative:
            head = features // heads
            bias_init = nnx.initializers.normal(0.02)  # theirs: RandomNormal(stddev=0.02)
            self.content_bias = nnx.Param(bias_init(rngs.params(), (heads, head)))  # u
            self.position_bias = nnx.Param(bias_init(rngs.params(), (heads, head)))  # v
            self.relative_keys = nnx.Linear(features, features, use_bias=False, rngs=rngs)  # W_r

    def _relative(self, q: jax.Array, offsets: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Transformer-XL's attention for queries q [B, Tq, N, H] and the offsets [Tq, Tk] of
        their keys: the query for the content term (q + u), and the position term
        (q + v)·W_r R_{t-s} / √H as a bias [B, N, Tq, Tk] (added after the 1/√H scaling of
        the content term, so both are scaled alike)."""
        N, H = q.shape[-2:]
        keys_QKNH = self.relative_keys(relative_codes(offsets, N * H)).reshape(*offsets.shape, N, H)
        position = jnp.einsum("bqnh,qknh->bnqk", q + self.position_bias[...], keys_QKNH)
        return q + self.content_bias[...], position / math.sqrt(H)

    def _split_heads(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """[..., D] -> q, k, v each [..., N, D/N] (head n holds features n·D/N .. (n+1)·D/N)."""
        q, k, v = jnp.split(self.qkv(x), 3, axis=-1)
        shape = (*x.shape[:-1], self.heads, x.shape[-1] // self.heads)
        return q.reshape(shape), k.reshape(shape), v.reshape(shape)

    def __call__(self, x_TBD: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        T, B, D = x_TBD.shape
        q, k, v = self._split_heads(x_TBD)  # [T, B, N, H]
        if self.rotary:
            t_T11 = jnp.arange(T)[:, None, None]
            q, k = rotary(q, t_T11), rotary(k, t_T11)
        q, k, v = (a.transpose(1, 0, 2, 3) for a in (q, k, v))  # the function is batch-major
        # Causal attention needs no length mask: padding only follows a sequence's valid
        # steps, which never attend to it. The encoder must not attend to padded keys.
        kv_lengths = None if self.causal or lengths is None else lengths.astype(jnp.int32)
        t_T = jnp.arange(T)
        bias = alibi_bias(self.heads, t_T, t_T)[None] if self.alibi else None
        if self.relative:
            q, bias = self._relative(q, t_T[:, None] - t_T[None, :])
        y_BTNH = jax.nn.dot_product_attention(
            q, k, v, bias=bias, is_causal=self.causal, key_value_seq_lengths=kv_lengths
        )
        return self.out(y_BTNH.transpose(1, 0, 2, 3).reshape(T, B, D))

    def initial_state(self, batch_size: int) -> KVCache:
        if not self.causal:
            raise NotImplementedError(NO_STREAMING)
        D = self.out.in_features
        zeros = jnp.zeros((batch_size, self.max_len, self.heads, D // self.heads), jnp.float32)
        return KVCache(zeros, zeros, jnp.zeros((), jnp.int32))

    def step(self, cache: KVCache, x_BD: jax.Array) -> tuple[KVCache, jax.Array]:
        """One step at position cache.t (< max_len: the cache does not grow)."""
        if not self.causal:
            raise NotImplementedError(NO_STREAMING)
        B, D = x_BD.shape
        q, k, v = self._split_heads(x_BD)  # [B, N, H]
        if self.rotary:
            q, k = rotary(q, cache.t), rotary(k, cache.t)
        k_BSNH = jax.lax.dynamic_update_slice_in_dim(cache.k_BSNH, k[:, None], cache.t, axis=1)
        v_BSNH = jax.lax.dynamic_update_slice_in_dim(cache.v_BSNH, v[:, None], cache.t, axis=1)
        seen_B = jnp.full((B,), cache.t + 1, jnp.int32)  # keys 0..t are filled
        bias = None
        if self.alibi:
            bias = alibi_bias(self.heads, cache.t[None], jnp.arange(self.max_len))[None]
        q = q[:, None]
        if self.relative:
            q, bias = self._relative(q, cache.t - jnp.arange(self.max_len)[None, :])
        y_B1NH = jax.nn.dot_product_attention(
            q, k_BSNH, v_BSNH, bias=bias, key_value_seq_lengths=seen_B
        )
        return KVCache(k_BSNH, v_BSNH, cache.t + 1), self.out(y_B1NH.reshape(B, D))


# ---------------------------------------------------------------- block


class TransformerBlock(nnx.Module):
    """x + Attn(LN(x)), then x + MLP(LN(x)); [T, B, D] -> [T, B, D] (residuals included)."""

    needs_lengths = True  # SequenceModel passes the batch's lengths (the encoder masks keys)

    def __init__(
        self,
        features: int,
        heads: int,
        *,
        rngs: nnx.Rngs,
        mlp_ratio: int = 4,
        causal: bool = True,
        positions: str = "learned",
        max_len: int = 0,
    ):
        self.out_features = features
        self.attn_norm = nnx.LayerNorm(features, rngs=rngs)
        self.attn = SelfAttention(
            features, heads, rngs=rngs, causal=causal, positions=positions, max_len=max_len
        )
        self.mlp_norm = nnx.LayerNorm(features, rngs=rngs)
        self.mlp_in = nnx.Linear(features, mlp_ratio * features, rngs=rngs)
        self.mlp_out = nnx.Linear(mlp_ratio * features, features, rngs=rngs)

    def mlp(self, x: jax.Array) -> jax.Array:
        return self.mlp_out(jax.nn.gelu(self.mlp_in(self.mlp_norm(x)), approximate=False))

    def __call__(self, x_TBD: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        x_TBD = x_TBD + self.attn(self.attn_norm(x_TBD), lengths)
        return x_TBD + self.mlp(x_TBD)

    def initial_state(self, batch_size: int) -> KVCache:
        return self.attn.initial_state(batch_size)

    def step(self, cache: KVCache, x_BD: jax.Array) -> tuple[KVCache, jax.Array]:
        cache, a_BD = self.attn.step(cache, self.attn_norm(x_BD))
        x_BD = x_BD + a_BD
        return cache, x_BD + self.mlp(x_BD)


class ZoologyBlock(nnx.Module):
    """Zoology's attention block (module docstring): x + Attn(LN_1(x)), then x + LN_2(x)."""

    needs_lengths = True

    def __init__(
        self,
        features: int,
        heads: int,
        *,
        rngs: nnx.Rngs,
        layers: int,
        causal: bool = True,
        positions: str = "learned",
        max_len: int = 0,
    ):
        self.out_features = features
        normal = nnx.initializers.normal
        self.attn_norm = nnx.LayerNorm(features, epsilon=ZOOLOGY_EPS, rngs=rngs)
        self.attn = SelfAttention(
            features,
            heads,
            rngs=rngs,
            causal=causal,
            positions=positions,
            max_len=max_len,
            init=dict(kernel_init=normal(ZOOLOGY_STD)),
            # GPT-2's scaled init of the projection into the residual stream: 2 per layer in
            # their formula (it counts an MLP the Fig. 2 blocks do not have)
            out_init=dict(kernel_init=normal(ZOOLOGY_STD / (2 * layers) ** 0.5)),
        )
        self.state_norm = nnx.LayerNorm(features, epsilon=ZOOLOGY_EPS, rngs=rngs)

    def __call__(self, x_TBD: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        x_TBD = x_TBD + self.attn(self.attn_norm(x_TBD), lengths)
        return x_TBD + self.state_norm(x_TBD)  # their Identity state mixer's output, added

    def initial_state(self, batch_size: int) -> KVCache:
        return self.attn.initial_state(batch_size)

    def step(self, cache: KVCache, x_BD: jax.Array) -> tuple[KVCache, jax.Array]:
        cache, a_BD = self.attn.step(cache, self.attn_norm(x_BD))
        x_BD = x_BD + a_BD
        return cache, x_BD + self.state_norm(x_BD)


class TiedReadout(nnx.Module):
    """Logits as the final state against the token embedding, x Eᵀ (no bias): the readout
    shares its parameters with the encoder (Zoology's lm_head.weight = word_embeddings.weight)."""

    def __init__(self, embed: nnx.Embed):
        self.embed = embed

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.embed.attend(x)


# ---------------------------------------------------------------- model


def check_config(cfg) -> None:
    """ValueError for a combination the Transformer cannot build."""
    if cfg.positions not in POSITIONS:
        raise ValueError(
            f"model.positions is {cfg.positions!r}; valid choices: {', '.join(POSITIONS)}"
        )
    if cfg.hidden % cfg.heads:
        raise ValueError(f"model.hidden={cfg.hidden} must be a multiple of model.heads={cfg.heads}")
    if cfg.positions == "rotary" and (cfg.hidden // cfg.heads) % 2:
        raise ValueError(
            f"model.positions=rotary needs an even head width model.hidden/model.heads, got "
            f"{cfg.hidden}/{cfg.heads} = {cfg.hidden // cfg.heads}"
        )
    if cfg.positions == "relative" and cfg.hidden % 2:
        raise ValueError(f"model.positions=relative needs an even model.hidden, got {cfg.hidden}")
    if cfg.attention_block not in ATTENTION_BLOCKS:
        raise ValueError(
            f"model.attention_block is {cfg.attention_block!r}; valid choices: "
            f"{', '.join(ATTENTION_BLOCKS)}"
        )


def width_multiple(heads: int, positions: str) -> int:
    """What model.hidden must be a multiple of: the heads; with rotary an even head width; with
    relative an even width."""
    if positions == "rotary":
        return 2 * heads
    return math.lcm(heads, 2) if positions == "relative" else heads


def check_tied(spec: TaskSpec) -> None:
    """ValueError unless the readout can be the token embedding (attention_block=zoology)."""
    if spec.input_kind != "tokens" or spec.out_features != spec.vocab_size:
        what = (
            "reals" if spec.input_kind != "tokens" else f"{spec.vocab_size} tokens"
        ) + f" in, {spec.out_features} outputs"
        raise ValueError(
            "model.attention_block=zoology ties the readout to the token embedding, so the "
            f"task must read tokens and predict one of them; task {spec.name!r} has {what}"
        )


class Transformer(SequenceModel):
    """SequenceModel of TransformerBlocks with positions added after the encoder (or in
    attention: rotary, alibi)."""

    def __init__(self, cfg, spec: TaskSpec, *, rngs: nnx.Rngs):
        check_config(cfg)
        zoology = cfg.attention_block == "zoology"
        if zoology:
            check_tied(spec)

        def make_block(index: int, in_features: int, rngs: nnx.Rngs) -> nnx.Module:
            if zoology:
                return ZoologyBlock(
                    in_features,
                    cfg.heads,
                    rngs=rngs,
                    layers=cfg.layers,
                    causal=cfg.causal,
                    positions=cfg.positions,
                    max_len=spec.seq_len,
                )
            return TransformerBlock(
                in_features,
                cfg.heads,
                rngs=rngs,
                mlp_ratio=cfg.mlp_ratio,
                causal=cfg.causal,
                positions=cfg.positions,
                max_len=spec.seq_len,
            )

        super().__init__(cfg, spec, make_block, rngs=rngs, blocks=True)
        if zoology:  # their embedding init, final LayerNorm (with bias), tied readout
            init = nnx.initializers.normal(ZOOLOGY_STD)
            self.encoder = nnx.Embed(spec.vocab_size, cfg.hidden, embedding_init=init, rngs=rngs)
            self.final_norm = nnx.LayerNorm(cfg.hidden, epsilon=ZOOLOGY_EPS, rngs=rngs)
            self.readout = TiedReadout(self.encoder)
        self.positions = cfg.positions
        self.causal = cfg.causal
        self.hidden = cfg.hidden
        if cfg.positions == "learned":
            init = nnx.initializers.normal(0.02)  # GPT-2/BERT's scale for learned positions
            self.position_table = nnx.Param(init(rngs.params(), (spec.seq_len, cfg.hidden)))

    def position_codes(self, positions: jax.Array) -> jax.Array | None:
        """Codes added to the encoder's output at integer `positions`; None for the others."""
        if self.positions == "learned":
            return self.position_table[...][positions]
        if self.positions == "sinusoidal":
            return sinusoids(positions, self.hidden)
        return None

    def encode(self, inputs: jax.Array) -> jax.Array:
        """Whole sequences [T, B(, D_in)] -> [T, B, D], positions 0..T-1 added."""
        x_TBD = self.encoder(inputs)
        T = x_TBD.shape[0]
        if self.positions == "learned" and self.spec.seq_len < T:
            raise ValueError(f"{T} steps exceed the {self.spec.seq_len} learned positions")
        codes_TD = self.position_codes(jnp.arange(T))
        return x_TBD if codes_TD is None else x_TBD + codes_TD[:, None, :]

    def initial_state(self, batch_size: int) -> list[KVCache]:
        if not self.causal:
            raise NotImplementedError(NO_STREAMING)
        return super().initial_state(batch_size)

    def step(self, state: list[KVCache], inputs_B: jax.Array) -> tuple[list[KVCache], jax.Array]:
        """One step at position state[0].t (every layer's cache holds the same count)."""
        if not self.causal:
            raise NotImplementedError(NO_STREAMING)
        x_BD = self.encoder(inputs_B)
        codes_D = self.position_codes(state[0].t)
        if codes_D is not None:
            x_BD = x_BD + codes_D
        new_state = []
        for layer, cache in zip(self.layers, state, strict=True):
            cache, x_BD = layer.step(cache, x_BD)  # blocks return x + their residual branches
            new_state.append(cache)
        return new_state, self.readout(self.final_norm(x_BD))


@MODELS.register(
    "transformer",
    "pre-LN Transformer: causal decoder (model.causal=true) or encoder; learned, sinusoidal, "
    "rotary, ALiBi, Transformer-XL relative or no positions (Vaswani et al. 2017; Su et al. "
    "2021; Press et al. 2022; Dai et al. 2019); "
    "model.attention_block=zoology: "
    "Zoology's attention-only baseline (Arora et al. 2023)",
    sizes=BLOCK_SIZES,
    blocks=True,
    causal=lambda cfg: cfg.causal,
    width_multiple=lambda cfg: width_multiple(cfg.heads, cfg.positions),
    size_fields=("heads", "positions"),
    step_limit=lambda cfg, spec: (
        (
            spec.seq_len,
            "model.positions=learned has one position per training step; "
            "sinusoidal, rotary, alibi, relative and none extrapolate",
        )
        if cfg.positions == "learned"
        else None
    ),
)
def make_transformer(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> Transformer:
    return Transformer(cfg, spec, rngs=rngs)
