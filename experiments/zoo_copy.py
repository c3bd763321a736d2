"""The zoo on copy across T: every causal model at an equal parameter budget (~20k), three
seeds, stopping when solved (recall accuracy >= 0.99 on the held-out set) within a ceiling.

    seqlab sweep experiments/zoo_copy.py --workdir runs/zoo_copy --jobs 2
    seqlab export runs/zoo_copy -o experiments/results/zoo_copy.json

One protocol for every model (configs/zoo.py: Adam, global-norm clipping 1) at lr 3e-3, batch
32, at most 2,000 steps (64,000 training sequences): a model that has not solved by then is
reported at that budget, not as failing. One learning rate, not each model's best: REPRODUCTIONS
Part II runs the grids. The solved check runs every 50 steps on one held-out batch of 256;
where it passes, the full held-out set (4 x 256) decides. Depth: the gated cells one layer; the
linear-recurrence cells (lru, mingru, minlstm), whose layer is linear in its state, two
residual layers with layer norm (as their papers stack them); the block models two blocks.

Lengths: T=50 is what the 2-core CPU allowed in the session that ran it (61 minutes, sharing the
cores with two other studies; the block models take most of it). Longer T (100, 200: about 2 and
4 times as long) are added to LENGTHS and the same command resumes: the finished programs are
kept, the new lengths train.
"""

from seqlab.sweep import product

CONFIG = "configs/zoo.py"
CELLS = ["rnn", "lstm", "peephole_lstm", "gru", "slstm"]
LINEAR_CELLS = ["lru", "mingru", "minlstm"]
BLOCKS = ["mlstm", "xlstm[1:1]", "transformer", "hawk", "s5", "mamba", "mamba2"]
BUDGET = {"model.size": "", "model.param_budget": 20_000}
SCAN = {"model.scan_form": "scan"}  # as run (the default then): keeps the finished runs' ids
LINEAR_SHAPE = {"model.layers": 2, "model.residual": True, "model.norm": "layer", **SCAN}
BLOCK_SHAPE = {"model.layers": 2, "model.heads": 2, **SCAN}
TRANSFORMER = {"model.positions": "rotary"}  # learned positions would spend the budget on T
PROTOCOL = {
    "optim.lr": 3e-3,
    "train.batch_size": 32,
    "train.steps": 2000,
    "train.chunk": 50,
    "train.stop_when_solved": True,
    "eval.every": 500,
    "eval.check_every": 50,
    "eval.check_batches": 1,
    "checkpoint.every": 500,
    "train.seed": [0, 1, 2],
}
LENGTHS = [50]  # the longest first, so that no long program is left alone at the end


def models():
    out = [dict(BUDGET, **{"model.name": m}) for m in CELLS]
    out += [dict(BUDGET, **LINEAR_SHAPE, **{"model.name": m}) for m in LINEAR_CELLS]
    out += [dict(BUDGET, **BLOCK_SHAPE, **{"model.name": m}) for m in BLOCKS]
    return [dict(m, **TRANSFORMER) if m["model.name"] == "transformer" else m for m in out]


def sweep():
    return product({"task.name": "copy", "task.length": LENGTHS}, models(), PROTOCOL)
