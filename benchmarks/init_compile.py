"""Seconds to build the initial TrainState: XLA's optimisations on (default) vs off (seqlab's).

    .venv/bin/python benchmarks/init_compile.py [--rounds 3] [--quick]

The initialisation program runs once per run, so its compile time is all it costs; seqlab
compiles it with `seqlab.train.state.INIT_COMPILER_OPTIONS` (no backend optimisation). Measured
for the demo sweep's model sizes (experiments/zoo_quick.py: cells `model.size=tiny`, block models
hidden 32 x 2 blocks), two seeds, on adding T=20, in alternating rounds with JAX's caches cleared
before each measurement. The values agree to float32 rounding (tests/train/test_engine.py).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import jax
from common import fmt, machine_info, markdown_table, median, write_results

import seqlab.models
import seqlab.tasks  # noqa: F401  (registration)
from seqlab.config import apply_value, base_config, validate
from seqlab.registry import TASKS
from seqlab.train import state as state_lib
from seqlab.train.optim import make_optimizer

MODELS = ["lstm", "gru", "slstm", "mlstm", "xlstm[1:1]", "transformer"]
BLOCKS = {"model.size": "", "model.hidden": 32, "model.layers": 2, "model.heads": 2}


def config(model: str):
    cfg = base_config()
    overrides = {"model.name": model, "model.size": "tiny", "task.name": "adding"}
    overrides["task.length"] = 20
    if model in ("mlstm", "xlstm[1:1]", "transformer"):
        overrides.update(BLOCKS)
    for key, value in overrides.items():
        apply_value(cfg, key, value)
    validate(cfg)
    return cfg


def init_seconds(cfg, options) -> float:
    task = TASKS.get(cfg.task.name)(cfg.task)
    tx = make_optimizer(cfg.optim, cfg.train.steps)
    jax.clear_caches()
    saved, state_lib.INIT_COMPILER_OPTIONS = state_lib.INIT_COMPILER_OPTIONS, options
    try:
        start = time.perf_counter()
        _, state = state_lib.init_state(cfg.model, task, tx, [0, 1])
        jax.block_until_ready(state)
        return time.perf_counter() - start
    finally:
        state_lib.INIT_COMPILER_OPTIONS = saved


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="one round of the LSTM only")
    args = p.parse_args()
    models = ["lstm"] if args.quick else MODELS
    rounds = 1 if args.quick else args.rounds
    results, rows = {}, []
    for model in models:
        cfg = config(model)
        default, cheap = [], []
        for _ in range(rounds):
            default.append(init_seconds(cfg, None))
            cheap.append(init_seconds(cfg, state_lib.INIT_COMPILER_OPTIONS))
        r = {"optimised_s": median(default), "unoptimised_s": median(cheap)}
        r["ratio"] = r["optimised_s"] / r["unoptimised_s"]
        results[model] = r
        rows.append([model, fmt(r["optimised_s"], ".2f"), fmt(r["unoptimised_s"], ".2f"),
                     fmt(r["ratio"], ".1f")])  # fmt: skip
        print(rows[-1], flush=True)
    machine = machine_info()
    print(f"\n{machine['cpu']}, {machine['cores']} cores; median of {rounds} round(s)\n")
    print(markdown_table(rows, ["model", "optimised init s", "unoptimised init s", "ratio"]))
    payload = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "args": vars(args),
        "machine": machine,
        "results": results,
    }
    name = "init_compile_quick" if args.quick else "init_compile"
    print(f"\nwrote {write_results(name, payload)}")


if __name__ == "__main__":
    main()
