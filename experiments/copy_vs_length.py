"""Copy memory against its delay T (Arjovsky, Shah & Bengio 2016, Fig. 1): T in {100, 200, 300,
500}, the paper's settings (batch 20, RMSProp 1e-3, 20k steps), three seeds per model.

    seqlab sweep experiments/copy_vs_length.py --workdir runs/copy_vs_length --jobs 2

The paper compared the LSTM, a tanh RNN, the IRNN and the uRNN; seqlab adds the GRU and the
xLSTM and Transformer families. Chance level is 10·log 8/(T+20).
"""

from seqlab.sweep import product

CONFIG = "configs/copy.py:paper"
MODELS = [
    {"model.name": "lstm"},
    {"model.name": "gru"},
    {"model.name": "rnn"},
    {"model.name": "rnn", "model.irnn": True},
    {"model.name": "slstm"},
    {"model.name": "mlstm", "model.size": "small"},
    {"model.name": "transformer", "model.size": "small"},
]
SLURM = {"time_min": 600, "cpus_per_task": 2}


def sweep():
    return product(MODELS, {"task.length": [100, 200, 300, 500], "train.seed": [0, 1, 2]})
