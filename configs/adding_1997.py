"""The adding problem of Hochreiter & Schmidhuber 1997, Experiment 4, with the LSTM.

    seqlab train --config configs/adding_1997.py --config.task.length=100 --workdir runs/a97

The paper trains a 93-weight LSTM (two memory-cell blocks of size 2) online: batch 1, plain
gradient descent at lr 0.5; it counts training sequences until the 2000 most recent are all
correct (|error| < 0.04). Table 7: T=100 needed 74,000 sequences, T=500 209,000, T=1000
853,000. Here a forget-gate LSTM of 4 cells (123 weights) stands in for the paper's cell
blocks; the held-out set is 8 x 256 = 2048 sequences and "solved" asks all to be correct.
"""

from seqlab.config import base_config


def get_config():
    c = base_config()
    c.task.name = "adding_1997"
    c.task.length = 100
    c.model.name = "lstm"
    c.model.hidden = 4
    c.model.embed_dim = 2
    c.train.steps = 100_000
    c.train.batch_size = 1
    c.train.chunk = 500
    c.optim.name = "sgd"
    c.optim.lr = 0.5
    c.optim.clip_norm = 0.0
    c.eval.every = 5000
    c.eval.batches = 8
    c.checkpoint.every = 10_000
    return c
