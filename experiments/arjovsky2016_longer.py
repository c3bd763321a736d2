"""Arjovsky et al. 2016's adding protocol for the LSTM at T=400, trained 2.5 times longer than
experiments/arjovsky2016.py's 10,000 iterations: does the LSTM leave the baseline once its
plateau is given the iterations it needs? (REPRODUCTIONS.md §2.)

    seqlab sweep experiments/arjovsky2016_longer.py --workdir runs/arjovsky2016_longer --jobs 2
    seqlab export runs/arjovsky2016_longer -o experiments/results/arjovsky2016_longer.json

Seed 0 of the main study at T=400 had not left the baseline by iteration 10,000. The protocol
has a constant learning rate, so this run is that seed's run continued: the same initial
parameters and batches, then 15,000 more iterations. (Trained as a program of one seed instead
of three, its float rounding differs slightly: its held-out MSE equals the main study's to 7
digits at iterations 1,000 and 5,000 and by 10,000 differs in the third.) One seed, as much
as the session's CPU allowed beside the other studies (32 minutes, sharing the 2 cores with
three other programs): an illustration, not a mean over seeds.
"""

from seqlab.sweep import product


def sweep():
    return product(
        {"config": "configs/arjovsky2016.py:adding-lstm"},
        {"task.length": 400, "train.steps": 25_000, "train.seed": [0]},
    )
