"""The adding problem, Arjovsky et al. 2016 / Le et al. 2015 variant, with the LSTM.

    seqlab train --config configs/adding.py --config.task.length=100 --workdir runs/adding

Arjovsky et al. 2016: batch 20, RMSProp at lr 1e-3, T in {100, 200, 400, 750}; MSE of the
always-1 predictor is 1/6.
"""

from seqlab.config import base_config


def get_config():
    c = base_config()
    c.task.name = "adding"
    c.task.length = 100
    c.model.name = "lstm"
    c.model.hidden = 128
    c.train.steps = 10_000
    c.train.batch_size = 20
    c.optim.name = "rmsprop"
    c.optim.lr = 1e-3
    c.optim.clip_norm = 0.0
    c.optim.clip_value = 1.0
    c.eval.every = 500
    return c
