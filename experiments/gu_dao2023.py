"""Gu & Dao 2023 ("Mamba"), the synthetic tasks at a reduced, stated scale: selective copying
(their Table 1) and induction heads trained short and tested long (their Table 2).

    seqlab sweep experiments/gu_dao2023.py --workdir runs/gu_dao2023 --jobs 2
    seqlab export runs/gu_dao2023 -o experiments/results/gu_dao2023.json

Their settings (App. E.1; configs/selective_copy.py and configs/induction_heads.py hold them
at full scale): 2-layer models of width 64; selective copying at length 4,096 with 16 tokens to
recall from a vocabulary of 16, constant lr 1e-4, batch 64, 400,000 steps; induction heads
trained at length 256 with vocabulary 16, batch 8, Adam at 1e-3 for Mamba, 204,800 steps, and
tested at lengths 2^6..2^20.

The claims placed: selection (input-dependent Δ, B, C) is what solves selective copying: their
S4 layer without gating reaches 18.3% and the Mamba block with S4 56.4%, against 99.8% for
Mamba with S6. seqlab's time-invariant recurrences, the LRU and S5, stand where S4 stands; Mamba
and Mamba-2 are the selective ones; Hawk's RG-LRU gates its decay by the input. On induction
heads Mamba keeps 100% up to 2^20 = 4,000x its training length, where attention with rotary
positions (MHA-RoPE) is exact at the training length and falls off beyond about twice it.

Reduced scale, for the 2-core CPU (about 45 minutes with --jobs 2, most of it Mamba's):
selective copying at length 128 (+16 recall steps), 16 tokens, vocabulary 16; induction heads
trained at length 64 and tested at 128..4,096 (64x; the Transformer to 1,024); 2 seeds; batch 64
at lr 1e-3 with global-norm clipping 1 (theirs for selective copying: 400,000 steps at 1e-4);
every model 2 layers of width 64 (the Transformer: 2 heads, rotary positions, feed-forward 4x).
Selective copying stops when solved (accuracy >= 0.99 on held-out batches) within 1,500 steps;
induction heads trains every model for 1,000 steps, so that extrapolation is compared after
equal training.
"""

from seqlab.sweep import product

# The selective Mamba and the time-invariant LRU, sized to the 2-core CPU. Mamba-2, Hawk and S5
# (PER_MODEL has them) join by adding them here: the same command trains only the new programs.
MODELS = ["mamba", "lru"]
SHAPE = {"model.size": "", "model.hidden": 64, "model.layers": 2}
PER_MODEL = {
    "mamba": {"model.state_dim": 16},  # their N = 16, expansion 2, conv 4
    "mamba2": {"model.heads": 2},
    "hawk": {"model.heads": 2},
    "lru": {"model.residual": True, "model.norm": "layer"},
    "s5": {"model.heads": 2},
    "transformer": {"model.heads": 2, "model.positions": "rotary"},
}
PROTOCOL = {
    "train.batch_size": 64,
    "train.chunk": 50,
    "optim.lr": 1e-3,
    "optim.schedule": "constant",
    "eval.every": 500,
    "checkpoint.every": 500,
    "train.seed": [0, 1],
}
SELECTIVE_COPY = {
    "config": "configs/selective_copy.py:paper",
    "task.length": 128,
    "task.memorize": 16,
    "train.steps": 1500,
    "eval.batch_size": 256,
    "eval.batches": 2,
    "train.stop_when_solved": True,
    "eval.check_every": 50,
    "eval.check_batches": 1,
}
INDUCTION_HEADS = {
    "config": "configs/induction_heads.py:paper",
    "task.length": 64,
    "train.steps": 1000,  # every model the same budget: extrapolation after equal training
    "eval.lengths": [(128, 256, 512, 1024, 4096)],
    "eval.batch_size": 64,  # 4 x 64 sequences a length: the held-out set at 4,096 fits memory
    "eval.batches": 4,
}
# Attention at 4,096 steps holds [batch, heads, T, T] scores (2 GB at batch 64 in float32, and
# more for their softmax): the Transformer is tested up to 1,024, 16x its training length.
TRANSFORMER_LENGTHS = {"eval.lengths": [(128, 256, 512, 1024)]}


def models(names):
    return [dict(SHAPE, **{"model.name": m}, **PER_MODEL[m]) for m in names]


def sweep():
    copying = product(SELECTIVE_COPY, models(MODELS), PROTOCOL)
    induction = product(INDUCTION_HEADS, models(MODELS), PROTOCOL)
    induction += product(
        dict(INDUCTION_HEADS, **TRANSFORMER_LENGTHS), models(["transformer"]), PROTOCOL
    )
    return induction + copying
