"""Hochreiter & Schmidhuber 1997, Experiment 4 (adding), Table 7: training sequences until the
paper's stopping rule holds, with the paper's 93-weight LSTM and online learning
(configs/adding_1997.py gives every setting and its source).

    seqlab sweep experiments/hochreiter1997.py --workdir runs/hochreiter1997 --jobs 2
    seqlab export runs/hochreiter1997 -o experiments/results/hochreiter1997.json

The paper ran 10 trials per T. Here: 10 seeds at T=100, 6 at T=500, 3 at T=1000, each with a
ceiling of about 4x (T=100) and 2.4x / 1.2x (T=500, 1000) the paper's mean count, so the
whole study fits about two hours of the 2-core CPU (seeds that meet the rule stop early).
"""

from seqlab.sweep import product

CONFIG = "configs/adding_1997.py"

STUDY = [  # (T, seeds, ceiling in sequences = steps at batch 1)
    (1000, 3, 1_000_000),
    (500, 6, 500_000),
    (100, 10, 300_000),
]


def sweep():
    runs = []
    for length, seeds, steps in STUDY:
        runs += product(
            {"task.length": length, "train.steps": steps, "train.seed": list(range(seeds))}
        )
    return runs
