"""XLA's CPU backend optimisation level: a run's compile seconds and step time, level 1 vs 3.

    .venv/bin/python benchmarks/compile_level.py [--rounds 2] [--models lstm,mlstm] [--quick]

Level 3 is XLA's default; seqlab.train.compile uses 1 on CPU. For every zoo model at its
default ('small') size and at the demo sweep's size (tiny cells; the block models at hidden
32), on copy T=100, B=32 (adding for the bidirectional models), two seeds in one program:

- compile: a fresh process per level and round (levels alternating), timing what a run
  compiles — the initial state, the evaluation and the K-step training chunk — with
  `XLA_FLAGS=--xla_backend_optimization_level=L`, which seqlab.train.compile defers to;
- step time: both levels' training chunks compiled in this process and timed in interleaved
  rounds.

Reported: median compile seconds per level, their ratio 3 / 1, and the step-time ratio 3 / 1
(< 1: the default level's program runs faster).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jax
from common import (
    fmt,
    interleaved,
    machine_info,
    markdown_table,
    median,
    parse_with_quick,
    shape_parser,
    write_results,
)
from zoo import ZOO, speed_task, zoo_config

from seqlab.registry import TASKS
from seqlab.train import loop
from seqlab.train.optim import make_optimizer
from seqlab.train.state import Engine, init_state, seed_values

LEVELS = (1, 3)
SIZES = ("small", "demo")
DEMO_BLOCKS = {"model.size": "", "model.hidden": 32, "model.layers": 1, "model.heads": 2}


def config(model: str, size: str, length: int, batch: int):
    chosen = {}
    if size == "demo":
        chosen = {"model.size": "tiny"}
        if model in ("mlstm", "transformer", "xlstm[1:1]"):
            chosen = dict(DEMO_BLOCKS, **({"model.layers": 2} if model == "xlstm[1:1]" else {}))
    return zoo_config(
        model, speed_task(model), length, {**chosen, "train.batch_size": batch, "train.seeds": 2}
    )


def programs(cfg, k: int) -> tuple[dict[str, float], Engine, object]:
    """(compile seconds of each program a run compiles, the engine, the initial state)."""
    task = TASKS.get(cfg.task.name)(cfg.task)
    seeds = seed_values(cfg.train)
    tx = make_optimizer(cfg.optim, cfg.train.steps)
    seconds = {}
    start = time.perf_counter()
    graphdef, state = init_state(cfg.model, task, tx, seeds)
    jax.block_until_ready(state)
    seconds["init"] = time.perf_counter() - start
    engine = Engine(graphdef, task, tx, cfg.train.batch_size)
    batches = loop.eval_batches(task, cfg.eval)
    start = time.perf_counter()
    loop.compile_eval(engine, state, batches, len(seeds))
    seconds["eval"] = time.perf_counter() - start
    start = time.perf_counter()
    loop.compile_chunk(engine, state, k, len(seeds))
    seconds["chunk"] = time.perf_counter() - start
    return seconds, engine, state


def child(spec: str) -> None:
    """Measures one fresh process's compile seconds; prints them as JSON."""
    model, size, length, batch, k = json.loads(spec)
    seconds, _, _ = programs(config(model, size, length, batch), k)
    print(json.dumps(seconds))


def compile_in_fresh_process(level: int, spec: list) -> dict[str, float]:
    env = dict(os.environ, XLA_FLAGS=f"--xla_backend_optimization_level={level}")
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(model: str, size: str, length: int, batch: int, k: int, rounds: int) -> dict:
    spec = [model, size, length, batch, k]
    compile_s: dict[int, list[dict]] = {level: [] for level in LEVELS}
    for r in range(rounds):
        for level in LEVELS if r % 2 == 0 else LEVELS[::-1]:
            compile_s[level].append(compile_in_fresh_process(level, spec))
    cfg = config(model, size, length, batch)
    _, engine, state = programs(cfg, k)
    chunk = jax.jit(loop.over_seeds(lambda s: loop.train_chunk(engine, s, k), 2))

    def runner(level: int):
        compiled = chunk.lower(state).compile({"xla_backend_optimization_level": level})
        box = {"state": state}

        def run():
            box["state"], _ = jax.block_until_ready(compiled(box["state"]))

        return run

    step_s = interleaved(
        {f"O{level}": runner(level) for level in LEVELS},
        rounds=max(3, rounds),
        steps_per_round=4 * k,
        steps_per_call={f"O{level}": k for level in LEVELS},
    )
    total = {level: median([sum(c.values()) for c in compile_s[level]]) for level in LEVELS}
    return {
        "task": cfg.task.name,
        "compile_s": compile_s,
        "compile_total_s": total,
        "step_s": {level: step_s[f"O{level}"] for level in LEVELS},
        "compile_ratio": total[3] / total[1],
        "step_ratio": median(step_s["O3"]) / median(step_s["O1"]),
    }


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2])
    p = shape_parser(__doc__.splitlines()[0], rounds=2, length=100, batch=32, k=10)
    p.add_argument("--models", default=",".join(ZOO))
    args = parse_with_quick(p, {"rounds": 1, "length": 5, "batch": 4, "k": 2, "models": "lstm"})
    if jax.default_backend() != "cpu":
        sys.exit("compile_level.py measures XLA's CPU backend; run it where JAX uses the CPU")
    results, rows = {}, []
    for size in SIZES:
        for model in args.models.split(","):
            r = measure(model, size, args.length, args.batch, args.k, args.rounds)
            results[f"{model}, {size}"] = r
            rows.append(
                [
                    model,
                    size,
                    r["task"],
                    fmt(r["compile_total_s"][1], ".1f"),
                    fmt(r["compile_total_s"][3], ".1f"),
                    fmt(r["compile_ratio"], ".2f"),
                    fmt(1e3 * median(r["step_s"][1]), ".2f"),
                    fmt(r["step_ratio"], ".2f"),
                ]
            )
            print(rows[-1], flush=True)
    headers = [
        "model",
        "size",
        "task",
        "compile s, O1",
        "compile s, O3",
        "compile O3/O1",
        "ms/step O1",
        "step time O3/O1",
    ]
    machine = machine_info()
    print(f"\n{machine['cpu']}, {machine['cores']} cores; T={args.length}, B={args.batch}\n")
    print(markdown_table(rows, headers))
    payload = {
        "args": vars(args),
        "machine": machine,
        "results": results,
    }
    name = "compile_level_quick" if args.quick else "compile_level"
    print(f"\nwrote {write_results(name, payload)}")


if __name__ == "__main__":
    main()
