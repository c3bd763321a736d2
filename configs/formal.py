"""Regular-language tasks of Delétang et al. 2023 with the LSTM: train on lengths 1..40, test
length generalisation at 64, 128 and 256.

    seqlab train --config configs/formal.py:parity --workdir runs/formal/parity

`:<task>` picks parity (the default), even_pairs, modular_arithmetic or cycle_navigation
(both mod 5, the papers' setting). Lengths: Delétang et al. (ICLR 2023) train on lengths drawn
uniformly from 1..40 and test on 41..500; the xLSTM paper (Beck et al. 2024, App. B.1.1) trains
on 3..40 and validates on 40..256, reporting accuracy rescaled so chance is 0 and perfect 1
(`score` here; "solved" is score >= 0.9 at the training lengths).
Training: Delétang et al. use Adam, batch 128, 1,000,000 steps (learning rates 1e-4..5e-4);
NX-AI's xLSTM formal-language configs use AdamW at 1e-3 with weight decay 0.1, batch 256,
20,000 steps, 2,000 warm-up steps and cosine decay. On a 2-core CPU we keep Delétang's batch 128
and the xLSTM schedule's shape (Adam 1e-3, warm-up then cosine), shortened to 5,000 steps;
the README gives what this reaches.
"""

from seqlab.config import base_config

TASKS = ("parity", "even_pairs", "modular_arithmetic", "cycle_navigation")


def get_config(arg: str = "parity"):
    if arg not in TASKS:
        raise ValueError(f"configs/formal.py takes one of {', '.join(TASKS)}; got {arg!r}")
    c = base_config()
    c.task.name = arg
    c.task.length = 40
    c.task.min_length = 1
    if arg in ("modular_arithmetic", "cycle_navigation"):
        c.task.modulus = 5
    c.model.name = "lstm"
    c.model.hidden = 128
    c.train.steps = 5000
    c.train.batch_size = 128
    c.train.chunk = 100
    c.optim.name = "adam"
    c.optim.lr = 1e-3
    c.optim.schedule = "cosine"
    c.optim.warmup_steps = 500
    c.optim.final_lr_fraction = 0.01
    c.optim.clip_norm = 1.0
    c.eval.every = 500
    c.eval.batches = 4
    c.eval.batch_size = 256
    c.eval.lengths = (64, 128, 256)
    c.checkpoint.every = 1000
    return c
