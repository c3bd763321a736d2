"""ListOps of the Long Range Arena (Tay et al. 2020) with LRA's Transformer setting.

    seqlab data prepare listops --data-dir ~/tensorflow_datasets
    seqlab train --config configs/listops.py --workdir runs/listops

The data: 96,000 / 2,000 / 2,000 sequences of 500-2000 tokens (seqlab.tasks.listops), padded to
task.length = 2000, the label read at each sequence's last token. The setting follows the
authors' `lra_benchmarks/listops/configs/base_listops_config.py`: a 6-layer bidirectional
Transformer encoder (width 512, 8 heads, MLP 2048), batch 32, 5,000 steps, weight decay 0.1,
1,000 warm-up steps. LRA's schedule (0.05 · linear warm-up · rsqrt decay) peaks at
0.05/√1000 ≈ 1.6e-3; here AdamW warms up to that and decays by cosine. LRA pools a CLS token;
here the encoder's output at the last token is read. Eval: the whole validation split (8 × 250).
Published: Transformer 36.37% (Tay et al. 2020); xLSTM paper Table 6: LSTM .275, xLSTM .411.
"""

from seqlab.config import base_config


def get_config():
    c = base_config()
    c.task.name = "listops"
    c.task.length = 2000
    c.model.name = "transformer"
    c.model.causal = False
    c.model.hidden = 512
    c.model.layers = 6
    c.model.heads = 8
    c.model.mlp_ratio = 4
    c.train.steps = 5000
    c.train.batch_size = 32
    c.train.chunk = 50
    c.optim.name = "adamw"
    c.optim.lr = 1.6e-3
    c.optim.schedule = "cosine"
    c.optim.warmup_steps = 1000
    c.optim.weight_decay = 0.1
    c.optim.clip_norm = 1.0
    c.eval.every = 500
    c.eval.batches = 8
    c.eval.batch_size = 250
    c.checkpoint.every = 1000
    return c
