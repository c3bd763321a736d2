"""S seeds in one vmapped program against the same S seeds trained one after another.

    .venv/bin/python benchmarks/seeds.py [--quick]

Both ways use seqlab's engine (chunks of K steps per compiled call) and train identical seeds
(seed s of the multi-seed program equals a single-seed run with seed s: tested in
tests/train/test_engine.py). Reported per setting: compile seconds, training seconds, and the
end-to-end ratio apart / together (> 1: one program is faster), measured in alternating
rounds. Settings: the demo sweep's size (tiny LSTM, copy T=10) and a mid-size one (LSTM 128,
copy T=100).
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
from seqlab.train.loop import compile_chunk
from seqlab.train.optim import make_optimizer
from seqlab.train.state import Engine, init_state

SETTINGS = {
    "lstm H=32, copy T=10 (demo size)": dict(hidden=32, length=10, steps=300),
    "lstm H=128, copy T=100": dict(hidden=128, length=100, steps=100),
}
K = 50


def config(hidden: int, length: int, steps: int):
    cfg = base_config()
    cfg.lock()
    for key, value in {
        "task.name": "copy",
        "task.length": length,
        "model.hidden": hidden,
        "train.steps": steps,
        "train.batch_size": 64,
    }.items():
        apply_value(cfg, key, value)
    validate(cfg)
    return cfg


def train_program(cfg, seeds: list[int]) -> tuple[float, float]:
    """(compile seconds, training seconds) of one program training `seeds` together."""
    task = TASKS.get(cfg.task.name)(cfg.task)
    tx = make_optimizer(cfg.optim, cfg.train.steps)
    graphdef, state = init_state(cfg.model, task, tx, seeds)
    engine = Engine(graphdef, task, tx, cfg.train.batch_size)
    t0 = time.perf_counter()
    chunk = compile_chunk(engine, state, K, len(seeds))
    t1 = time.perf_counter()
    for _ in range(cfg.train.steps // K):
        state, _ = chunk(state)
    jax.block_until_ready(state)
    return t1 - t0, time.perf_counter() - t1


def measure(cfg, seeds: int, rounds: int) -> dict:
    together, apart = [], []
    for _ in range(rounds):
        together.append(train_program(cfg, list(range(seeds))))
        runs = [train_program(cfg, [s]) for s in range(seeds)]
        apart.append((sum(c for c, _ in runs), sum(t for _, t in runs)))
    t_c, t_t = median([c for c, _ in together]), median([t for _, t in together])
    a_c, a_t = median([c for c, _ in apart]), median([t for _, t in apart])
    return {
        "seeds": seeds,
        "together_compile_s": t_c,
        "together_train_s": t_t,
        "apart_compile_s": a_c,
        "apart_train_s": a_t,
        "train_ratio": a_t / t_t,
        "end_to_end_ratio": (a_c + a_t) / (t_c + t_t),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="2,4")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    settings = SETTINGS
    if args.quick:
        settings = {"quick": dict(hidden=8, length=5, steps=K)}
        args.rounds, args.seeds = 1, "2"
    results, rows = {}, []
    for name, s in settings.items():
        cfg = config(**s)
        for n in (int(x) for x in args.seeds.split(",")):
            r = measure(cfg, n, args.rounds)
            results[f"{name}, S={n}"] = r
            rows.append(
                [
                    f"{name}, {s['steps']} steps",
                    n,
                    fmt(r["together_compile_s"], ".1f") + " + " + fmt(r["together_train_s"], ".1f"),
                    fmt(r["apart_compile_s"], ".1f") + " + " + fmt(r["apart_train_s"], ".1f"),
                    fmt(r["train_ratio"], ".2f"),
                    fmt(r["end_to_end_ratio"], ".2f"),
                ]
            )
            print(rows[-1], flush=True)
    headers = [
        "setting",
        "S",
        "together s (compile + train)",
        "apart s",
        "train ratio",
        "end-to-end",
    ]
    machine = machine_info()
    print(f"\n{machine['cpu']}, {machine['cores']} cores; ratios are apart / together\n")
    print(markdown_table(rows, headers))
    payload = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "args": vars(args),
        "machine": machine,
        "results": results,
    }
    print(f"\nwrote {write_results('seeds_quick' if args.quick else 'seeds', payload)}")


if __name__ == "__main__":
    main()
