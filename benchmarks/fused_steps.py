"""Time per optimiser step with K steps fused in one lax.scan (the engine's compile_chunk).

A small model does a step in well under a millisecond of math, so a naive loop of one jitted
call per step is bound by dispatch and host sync. Every variant does 100 steps per timed call:
K=1 as 100 calls, K=10 as 10 calls, K=100 as one call, blocking after each call.
Run: .venv/bin/python benchmarks/fused_steps.py [--quick]
"""

from __future__ import annotations

import argparse

import jax
import optax
from common import (
    fmt,
    interleaved,
    machine_info,
    markdown_table,
    median,
    parse_with_quick,
    shape_parser,
    spread,
    timed,
    write_results,
)

import seqlab.models
import seqlab.tasks  # noqa: F401  (registration)
from seqlab.config import apply_value, base_config, validate
from seqlab.registry import TASKS
from seqlab.train.loop import compile_chunk
from seqlab.train.state import Engine, init_state

STEPS = 100
CHUNKS = (1, 10, 100)
QUICK = dict(hidden=8, length=5, batch=4, rounds=2)


def parse_args() -> argparse.Namespace:
    # --length is the copy task's T: sequences of T+20 steps
    p = shape_parser(__doc__.splitlines()[0], hidden=32, length=20, batch=32, rounds=10)
    return parse_with_quick(p, QUICK)


def variant(engine: Engine, model_cfg, k: int):
    """(name, compile seconds, callable running STEPS steps as STEPS // k blocking calls)."""
    # Each variant owns its state: the compiled chunk donates the state it is given.
    _, state = init_state(model_cfg, engine.task, engine.tx, [0])
    compiled, compile_s = timed(lambda: compile_chunk(engine, state, k, 1))
    box, calls = {"state": state}, STEPS // k

    def run():
        for _ in range(calls):
            box["state"], _ = jax.block_until_ready(compiled(box["state"]))

    return f"K={k} ({calls} call{'s' if calls > 1 else ''})", compile_s, run


def main() -> None:
    args = parse_args()
    cfg = base_config()
    cfg.lock()
    apply_value(cfg, "model.hidden", args.hidden)
    apply_value(cfg, "task.length", args.length)
    validate(cfg)
    task = TASKS.get("copy")(cfg.task)
    tx = optax.adam(1e-3)
    graphdef, _ = init_state(cfg.model, task, tx, [0])
    engine = Engine(graphdef, task, tx, args.batch)

    variants = [variant(engine, cfg.model, k) for k in CHUNKS]
    samples = interleaved(
        {name: run for name, _, run in variants},
        args.rounds,
        STEPS,
        steps_per_call={name: STEPS for name, _, _ in variants},
    )
    base = median(samples[variants[0][0]])
    results = {
        name: {
            "compile_s": compile_s,
            "seconds_per_step": samples[name],
            "median_s": median(samples[name]),
            "spread_iqr_rel": spread(samples[name]),
            "speedup_vs_k1": base / median(samples[name]),
        }
        for name, compile_s, _ in variants
    }
    rows = [
        [
            name,
            fmt(r["compile_s"], ".2f"),
            fmt(1e3 * r["median_s"]),
            fmt(r["spread_iqr_rel"], ".2f"),
            fmt(1 / r["median_s"], ",.0f"),
            fmt(r["speedup_vs_k1"], ".2f"),
        ]
        for name, r in results.items()
    ]
    headers = ["variant", "compile s", "ms/step", "IQR/med", "steps/s", "speed-up vs K=1"]
    machine = machine_info()
    print(
        f"Fused steps: LSTM H={args.hidden} on copy T={args.length} (seq_len {task.spec.seq_len})"
        f", B={args.batch}, {args.rounds} rounds of {STEPS} steps after a warm-up round"
    )
    print(f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average']}\n")
    print(markdown_table(rows, headers))
    payload = {
        "args": vars(args),
        "machine": machine,
        "results": results,
    }
    path = write_results("fused_steps_quick" if args.quick else "fused_steps", payload)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
