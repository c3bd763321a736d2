"""Delétang et al. 2023's RNN and LSTM where experiments/deletang2023.py's 1,500 steps left them
far from their 100% (modular arithmetic; the RNN on cycle navigation), trained longer: is their
number out of seqlab's reach, or out of that budget?

    seqlab sweep experiments/deletang2023_budget.py --workdir runs/deletang2023_budget --jobs 2
    seqlab export runs/deletang2023_budget -o experiments/results/deletang2023_budget.json

The protocol of experiments/deletang2023.py (their lengths 1..40, batch 128, Adam with global-norm
clipping at 1, a constant learning rate, 256 units on one-hot inputs, the score averaged over 12
test lengths 41..500), one seed, 10,000 steps, evaluated every 1,000 steps: the table in
REPRODUCTIONS.md §9 follows the accuracy at the training lengths and the score beyond them over
training. 10,000 steps are 1% of their 1,000,000. About 40 minutes of one core for the LSTM, 15
for each RNN.
"""

from seqlab.sweep import product

ONE_HOT = {"model.hidden": 256, "model.embed_dim": 0}
PROGRAMS = [  # the disagreements of experiments/deletang2023.py's table with theirs
    {"config": "configs/formal.py:modular_arithmetic", "model.name": "lstm", **ONE_HOT},
    {"config": "configs/formal.py:modular_arithmetic", "model.name": "rnn", **ONE_HOT},
    {"config": "configs/formal.py:cycle_navigation", "model.name": "rnn", **ONE_HOT},
]
TEST_LENGTHS = (41, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500)
PROTOCOL = {  # experiments/deletang2023.py's, but for the budget and one seed
    "train.steps": 10_000,
    "train.batch_size": 128,
    "train.chunk": 100,
    "optim.schedule": "constant",
    "optim.warmup_steps": 0,
    "optim.clip_norm": 1.0,
    "eval.every": 1000,
    "eval.batches": 2,
    "eval.lengths": [TEST_LENGTHS],
    "checkpoint.every": 1000,
    "train.seed": 0,
}


def sweep():
    return product(PROGRAMS, {"optim.lr": 1e-3}, PROTOCOL)
