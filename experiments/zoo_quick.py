"""Every zoo model on copy and adding at short lengths, two seeds each: the demo sweep.

    seqlab sweep experiments/zoo_quick.py --workdir runs/zoo_quick --jobs 2

Tiny sizes (`model.size=tiny`; the block models smaller still: hidden 32, one block) and 200
steps: a smoke test of the whole zoo that finishes in 5 minutes on 2 CPU cores, not a comparison
to quote
(experiments/lr_sensitivity.py and the *_vs_length sweeps are). The bidirectional models
see the future, so they run on adding only. The two seeds of each model and task train as
one program.
"""

from seqlab.sweep import product

CONFIG = "configs/zoo.py"
# The slowest first, so that no long run is left alone at the end of the sweep.
CAUSAL = ["xlstm[1:1]", "mlstm", "transformer", "slstm", "peephole_lstm", "lstm", "gru", "rnn"]
# Below the tiny size variant (hidden 64 x 2 blocks): the block models' compile time dominates
# the demo's. One block each, but xlstm[1:1] needs two (an mLSTM and an sLSTM block).
SMALLER_BLOCKS = {"model.size": "", "model.hidden": 32, "model.layers": 1, "model.heads": 2}
BLOCKS = {
    "xlstm[1:1]": dict(SMALLER_BLOCKS, **{"model.layers": 2}),
    "mlstm": SMALLER_BLOCKS,
    "transformer": SMALLER_BLOCKS,
}
BIDIRECTIONAL = ["bilstm", "bigru"]
COMMON = {
    "model.size": "tiny",
    "train.steps": 200,
    "train.batch_size": 32,
    "train.chunk": 50,
    "optim.lr": 3e-3,
    "eval.every": 100,
    "eval.batches": 1,
    "eval.batch_size": 256,
    "checkpoint.every": 100,
    "train.seed": [0, 1],
    # Compiling is most of a 200-step run: compile the training chunk at XLA's CPU level 1
    # (~30% less compile time, steps up to 8% slower; seqlab/train/compile.py).
    "train.fast_compile": True,
}


def sweep():
    copy = product({"model.name": CAUSAL, "task.name": "copy", "task.length": 10}, COMMON)
    adding = product(
        {"model.name": CAUSAL + BIDIRECTIONAL, "task.name": "adding", "task.length": 20}, COMMON
    )
    interleaved = [run for pair in zip(copy, adding, strict=False) for run in pair]
    runs = interleaved + adding[len(copy) :]
    return [dict(r, **BLOCKS.get(r["model.name"], {})) for r in runs]
