"""Multi-query associative recall (Arora et al. 2023, Zoology, Fig. 2) with a 2-layer Transformer.

    seqlab train --config configs/mqar.py --workdir runs/mqar

The paper's setting (`:paper`, the default) follows the authors' Fig. 2 sweep
(HazyResearch/zoology, zoology/experiments/paper_configs/iclr24_zoology_figure2/configs.py)
at its first point: vocabulary 8192, length 64 with 4 key-value pairs (`--config.task.length=128`
or 256 give 8 or 16 pairs: task.pairs defaults to length // 16), filler token 0
(`random_non_queries=False`; task `mqar_noise` has random fillers). Their attention model:
2 layers, 1 head, learned positions, width swept over 64..512 (here 64, the sweep's first);
AdamW (torch's default weight decay 0.01) with the learning rate swept over
logspace(-4, -2, 4) (here its third point, 10^(-8/3) ≈ 2.2e-3), cosine-annealed to 0 over 64
epochs of 100,000 sequences at batch 512 (T <= 128; 256 at T = 256): 12,500 steps. Their
dropout (0.1) is not in seqlab; batches are drawn fresh each step rather than from a fixed set
of 100,000. The test set: 3,000 sequences (here 12 x 256 = 3,072). `:fast` is a smaller
vocabulary and batch that trains on a 2-core CPU (the README gives its steps and wall time).
"""

from seqlab.config import base_config


def get_config(arg: str = "paper"):
    c = base_config()
    c.task.name = "mqar"
    c.task.length = 64
    c.task.vocab_size = 8192
    c.model.name = "transformer"
    c.model.hidden = 64
    c.model.layers = 2
    c.model.heads = 1
    c.model.positions = "learned"
    c.train.steps = 12_500
    c.train.batch_size = 512
    c.train.chunk = 250
    c.optim.name = "adamw"
    c.optim.weight_decay = 0.01
    c.optim.lr = 10 ** (-8 / 3)
    c.optim.schedule = "cosine"
    c.optim.clip_norm = 0.0  # Zoology does not clip
    c.eval.every = 1_250
    c.eval.batches = 12
    c.eval.batch_size = 256
    c.checkpoint.every = 2_500
    if arg == "fast":
        c.task.vocab_size = 512
        c.train.steps = 3_000
        c.train.batch_size = 64
        c.train.chunk = 100
        c.optim.lr = 1e-3
        c.eval.every = 500
        c.eval.batches = 4
        c.checkpoint.every = 1_000
    elif arg != "paper":
        raise ValueError(f"configs/mqar.py takes 'paper' or 'fast', got {arg!r}")
    return c
