"""The mLSTM cell (Beck et al. 2024, xLSTM, eqs. 19–27) in three equal forms.

Per head, with gate pre-activations ĩ_t, f̃_t (scalars) and q_t, k_t, v_t ∈ R^d:

    log f_t = log σ(f̃_t)                         (sigmoid forget gate, used in log space)
    m_t = max(log f_t + m_{t-1}, ĩ_t)              (stabiliser; the input gate is exp(ĩ_t))
    C_t = e^{log f_t + m_{t-1} - m_t} C_{t-1} + e^{ĩ_t - m_t} k_t v_tᵀ,   k_t ← k_t / √d
    n_t = e^{log f_t + m_{t-1} - m_t} n_{t-1} + e^{ĩ_t - m_t} k_t
    h_t = C_tᵀ q_t / (max(|n_tᵀ q_t|, e^{-m_t}) + ε),   ε = 1e-6

C and n are held scaled by e^{-m_t}, so max(|nᵀq|, e^{-m}) is the paper's max(|nᵀq|, 1) in
those units and m cancels from h except in ε. These are exactly NX-AI's semantics (`xlstm`
blocks/mlstm/backends.py, `mlstm_kernels` native torch code), including the layout of C:
NX-AI stores k vᵀ ([d_k, d_v], the transpose of the paper's v kᵀ) and so do we, so states copy
across. (`mlstm_kernels` scales q instead of k: its C and n are √d times ours; h is the same.)

Initial state: C = 0, n = 0, m = 0 (NX-AI's `step` and mlstm_kernels' recurrent/chunkwise
defaults). The parallel form has no state: its stabiliser is the row max of the log decay
matrix (NX-AI's `parallel_stabilized_simple`), i.e. m_0 = −∞. A larger m only adds ε·e^{m} to
the true denominator, and the recurrent m exceeds the parallel one only when it is
Σ log f ≤ 0, so the forms differ by less than ε relative.

Layout: q, k, v [B, NH, T, DH]; gate pre-activations i, f [B, NH, T]; state
C [B, NH, DH, DH], n [B, NH, DH], m [B, NH]. Everything is pure JAX; no gradient is stopped.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

FORMS = ("recurrent", "parallel", "chunkwise")
EPS = 1e-6
# e^{-m} is capped at e^{80}: with i ≪ 0 and f ≪ 0 the stabiliser sinks below -88 and e^{-m}
# overflows float32, whose gradient (∞·0) is NaN. Where the cap binds the denominator is
# e^{80} either way up to |nᵀq| (bounded: stabilised weights are ≤ 1), so h changes by < 1e-34.
MAX_NEG_LOG = 80.0


class MLSTMState(NamedTuple):
    C: jax.Array  # [B, NH, DH, DH]: Σ k vᵀ (k scaled by 1/√d), times e^{-m}
    n: jax.Array  # [B, NH, DH]: Σ k, times e^{-m}
    m: jax.Array  # [B, NH]: the stabiliser (a log scale)


def initial_state(batch_size: int, heads: int, head_dim: int, dtype=jnp.float32) -> MLSTMState:
    return MLSTMState(
        jnp.zeros((batch_size, heads, head_dim, head_dim), dtype),
        jnp.zeros((batch_size, heads, head_dim), dtype),
        jnp.zeros((batch_size, heads), dtype),
    )


def _normalise(num: jax.Array, qn: jax.Array, m: jax.Array) -> jax.Array:
    """num [..., DH] / (max(|qn|, e^{-m}) + ε), qn and m [...]."""
    denom = jnp.maximum(jnp.abs(qn), jnp.exp(jnp.minimum(-m, MAX_NEG_LOG))) + EPS
    return num / denom[..., None]


def _scale(k: jax.Array) -> jax.Array:
    return k / jnp.sqrt(jnp.asarray(k.shape[-1], k.dtype))


# ---------------------------------------------------------------- recurrent


def mlstm_step(
    state: MLSTMState, q: jax.Array, k: jax.Array, v: jax.Array, i: jax.Array, f: jax.Array
) -> tuple[MLSTMState, jax.Array]:
    """One time step: q, k, v [B, NH, DH], i, f [B, NH] -> (state, h [B, NH, DH])."""
    C, n, m = state
    log_f = jax.nn.log_sigmoid(f)
    m_new = jnp.maximum(log_f + m, i)
    f_act = jnp.exp(log_f + m - m_new)
    i_act = jnp.exp(i - m_new)
    k = _scale(k)
    C = f_act[..., None, None] * C + i_act[..., None, None] * (k[..., :, None] * v[..., None, :])
    n = f_act[..., None] * n + i_act[..., None] * k
    num = jnp.einsum("...d,...de->...e", q, C)
    qn = jnp.einsum("...d,...d->...", q, n)
    return MLSTMState(C, n, m_new), _normalise(num, qn, m_new)


def mlstm_recurrent(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    i: jax.Array,
    f: jax.Array,
    state: MLSTMState | None = None,
) -> tuple[jax.Array, MLSTMState]:
    """`mlstm_step` scanned over time: h [B, NH, T, DH] and the last state."""
    B, NH, _, DH = q.shape
    if state is None:
        state = initial_state(B, NH, DH, q.dtype)
    xs = tuple(jnp.moveaxis(a, 2, 0) for a in (q, k, v, i, f))  # time leading for the scan
    state, h_TBND = jax.lax.scan(lambda s, x: mlstm_step(s, *x), state, xs)
    return jnp.moveaxis(h_TBND, 0, 2), state


# ---------------------------------------------------------------- parallel


def _log_decay(b: jax.Array, i: jax.Array) -> jax.Array:
    """log D[t, s] = Σ_{s<r≤t} log f_r + ĩ_s for s ≤ t, −∞ above the diagonal.

    b [..., L] is the cumulative sum of log f; the result is [..., L, L].
    """
    L = b.shape[-1]
    log_D = b[..., :, None] - b[..., None, :] + i[..., None, :]
    return jnp.where(jnp.tril(jnp.ones((L, L), bool)), log_D, -jnp.inf)


def mlstm_parallel(q: jax.Array, k: jax.Array, v: jax.Array, i: jax.Array, f: jax.Array):
    """Attention-like form (eq. 27 ff.): h [B, NH, T, DH], O(T²) memory, no initial state."""
    b = jnp.cumsum(jax.nn.log_sigmoid(f), axis=-1)
    log_D = _log_decay(b, i)  # [B, NH, T, T]
    m = jnp.max(log_D, axis=-1)  # row-wise stabiliser (the diagonal is always finite)
    weights = jnp.einsum("...td,...sd->...ts", q, _scale(k)) * jnp.exp(log_D - m[..., None])
    return _normalise(weights @ v, weights.sum(-1), m)


# ---------------------------------------------------------------- chunkwise


def mlstm_chunkwise(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    i: jax.Array,
    f: jax.Array,
    chunk_size: int = 64,
    state: MLSTMState | None = None,
) -> tuple[jax.Array, MLSTMState]:
    """Chunkwise form: states at chunk boundaries by a scan, each chunk's outputs in parallel.

    T need not be a multiple of `chunk_size`: the tail is padded with steps that leave the
    state unchanged (log f = 0, ĩ = −∞), so the returned last state is that after step T.
    Equal to `mlstm_recurrent` including the stabiliser (and so ε), as mlstm_kernels' chunkwise.
    """
    B, NH, T, DH = q.shape
    if state is None:
        state = initial_state(B, NH, DH, q.dtype)
    L = chunk_size
    pad = -T % L
    log_f = jax.nn.log_sigmoid(f)
    if pad:
        widths = lambda a: [(0, 0), (0, 0), (0, pad)] + [(0, 0)] * (a.ndim - 3)  # noqa: E731
        q, k, v = (jnp.pad(a, widths(a)) for a in (q, k, v))
        log_f = jnp.pad(log_f, widths(log_f))
        i = jnp.pad(i, widths(i), constant_values=-jnp.inf)
    NC = (T + pad) // L
    chunked = lambda a: a.reshape(B, NH, NC, L, *a.shape[3:])  # noqa: E731
    q, k, v, i, log_f = (chunked(a) for a in (q, k, v, i, log_f))
    k = _scale(k)
    b = jnp.cumsum(log_f, axis=-1)  # [B, NH, NC, L]: log decay from each chunk's start
    b_end = b[..., -1]  # [B, NH, NC]

    # 1. Each chunk's own contribution to the state at its end, under its own stabiliser.
    a = b_end[..., None] - b + i  # log weight of step s in the chunk-end state
    m_local = jnp.max(a, axis=-1)
    w = jnp.exp(a - m_local[..., None])
    kv = jnp.einsum("...ld,...l,...le->...de", k, w, v)  # [B, NH, NC, DH, DH]
    k_sum = jnp.einsum("...ld,...l->...d", k, w)

    # 2. States at the chunk starts: a scan of cheap combines (no per-step work).
    def combine(s: MLSTMState, chunk):
        kv_c, k_sum_c, m_local_c, b_end_c = chunk
        m_new = jnp.maximum(b_end_c + s.m, m_local_c)
        decay, gain = jnp.exp(b_end_c + s.m - m_new), jnp.exp(m_local_c - m_new)
        C = decay[..., None, None] * s.C + gain[..., None, None] * kv_c
        n = decay[..., None] * s.n + gain[..., None] * k_sum_c
        return MLSTMState(C, n, m_new), s

    xs = tuple(jnp.moveaxis(x, 2, 0) for x in (kv, k_sum, m_local, b_end))
    last, starts = jax.lax.scan(combine, state, xs)
    C0, n0, m0 = (jnp.moveaxis(x, 0, 2) for x in starts)  # [B, NH, NC, ...]

    # 3. All chunks' outputs at once: the carried state plus the intra-chunk parallel form,
    # under one stabiliser per row (the recurrent m_t, exactly).
    log_D = _log_decay(b, i)  # [B, NH, NC, L, L]
    m_inter = b + m0[..., None]
    m = jnp.maximum(m_inter, jnp.max(log_D, axis=-1))
    g = jnp.exp(m_inter - m)
    weights = jnp.einsum("...ld,...sd->...ls", q, k) * jnp.exp(log_D - m[..., None])
    num = g[..., None] * jnp.einsum("...ld,...de->...le", q, C0) + weights @ v
    qn = g * jnp.einsum("...ld,...d->...l", q, n0) + weights.sum(-1)
    h = _normalise(num, qn, m).reshape(B, NH, NC * L, DH)[:, :, :T]
    return h, last


def mlstm_sequence(
    form: str,
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    i: jax.Array,
    f: jax.Array,
    chunk_size: int = 64,
) -> jax.Array:
    """h [B, NH, T, DH] by the named form (one of FORMS), from the initial state."""
    if form == "recurrent":
        return mlstm_recurrent(q, k, v, i, f)[0]
    if form == "parallel":
        return mlstm_parallel(q, k, v, i, f)
    if form == "chunkwise":
        return mlstm_chunkwise(q, k, v, i, f, chunk_size)[0]
    raise ValueError(f"model.mlstm_form is {form!r}; valid choices: {', '.join(FORMS)}")
