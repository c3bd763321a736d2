"""Copy memory (Arjovsky, Shah & Bengio 2016) with the LSTM.

    seqlab train --config configs/copy.py --config.task.length=100 --workdir runs/copy

The authors' code: batch 20, RMSProp at lr 1e-3, 20,000 iterations, gradient clipping at
±1 for the LSTM, T in {100, 200, 300, 500}. Their one-hot input is an embedding here.
`configs/copy.py:fast` is the setting measured to reach loss < 0.01 at T=100 on a 2-core CPU
(Adam at lr 3e-3, batch 64, forget-gate bias 3 so that memory survives the T-step gap; the
README gives steps and wall time).
"""

from seqlab.config import base_config


def get_config(arg: str = "paper"):
    c = base_config()
    c.task.name = "copy"
    c.task.length = 100
    c.model.name = "lstm"
    c.model.hidden = 128
    c.train.steps = 20_000
    c.train.batch_size = 20
    c.optim.name = "rmsprop"
    c.optim.lr = 1e-3
    c.optim.clip_norm = 0.0
    c.optim.clip_value = 1.0
    c.eval.every = 500
    if arg == "fast":
        c.train.steps = 20_000
        c.train.batch_size = 64
        c.model.forget_bias = 3.0
        c.optim.name = "adam"
        c.optim.lr = 3e-3
        c.optim.clip_value = 0.0
        c.optim.clip_norm = 1.0
    elif arg != "paper":
        raise ValueError(f"configs/copy.py takes 'paper' or 'fast', got {arg!r}")
    return c
