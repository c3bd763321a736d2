"""Every zoo model on copy and adding at short lengths, two seeds each: the demo sweep.

    seqlab sweep experiments/zoo_quick.py --workdir runs/zoo_quick --jobs 2

Tiny sizes (`model.size=tiny`) and a few hundred steps: a smoke test of the whole zoo that
finishes in minutes on 2 CPU cores, not a comparison to quote (experiments/lr_sensitivity.py
and the *_vs_length sweeps are). The bidirectional models see the future, so they run on
adding only. The two seeds of each model and task train as one program.
"""

from seqlab.sweep import product

CONFIG = "configs/zoo.py"
CAUSAL = ["rnn", "lstm", "peephole_lstm", "gru", "slstm", "mlstm", "xlstm[1:1]", "transformer"]
BIDIRECTIONAL = ["bilstm", "bigru"]
COMMON = {
    "model.size": "tiny",
    "train.steps": 300,
    "train.chunk": 50,
    "optim.lr": 3e-3,
    "eval.every": 100,
    "eval.batches": 2,
    "eval.batch_size": 128,
    "checkpoint.every": 100,
    "train.seed": [0, 1],
}


def sweep():
    copy = product({"model.name": CAUSAL, "task.name": "copy", "task.length": 10}, COMMON)
    adding = product(
        {"model.name": CAUSAL + BIDIRECTIONAL, "task.name": "adding", "task.length": 20}, COMMON
    )
    return copy + adding
