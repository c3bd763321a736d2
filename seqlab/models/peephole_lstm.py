"""LSTM with peephole connections (Gers & Schmidhuber 2000, "Recurrent nets that time and
count"; TensorFlow's LSTMCell(use_peepholes=True)). Gate order i, f, g, o as `lstm`.

    ĩ, f̃, g, õ = split(W x_t + R h_{t-1} + b)
    i = σ(ĩ + p_i ⊙ c_{t-1}),   f = σ(f̃ + p_f ⊙ c_{t-1})
    c_t = f ⊙ c_{t-1} + i ⊙ tanh(g)
    o = σ(õ + p_o ⊙ c_t)                      (the output gate sees the NEW cell state)
    h_t = o ⊙ tanh(c_t)

The peepholes p_i, p_f, p_o are diagonal (one weight per cell) and start at zero, so a fresh
layer is exactly `lstm` with the same weights; the gates learn to read the cell state. Bias:
forget-gate bias or chrono initialisation as `lstm` (`lstm_bias`). `model.init=glorot_uniform`
and `model.learn_initial_state=true` as `lstm` (Arjovsky, Shah & Bengio 2016; the authors'
models.py, github amarshah/complex_RNN): W and R per-gate Glorot-uniform, the peepholes, which
are vectors, not matrices, still zero. `model.output_peephole=full` is `lstm`'s (a full V_o on
c_t in place of p_o), not this family's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.cell_layer import INITS
from seqlab.models.lstm import LSTMLayer, lstm_initial_carry, lstm_layers, lstm_project
from seqlab.models.recurrence import Cell, Params
from seqlab.models.sequence import SequenceModel
from seqlab.models.sizing import CELL_SIZES
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec


def peephole_lstm_recur(params: Params, carry, xp_BG: jax.Array):
    c_BH, h_BH = carry
    gates_BG = xp_BG + h_BH @ params["w_hh"]
    i, f, g, o = jnp.split(gates_BG, 4, axis=-1)
    i = jax.nn.sigmoid(i + params["p_i"] * c_BH)
    f = jax.nn.sigmoid(f + params["p_f"] * c_BH)
    c_BH = f * c_BH + i * jnp.tanh(g)
    o = jax.nn.sigmoid(o + params["p_o"] * c_BH)
    h_BH = o * jnp.tanh(c_BH)
    return (c_BH, h_BH), h_BH


PEEPHOLE_LSTM_CELL = Cell(lstm_project, peephole_lstm_recur, lstm_initial_carry)


class PeepholeLSTMLayer(LSTMLayer):
    """One peephole LSTM layer: the LSTM layer's weights (same init) plus zero peepholes."""

    cell = PEEPHOLE_LSTM_CELL

    def __init__(self, in_features: int, hidden: int, *, rngs: nnx.Rngs, **lstm_options):
        if lstm_options.get("output_peephole", "none") != "none":
            raise ValueError("model.output_peephole applies to lstm, not peephole_lstm")
        super().__init__(in_features, hidden, rngs=rngs, **lstm_options)
        self.p_i = nnx.Param(jnp.zeros((hidden,)))
        self.p_f = nnx.Param(jnp.zeros((hidden,)))
        self.p_o = nnx.Param(jnp.zeros((hidden,)))


@MODELS.register(
    "peephole_lstm",
    "LSTM with diagonal peepholes; output gate sees the new cell (Gers & Schmidhuber 2000)",
    sizes=CELL_SIZES,
    recurrent=True,
    inits=INITS,
    learns_initial_state=True,
)
def make_peephole_lstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    return SequenceModel(cfg, spec, lstm_layers(cfg, PeepholeLSTMLayer), rngs=rngs)
