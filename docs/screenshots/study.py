"""A small study for the dashboard's screenshots (docs/screenshots/make_screenshots.py): copy at
three lengths, an adding learning-rate grid, and parity trained on 1..20 and evaluated longer.

    seqlab sweep docs/screenshots/study.py --workdir /tmp/study --jobs 1     # ~10 min, 2 cores
"""

from seqlab.sweep import product

CONFIG = "configs/zoo.py"
NOTE = (
    "Screenshot study: copy at T=5, 10, 20; adding T=20 at two learning rates; parity trained "
    "on 1..20, evaluated at 20, 40, 80."
)
COMMON = {
    "model.size": "tiny",
    "train.stop_when_solved": True,
    "train.batch_size": 64,
    "train.chunk": 25,
    "eval.every": 25,
    "eval.batches": 1,
    "eval.batch_size": 256,
    "checkpoint.every": 500,
    "train.seed": [0, 1],
    "train.fast_compile": True,
}
BLOCK = {
    "model.size": "",
    "model.hidden": 32,
    "model.layers": 1,
    "model.heads": 2,
    "model.positions": "rotary",
}


def blocks(runs):
    return [dict(r, **BLOCK) if r["model.name"] == "transformer" else r for r in runs]


def sweep():
    copy = product(
        {
            "model.name": ["lstm", "gru", "transformer"],
            "task.name": "copy",
            "task.memorize": 3,
            "task.length": [5, 10, 20],
        },
        dict(COMMON, **{"train.steps": 1500, "optim.lr": 1e-2}),
    )
    adding = product(
        {
            "model.name": ["lstm", "gru", "transformer"],
            "task.name": "adding",
            "task.length": 20,
            "optim.lr": [1e-3, 1e-2],
        },
        dict(COMMON, **{"train.steps": 600}),
    )
    parity = product(
        {
            "model.name": ["lstm", "transformer"],
            "task.name": "parity",
            "task.length": 20,
            "task.min_length": 1,
            "eval.lengths": [(20, 40, 80)],
        },
        dict(COMMON, **{"train.steps": 800, "optim.lr": 3e-3}),
    )
    return blocks(copy) + blocks(adding) + blocks(parity)
