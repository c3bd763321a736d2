"""Every model of the zoo on copy and adding at short lengths, two seeds each, each seed trained
until it solves its task or for at most 2,000 steps: the demo sweep (`make demo`: 4 min 41 s on
the 2-core CPU from an empty compilation cache, measured 2026-12-07 with the linear recurrences
and state-space models added, against 3 min 18 s without them; creating the environment on a
fresh machine comes on top).

    seqlab sweep experiments/zoo_quick.py --workdir runs/zoo_quick --jobs 2

Sizes and tasks are chosen so that the models solve them within the demo's few minutes on 2 CPU
cores (measured 2026-12-07: every model both tasks in both seeds, except the tanh RNN on copy,
0/2, and the peephole LSTM and S5 on copy, 1/2 each, their other seeds at recall 0.979 and
0.961): tiny models (`model.size=tiny`: cells 32 wide; the block models 32 wide with one block,
xlstm[1:1] two; the linear-recurrence cells lru, mingru and minlstm, whose layer is linear in
its state, two residual layers 32 wide with layer norm: one layer of minGRU or minLSTM does not
solve copy in 2,000 steps), copy with T=10 and 3 symbols to recall (the paper's 10 take a
32-cell LSTM far beyond 2,000 steps), adding with T=20. The cells train at lr 1e-2, the block
models at 3e-3 (at 1e-2 a Transformer seed fails to converge). The bidirectional models see the
future, so they run on adding only. It is a check that these models train, with each model's
sequences to solve at these sizes; REPRODUCTIONS.md compares the zoo at equal parameter
budgets, across T.
"""

from seqlab.sweep import product

CONFIG = "configs/zoo.py"
NOTE = (
    "The demo: tiny models (cells 32 wide; block models 32 wide, one block; linear-recurrence "
    "cells two residual layers), copy T=10 with 3 "
    "symbols to recall and adding T=20, two seeds, each trained until solved or for at most "
    "2,000 steps (lr 1e-2 for cells, 3e-3 for block models). 'solved' and 'sequences to solve' "
    "are the comparison; a model shown '> 64,000' did not solve within that budget. A smoke "
    "test at one setting, not a ranking: REPRODUCTIONS.md compares the zoo at equal budgets."
)
# The slowest first, so that no long run is left alone at the end of the sweep.
CAUSAL = ["xlstm[1:1]", "mamba", "mamba2", "mlstm", "transformer", "s5", "hawk", "slstm"]
CAUSAL += ["lru", "minlstm", "mingru", "peephole_lstm", "lstm", "gru", "rnn"]
# Below the tiny size variant (hidden 64 x 2 blocks): the block models' compile time dominates
# the demo's. One block each, but xlstm[1:1] needs two (an mLSTM and an sLSTM block).
SMALLER_BLOCKS = {"model.size": "", "model.hidden": 32, "model.layers": 1, "model.heads": 2}
ONE_BLOCK = dict(SMALLER_BLOCKS, **{"optim.lr": 3e-3})
# The linear-recurrence cells' layer is linear in its state: two residual layers with layer
# norm, as their papers stack them (and as experiments/zoo_copy.py runs them).
LINEAR_CELL = {"model.size": "", "model.hidden": 32, "model.layers": 2}
LINEAR_CELL |= {"model.residual": True, "model.norm": "layer"}
BLOCKS = {
    "xlstm[1:1]": dict(SMALLER_BLOCKS, **{"model.layers": 2, "optim.lr": 3e-3}),
    **{m: ONE_BLOCK for m in ("mlstm", "transformer", "mamba", "mamba2", "s5", "hawk")},
    **{m: LINEAR_CELL for m in ("lru", "minlstm", "mingru")},
}
BIDIRECTIONAL = ["bilstm", "bigru"]
COMMON = {
    "model.size": "tiny",
    "train.steps": 2000,
    "train.stop_when_solved": True,
    "train.batch_size": 64,
    "train.chunk": 25,
    "optim.lr": 1e-2,
    # a full evaluation (one held-out batch of 256) every 25 steps decides when a seed solved
    "eval.every": 25,
    "eval.batches": 1,
    "eval.batch_size": 256,
    "checkpoint.every": 500,
    "train.seed": [0, 1],
    # Compiling is most of a short run: compile the training chunk at XLA's CPU level 1
    # (~30% less compile time, steps up to 8% slower; seqlab/train/compile.py).
    "train.fast_compile": True,
}
COPY = {"task.name": "copy", "task.length": 10, "task.memorize": 3}
ADDING = {"task.name": "adding", "task.length": 20}


def sweep():
    copy = product({"model.name": CAUSAL, **COPY}, COMMON)
    adding = product({"model.name": CAUSAL + BIDIRECTIONAL, **ADDING}, COMMON)
    interleaved = [run for pair in zip(copy, adding, strict=False) for run in pair]
    runs = interleaved + adding[len(copy) :]
    return [dict(r, **BLOCKS.get(r["model.name"], {})) for r in runs]
