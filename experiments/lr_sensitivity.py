"""A learning-rate grid per model on adding T=100, at equal parameter budgets (~100k), so each
model can be reported at its best learning rate (`seqlab results` groups by optim.lr).

    seqlab sweep experiments/lr_sensitivity.py --workdir runs/lr_sensitivity --jobs 2

Adam with global-norm clipping, batch 64, 2,000 steps (configs/zoo.py), three seeds.
"""

from seqlab.sweep import product

CONFIG = "configs/zoo.py"
MODELS = ["rnn", "lstm", "gru", "slstm", "mlstm", "xlstm[1:1]", "transformer"]


def sweep():
    return product(
        {"model.name": MODELS, "model.size": "", "model.layers": 2, "model.heads": 2},
        {"model.param_budget": 100_000, "task.name": "adding", "task.length": 100},
        {"train.steps": 2000, "optim.lr": [3e-4, 1e-3, 3e-3, 1e-2], "train.seed": [0, 1, 2]},
    )
