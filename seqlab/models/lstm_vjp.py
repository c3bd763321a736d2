"""The LSTM over a whole sequence with a hand-written backward pass.

Autodiff of the scanned cell puts the weight gradient inside the backward loop: each step
does dgates @ R^T for dh and h^T @ dgates for dR, and carries a running dR. Here the backward
loop only carries (dc, dh), one (B,4H)@(4H,H) matmul a step, and emits each step's gate
gradients; dR, dW, db and dx are then one large matmul each over all T·B rows, which runs near
the machine's peak instead of at the speed of T small matmuls. The forward saves the gate
activations and cell states, so the backward recomputes nothing. Same numbers as autodiff of
`lstm.lstm_recur` (tests/models/test_lstm_vjp.py).

The gate math is one sigmoid over all 4H gates: tanh(g) = 2σ(2g) − 1, so the activations are
a = σ(s·gates)·s − (s − 1) with s = 1 for i, f, o and 2 for g, and their derivative is
(1 − a)(a + s − 1): a(1 − a) for a sigmoid, 1 − a² for the tanh.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from seqlab.models.recurrence import Params, SequenceOptions


def gate_scale(hidden: int, dtype) -> jax.Array:
    """s in the docstring: 1 for the i, f, o slices and 2 for g."""
    return jnp.ones((4 * hidden,), dtype).at[2 * hidden : 3 * hidden].set(2)


def previous(seq_TBX: jax.Array, first_BX: jax.Array, reverse: bool) -> jax.Array:
    """Each step's predecessor in scan order: [first, seq[0], ..., seq[T-2]] (mirrored)."""
    if reverse:
        return jnp.concatenate([seq_TBX[1:], first_BX[None]])
    return jnp.concatenate([first_BX[None], seq_TBX[:-1]])


def _project(params: Params, x: jax.Array) -> jax.Array:
    return x @ params["w_ih"] + params["b"]


def _forward(opts: SequenceOptions, params: Params, carry, x_TBD: jax.Array, keep: bool):
    w_hh = params["w_hh"]
    s_G = gate_scale(w_hh.shape[0], w_hh.dtype)
    xs = _project(params, x_TBD) if opts.hoist_input else x_TBD

    def body(carry, x_t):
        c_BH, h_BH = carry
        xp_BG = x_t if opts.hoist_input else _project(params, x_t)
        a_BG = jax.nn.sigmoid((xp_BG + h_BH @ w_hh) * s_G) * s_G - (s_G - 1)
        i, f, g, o = jnp.split(a_BG, 4, axis=-1)
        c_BH = f * c_BH + i * g
        tanh_c = jnp.tanh(c_BH)
        h_BH = o * tanh_c
        return (c_BH, h_BH), ((a_BG, c_BH, tanh_c, h_BH) if keep else h_BH)

    return jax.lax.scan(body, carry, xs, reverse=opts.reverse, unroll=opts.unroll)


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def lstm_sequence(opts: SequenceOptions, params: Params, carry, x_TBD: jax.Array):
    """(params {w_ih, w_hh, b}, carry (c, h), x [T,B,D]) -> ((c_T, h_T), h [T,B,H])."""
    return _forward(opts, params, carry, x_TBD, keep=False)


def _lstm_fwd(opts, params, carry, x_TBD):
    last, (a_TBG, c_TBH, tanh_c_TBH, h_TBH) = _forward(opts, params, carry, x_TBD, keep=True)
    return (last, h_TBH), (params, carry, x_TBD, a_TBG, c_TBH, tanh_c_TBH, h_TBH)


def _lstm_bwd(opts, residuals, cotangents):
    params, (c0_BH, h0_BH), x_TBD, a_TBG, c_TBH, tanh_c_TBH, h_TBH = residuals
    (dc_BH, dh_BH), dy_TBH = cotangents
    w_hh = params["w_hh"]
    s_G = gate_scale(w_hh.shape[0], w_hh.dtype)
    c_prev_TBH = previous(c_TBH, c0_BH, opts.reverse)

    def body(carry, xs):
        dc_BH, dh_BH = carry
        a_BG, tanh_c, c_prev_BH, dy_BH = xs
        i, f, g, o = jnp.split(a_BG, 4, axis=-1)
        dh_BH = dh_BH + dy_BH
        dc_BH = dc_BH + dh_BH * o * (1 - tanh_c * tanh_c)
        da_BG = jnp.concatenate([dc_BH * g, dc_BH * c_prev_BH, dc_BH * i, dh_BH * tanh_c], -1)
        dgates_BG = da_BG * (1 - a_BG) * (a_BG + s_G - 1)
        return (dc_BH * f, dgates_BG @ w_hh.T), dgates_BG

    xs = (a_TBG, tanh_c_TBH, c_prev_TBH, dy_TBH)
    dcarry, dgates_TBG = jax.lax.scan(
        body, (dc_BH, dh_BH), xs, reverse=not opts.reverse, unroll=opts.unroll
    )
    h_prev_TBH = previous(h_TBH, h0_BH, opts.reverse)
    dparams = {
        "w_ih": jnp.einsum("tbd,tbg->dg", x_TBD, dgates_TBG),
        "w_hh": jnp.einsum("tbh,tbg->hg", h_prev_TBH, dgates_TBG),
        "b": dgates_TBG.sum((0, 1)),
    }
    return dparams, dcarry, dgates_TBG @ params["w_ih"].T


lstm_sequence.defvjp(_lstm_fwd, _lstm_bwd)
