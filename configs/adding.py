"""The adding problem, Arjovsky et al. 2016 / Le et al. 2015 variant, with the LSTM.

    seqlab train --config configs/adding.py --config.task.length=100 --workdir runs/adding

Arjovsky et al. 2016: batch 20, RMSProp at lr 1e-3, T in {100, 200, 400, 750}; MSE of the
always-1 predictor is 1/6. `configs/adding.py:fast` is Adam with a larger batch, which reaches
MSE < 0.01 at T=100 on a 2-core CPU in minutes.
"""

from seqlab.config import base_config


def get_config(arg: str = "paper"):
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
    if arg == "fast":
        c.train.steps = 3_000
        c.train.batch_size = 64
        c.optim.name = "adam"
        c.optim.lr = 2e-3
        c.optim.clip_value = 0.0
        c.optim.clip_norm = 1.0
    elif arg != "paper":
        raise ValueError(f"configs/adding.py takes 'paper' or 'fast', got {arg!r}")
    return c
