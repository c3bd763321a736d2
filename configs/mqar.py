"""Multi-query associative recall (Arora et al. 2023, Zoology, Fig. 2) with a 2-layer mLSTM.

    seqlab train --config configs/mqar.py --workdir runs/mqar

The paper's setting (`:paper`, the default) follows the authors' Fig. 2 sweep
(HazyResearch/zoology, zoology/experiments/paper_configs/iclr24_zoology_figure2/configs.py)
at its first point: vocabulary 8192, length 64 with 4 key-value pairs (`--config.task.length=128`
or 256 give 8 or 16 pairs: task.pairs defaults to length // 16), filler token 0
(`random_non_queries=False`; task `mqar_noise` has random fillers). Training as theirs: 2 layers,
width swept over 64..512 (here 64, the sweep's first); AdamW (torch's default weight decay
0.01, no clipping) with the learning rate swept over logspace(-4, -2, 4) (here its third point,
10^(-8/3) ≈ 2.2e-3), cosine-annealed to 0 over 64 epochs of 100,000 sequences at batch 512
(T <= 128; 256 at T = 256): 12,500 steps; a test set of 3,000 sequences (here 12 x 256).
Batches are drawn fresh each step rather than from a fixed set of 100,000. The model is the
mLSTM (Beck et al. 2024), as in configs/selective_copy.py and configs/induction_heads.py;
Zoology's reference attention model is `--config.model.name=transformer --config.model.heads=1`
(learned positions; their dropout 0.1 is not in seqlab).

`:fast` trains on a 2-core CPU: vocabulary 512, batch 64, constant lr 3e-3, 1,000 steps.
Measured (seed 0): held-out accuracy 0.985 at step 500, 0.996 at 750, 0.997 at 1000; 5 minutes
on a 2-core CPU shared with other jobs. In that setting the Transformer stayed near accuracy
0.26 (one of the 4 values): 1 head, learned positions, cosine lr 1e-3, over 3,000 steps; 2 heads,
rotary positions, cosine lr 3e-3, over 1,700 steps: the plateau before the induction circuit
forms, not a failure (REPRODUCTIONS.md §8: Zoology's attention block leaves it after ~2,000 steps
at batch 64 and solves MQAR (64, 4) by step 7,500 with the cosine over 12,500 steps).
"""

from seqlab.config import base_config


def get_config(arg: str = "paper"):
    c = base_config()
    c.task.name = "mqar"
    c.task.length = 64
    c.task.vocab_size = 8192
    c.model.name = "mlstm"
    c.model.hidden = 64
    c.model.layers = 2
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
        c.train.steps = 1_000
        c.train.batch_size = 64
        c.train.chunk = 50
        c.optim.lr = 3e-3
        c.optim.schedule = "constant"
        c.eval.every = 250
        c.eval.batches = 4
        c.checkpoint.every = 1_000
    elif arg != "paper":
        raise ValueError(f"configs/mqar.py takes 'paper' or 'fast', got {arg!r}")
    return c
