"""Induction heads (Mamba, Gu & Dao 2023, Sec. 4.1.2 and App. E.1) with a 2-layer mLSTM.

    seqlab train --config configs/induction_heads.py --workdir runs/induction_heads

The paper's setting (`:paper`, the default): vocabulary 16, trained at length 256 and evaluated
at longer lengths (the paper goes from 2^6 to 2^20; here up to 2^14); 2 layers of width 64;
Adam at a constant lr (1e-3, the paper's choice for Mamba; 2e-4 for its attention models);
batch 8; 25 "epochs" of 8192 steps = 204,800 steps, as reported for Mamba. The model here is
the mLSTM (Beck et al. 2024), in chunkwise form so memory grows linearly with the evaluation
length (it was written before seqlab had Mamba); `--config.model.name=mamba` runs the paper's
model, and experiments/gu_dao2023.py compares Mamba, Mamba-2, Hawk, the LRU, S5 and attention
at a reduced scale. `:fast` trains on a 2-core CPU at length 64, batch 64,
parallel form, 1,000 steps, and evaluates at 128, 256 and 512. Measured (seed 0): held-out
accuracy 1.0 at length 64 from step 500; at step 1000, 1.0 at 128, 0.998 at 256 and 0.78 at
512; 6 minutes on a 2-core CPU shared with other jobs (40 s of it the evaluation at 512).
"""

from seqlab.config import base_config


def get_config(arg: str = "paper"):
    c = base_config()
    c.task.name = "induction_heads"
    c.task.length = 256
    c.task.vocab_size = 16
    c.model.name = "mlstm"
    c.model.hidden = 64
    c.model.layers = 2
    c.model.mlstm_form = "chunkwise"
    c.train.steps = 204_800
    c.train.batch_size = 8
    c.train.chunk = 1024
    c.optim.name = "adam"
    c.optim.lr = 1e-3
    c.optim.schedule = "constant"
    c.eval.every = 8192  # one of the paper's "epochs"
    c.eval.batch_size = 64
    c.eval.lengths = (64, 128, 512, 1024, 4096, 16384)
    c.checkpoint.every = 8192
    if arg == "fast":
        c.task.length = 64
        c.model.mlstm_form = "parallel"
        c.train.steps = 1_000
        c.train.batch_size = 64
        c.train.chunk = 100
        c.eval.every = 500
        c.eval.batch_size = 256
        c.eval.lengths = (128, 256, 512)
        c.checkpoint.every = 1_000
    elif arg != "paper":
        raise ValueError(f"configs/induction_heads.py takes 'paper' or 'fast', got {arg!r}")
    return c
