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

from pathlib import Path

from seqlab.config import load_python_file
from seqlab.sweep import product

DELETANG = load_python_file(Path(__file__).with_name("deletang2023.py"), "sweep", "sweep")
PAPER = {m["model.name"]: m for m in DELETANG.PAPER_MODELS}  # their sizes, one-hot inputs
PROGRAMS = [  # the disagreements of experiments/deletang2023.py's table with theirs
    {"config": "configs/formal.py:modular_arithmetic", **PAPER["lstm"]},
    {"config": "configs/formal.py:modular_arithmetic", **PAPER["rnn"]},
    {"config": "configs/formal.py:cycle_navigation", **PAPER["rnn"]},
]
BUDGET = {  # experiments/deletang2023.py's protocol, trained longer, evaluated along the way
    "train.steps": 10_000,
    "eval.every": 1000,
    "checkpoint.every": 1000,
    "train.seed": 0,
}


def sweep():
    return product(PROGRAMS, {"optim.lr": 1e-3}, {**DELETANG.PROTOCOL, **BUDGET})
