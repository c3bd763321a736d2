"""Why BENCHMARKS.md's zoo table shows the tanh RNN at adding MSE 0.39 after 1,000 steps (worse
than always predicting the mean, 0.167): the same run (configs/zoo.py:rnn, hidden 128, Adam
1e-3, global-norm clipping 1, batch 64, adding T=100), eight seeds instead of one, evaluated
every 10 steps instead of once at the end.

    seqlab sweep experiments/rnn_adding_anomaly.py --workdir runs/rnn_adding_anomaly
    seqlab export runs/rnn_adding_anomaly -o experiments/results/rnn_adding_anomaly.json

The LSTM at the same settings is the control. A few minutes on the 2-core CPU.
"""

from seqlab.sweep import product

CONFIG = "configs/zoo.py"


def sweep():
    return product(
        {"model.name": ["rnn", "lstm"], "task.name": "adding", "task.length": 100},
        {"train.steps": 1000, "train.chunk": 10, "eval.every": 10, "checkpoint.every": 500},
        {"train.seed": list(range(8))},
    )
