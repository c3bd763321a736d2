"""The adding problem against T in {100, 200, 400, 750} (Arjovsky et al. 2016 / Le et al. 2015),
the paper's settings (batch 20, RMSProp 1e-3), three seeds per model.

    seqlab sweep experiments/adding_vs_length.py --workdir runs/adding_vs_length --jobs 2

Chance level (always predicting 1) is MSE 1/6; "solved" is MSE <= 0.01.
"""

from seqlab.sweep import product

CONFIG = "configs/adding.py:paper"
MODELS = [
    {"model.name": "lstm"},
    {"model.name": "gru"},
    {"model.name": "rnn", "model.irnn": True},
    {"model.name": "bilstm"},
    {"model.name": "slstm"},
    {"model.name": "mlstm", "model.size": "small"},
    {"model.name": "transformer", "model.size": "small"},
]
SLURM = {"time_min": 600, "cpus_per_task": 2}


def sweep():
    return product(MODELS, {"task.length": [100, 200, 400, 750], "train.seed": [0, 1, 2]})
