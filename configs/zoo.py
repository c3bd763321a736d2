"""One zoo model at its default ('small') size, with the settings the zoo comparison shares.

    seqlab train --config configs/zoo.py:gru --config.task.name=adding --workdir runs/zoo/gru

`:<model>` names any registered model (`seqlab models`); with no argument, `lstm`. Every model
gets the same optimiser (Adam 1e-3, global-norm clipping 1, batch 64) and number of steps, so
losses after N steps compare architectures, not tuning. Copy T=100 by default; the bidirectional
models are refused on copy (it needs causal outputs): use task.name=adding for them.
"""

from seqlab.config import base_config


def get_config(arg: str = "lstm"):
    c = base_config()
    c.task.name = "copy"
    c.task.length = 100
    c.model.name = arg
    c.model.size = "small"
    c.train.steps = 1000
    c.train.batch_size = 64
    c.train.chunk = 50
    c.optim.name = "adam"
    c.optim.lr = 1e-3
    c.optim.clip_norm = 1.0
    c.eval.every = 250
    c.checkpoint.every = 500
    return c
