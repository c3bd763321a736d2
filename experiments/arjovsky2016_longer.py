"""Arjovsky et al. 2016's adding protocol for the LSTM at T=400, trained 2.5 times longer than
experiments/arjovsky2016.py's 10,000 iterations: does the LSTM leave the baseline once its
plateau is given the iterations it needs? (REPRODUCTIONS.md §2.)

    seqlab sweep experiments/arjovsky2016_longer.py --workdir runs/arjovsky2016_longer --jobs 2
    seqlab export runs/arjovsky2016_longer -o experiments/results/arjovsky2016_longer.json

Seed 0 of the main study at T=400 had not left the baseline by iteration 10,000. The protocol
has a constant learning rate, so this run is that seed's run continued: the same parameters and
batches up to iteration 10,000, then 15,000 more. One seed, as much as the session's CPU
allowed beside the other studies (about 20 minutes of one core): an illustration of the
plateau's length, not a mean over seeds.
"""

from seqlab.sweep import product


def sweep():
    return product(
        {"config": "configs/arjovsky2016.py:adding-lstm"},
        {"task.length": 400, "train.steps": 25_000, "train.seed": [0]},
    )
