"""The original LSTM of Hochreiter & Schmidhuber 1997 ("Long Short-Term Memory", Neural
Computation 9(8)), as used in its Experiment 4 (the adding problem, task `adding_1997`).

Memory cell blocks (paper Section 4, "Memory cell blocks"): `model.heads` blocks, each of
`model.hidden / model.heads` cells sharing one input gate and one output gate, so
`model.hidden` is the total number of cells. There is no forget gate: the cell state is the
constant error carousel (Section 4),

    y_in(t) = σ(net_in(t)),   y_out(t) = σ(net_out(t))          (one of each per block)
    s_c(t) = s_c(t-1) + y_in(t) · g(net_c(t)),   s_c(0) = 0
    y_c(t) = y_out(t) · h(s_c(t))
    g(x) = 4σ(x) - 2 ∈ [-2, 2],   h(x) = 2σ(x) - 1 ∈ [-1, 1]    (the experiments', Section 5)

Connectivity (Section 5.4, "Architecture"): "memory cells and gate units receive inputs from
input units, memory cells and gate units", and every non-input unit has a bias. So each
cell's and gate's net input is W x(t) + R a(t-1) + b, where a(t-1) = [y_c, y_in, y_out] holds
all hidden units' previous activations (hidden cells, then heads input gates, then heads
output gates; a(0) = 0). The output unit sees only the cells' outputs (plus a bias) and is
logistic for regression (range [0, 1], as adding_1997's target 0.5 + (X1 + X2)/4); for
classification tasks the readout gives linear logits. The input units are the task's input
itself: reals as they are, tokens one-hot; `model.embed_dim` is ignored (no encoder). Built
with hidden=4, heads=2 on adding_1997 this is the paper's 93-weight net: 8 non-input hidden
units × (2 input + 8 recurrent + 1 bias) = 88, plus the output unit's 4 + 1.

Initialisation (Section 5.4): every weight uniform in [-0.1, 0.1]; the input-gate bias of
block j is -3(j + 1) ("the first (second) input gate bias is initialized with -3.0 (-6.0)"),
so later blocks open later; the other biases (cells, output gates, output unit) are drawn
uniform in [-0.1, 0.1] like the weights.

Learning (Section 4, "Learning"; Appendix A.1): the paper's truncated gradient. Errors that
arrive at the net inputs of cells and gates change those units' incoming weights but are not
propagated further back in time; only the carousel s_c carries error across steps. Here
a(t-1) enters the net inputs through `jax.lax.stop_gradient`, so autodiff of the forward pass
gives exactly that gradient. This is always on: it is the paper's algorithm (untruncated
BPTT on this architecture would be a different experiment).

The paper's net has one layer: model.layers must be 1 and model.residual false. Beyond the
paper, model.bidirectional=true adds a second layer run in reverse, joined by model.merge.
The logistic output suits targets in [0, 1]; on `adding` (targets in [0, 2]) it cannot reach
sums above 1.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from seqlab.models.cell_layer import CellLayer
from seqlab.models.recurrence import DEFAULT_OPTIONS, Cell, Params, ScanOptions
from seqlab.models.sequence import recurrent, scan_options
from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

INIT_RANGE = 0.1  # weights (and biases other than the input gates') uniform in [-0.1, 0.1]
INPUT_GATE_BIAS_STEP = -3.0  # block j's input-gate bias starts at -3(j + 1)


def g_squash(x: jax.Array) -> jax.Array:
    return 4.0 * jax.nn.sigmoid(x) - 2.0


def h_squash(x: jax.Array) -> jax.Array:
    return 2.0 * jax.nn.sigmoid(x) - 1.0


def uniform_init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
    return jax.random.uniform(key, shape, dtype, -INIT_RANGE, INIT_RANGE)


def lstm1997_project(params: Params, x: jax.Array) -> jax.Array:
    return x @ params["w_ih"] + params["b"]


def _recur(blocks: int, params: Params, carry, xp_BU: jax.Array):
    s_BC, a_BU = carry
    cells = s_BC.shape[-1]
    # The truncation: error reaching a net input stops here (the weights still get theirs).
    net_BU = xp_BU + jax.lax.stop_gradient(a_BU) @ params["w_hh"]
    net_c, net_in, net_out = jnp.split(net_BU, [cells, cells + blocks], axis=-1)
    y_in_BK, y_out_BK = jax.nn.sigmoid(net_in), jax.nn.sigmoid(net_out)
    size = cells // blocks  # block-major cell order: block j holds cells j·size .. (j+1)·size-1
    s_BC = s_BC + jnp.repeat(y_in_BK, size, axis=-1) * g_squash(net_c)
    y_c_BC = jnp.repeat(y_out_BK, size, axis=-1) * h_squash(s_BC)
    return (s_BC, jnp.concatenate([y_c_BC, y_in_BK, y_out_BK], axis=-1)), y_c_BC


def lstm1997_initial_carry(params: Params, batch_size: int, *, blocks: int):
    units = params["w_hh"].shape[0]
    dtype = params["w_hh"].dtype
    return jnp.zeros((batch_size, units - 2 * blocks), dtype), jnp.zeros((batch_size, units), dtype)


@functools.cache
def lstm1997_cell(blocks: int) -> Cell:
    """The cell for `blocks` blocks (cached: one Cell object, so graphdefs compare equal).

    Carry: (s_c [B, cells], a [B, cells + 2·blocks]); output y_c [B, cells].
    """
    return Cell(
        lstm1997_project,
        functools.partial(_recur, blocks),
        functools.partial(lstm1997_initial_carry, blocks=blocks),
    )


class LSTM1997Layer(CellLayer):
    """`blocks` blocks of `cells / blocks` memory cells: [T, B, D] -> cell outputs [T, B, cells]."""

    def __init__(
        self,
        in_features: int,
        cells: int,
        blocks: int,
        *,
        rngs: nnx.Rngs,
        options: ScanOptions = DEFAULT_OPTIONS,
    ):
        if blocks < 1 or cells % blocks:
            raise ValueError(
                f"lstm1997: model.hidden={cells} cells must split evenly into "
                f"model.heads={blocks} memory-cell blocks"
            )
        self.cell = lstm1997_cell(blocks)  # a static attribute: the graphdef records it
        self.out_features = cells
        self.options = options
        units = cells + 2 * blocks  # cells, input gates, output gates
        self.w_ih = nnx.Param(uniform_init(rngs.params(), (in_features, units)))
        self.w_hh = nnx.Param(uniform_init(rngs.params(), (units, units)))
        b = uniform_init(rngs.params(), (units,))
        in_gate_bias = INPUT_GATE_BIAS_STEP * jnp.arange(1, blocks + 1, dtype=b.dtype)
        self.b = nnx.Param(b.at[cells : cells + blocks].set(in_gate_bias))


class LSTM1997(nnx.Module):
    """Input units -> one layer of memory-cell blocks -> output units (see the module doc).

    The interface of SequenceModel: `__call__(inputs, lengths)` gives [B, C] for tasks scored
    at the last step (read at each sequence's last valid step) and [T, B, C] otherwise;
    `initial_state` / `step` stream one step at a time.
    """

    def __init__(self, cfg, spec: TaskSpec, *, rngs: nnx.Rngs):
        if cfg.layers != 1 or cfg.residual:
            raise ValueError(
                "lstm1997 is the paper's single layer of memory-cell blocks: set "
                f"model.layers=1 and model.residual=false (got {cfg.layers}, {cfg.residual})"
            )
        self.spec = spec
        tokens = spec.input_kind == "tokens"
        in_features = spec.vocab_size if tokens else spec.input_dim

        def direction(in_features: int, rngs: nnx.Rngs) -> LSTM1997Layer:
            return LSTM1997Layer(
                in_features, cfg.hidden, cfg.heads, rngs=rngs, options=scan_options(cfg)
            )

        layer = recurrent(cfg, direction)(0, in_features, rngs)
        self.layers = nnx.List([layer])
        self.readout = nnx.Linear(
            layer.out_features,
            spec.out_features,
            kernel_init=uniform_init,
            bias_init=uniform_init,
            rngs=rngs,
        )

    def encode(self, inputs: jax.Array) -> jax.Array:
        """The input units' activations: the inputs themselves (tokens one-hot)."""
        if self.spec.input_kind == "tokens":
            return jax.nn.one_hot(inputs, self.spec.vocab_size)
        return inputs

    def backbone(self, x_TBD: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        layer = self.layers[0]
        return layer(x_TBD, lengths) if getattr(layer, "needs_lengths", False) else layer(x_TBD)

    def output(self, y_c: jax.Array) -> jax.Array:
        """The output units: logistic for regression (the paper's), linear logits otherwise."""
        out = self.readout(y_c)
        return jax.nn.sigmoid(out) if self.spec.output_kind == "regression" else out

    def __call__(self, inputs: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        y_TBC = self.backbone(self.encode(inputs), lengths)
        if self.spec.scored == "last":
            last_B = jnp.full(y_TBC.shape[1], y_TBC.shape[0]) if lengths is None else lengths
            return self.output(y_TBC[last_B - 1, jnp.arange(y_TBC.shape[1])])
        return self.output(y_TBC)

    def initial_state(self, batch_size: int) -> list:
        return [self.layers[0].initial_state(batch_size)]

    def step(self, state: list, inputs_B: jax.Array) -> tuple[list, jax.Array]:
        carry, y_c = self.layers[0].step(state[0], self.encode(inputs_B))
        return [carry], self.output(y_c)


@MODELS.register(
    "lstm1997",
    "original LSTM (Hochreiter & Schmidhuber 1997): model.heads memory-cell blocks, no forget "
    "gate, truncated gradient",
    sizes={"paper": {"hidden": 4, "heads": 2, "layers": 1}},
    recurrent=True,
    width_multiple=lambda cfg: cfg.heads,
    size_fields=("heads",),
)
def make_lstm1997(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> LSTM1997:
    return LSTM1997(cfg, spec, rngs=rngs)
