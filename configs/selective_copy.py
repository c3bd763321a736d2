"""Selective copying (Gu & Dao 2023, Mamba, App. E.1) with a 2-layer mLSTM.

    seqlab train --config configs/selective_copy.py --workdir runs/selective_copy

The paper's setting (`:paper`, the default): length 4096, vocabulary 16 (noise 0, data 1..14,
marker 15), 16 tokens to memorise; 2 layers of width 64, constant lr 1e-4, batch 64, 400K
steps. The model here is the mLSTM (Beck et al. 2024), a gated linear recurrence with
input-dependent gates, in chunkwise form so memory grows linearly with length (it was written
before seqlab had Mamba); `--config.model.name=mamba` runs the paper's model, and
experiments/gu_dao2023.py compares Mamba, Mamba-2, Hawk, the LRU and S5 at a reduced scale. The paper does not state the optimiser's other settings: Adam with seqlab's default
global-norm clipping at 1. `:fast` trains on a 2-core CPU: length 64, 4 tokens to memorise,
parallel form, lr 3e-3; measured (seed 0): held-out recall accuracy 0.995 at step 500, about
10 minutes on a 2-core CPU shared with other jobs.
"""

from seqlab.config import base_config


def get_config(arg: str = "paper"):
    c = base_config()
    c.task.name = "selective_copy"
    c.task.length = 4096
    c.task.vocab_size = 16
    c.task.memorize = 16
    c.model.name = "mlstm"
    c.model.hidden = 64
    c.model.layers = 2
    c.model.mlstm_form = "chunkwise"
    c.train.steps = 400_000
    c.train.batch_size = 64
    c.train.chunk = 500
    c.optim.name = "adam"
    c.optim.lr = 1e-4
    c.optim.schedule = "constant"
    c.eval.every = 10_000
    c.eval.batch_size = 64
    c.checkpoint.every = 10_000
    if arg == "fast":
        c.task.length = 64
        c.task.memorize = 4
        c.model.mlstm_form = "parallel"
        c.train.steps = 1_000
        c.train.chunk = 50
        c.optim.lr = 3e-3
        c.eval.every = 250
        c.eval.batch_size = 256
        c.checkpoint.every = 1_000
    elif arg != "paper":
        raise ValueError(f"configs/selective_copy.py takes 'paper' or 'fast', got {arg!r}")
    return c
