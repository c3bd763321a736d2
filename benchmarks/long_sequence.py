"""Training an LSTM on very long sequences: peak memory and step time with and without the
checkpointed scan.

    .venv/bin/python benchmarks/long_sequence.py [--length 10000 --batch 32 --hidden 256]

seqlab's engine trains `lstm` (hidden H, embedding 16) on copy with T steps a sequence, one
optimiser step per call, in a fresh process per variant so that each process's peak resident
memory is its own:

- `plain`: autodiff keeps every step's internals for the backward pass (memory ∝ T);
- `checkpoint_every=K`: the carry every K steps, each segment recomputed in the backward pass
  (seqlab.models.recurrence; memory ∝ T/K + K), with autodiff or the hand-written backward.

Reported: XLA's planned memory of the compiled training program (temporaries + arguments +
outputs, `Compiled.memory_analysis()`), the process's peak resident memory (ru_maxrss; JAX's
own runtime included), compile seconds, seconds per step (median of --steps after one
warm-up step) and the slowdown against `plain`. A variant whose plan exceeds --max-gb is
compiled but not run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from common import fmt, machine_info, markdown_table, median, write_results

VARIANTS = {
    "plain": {},
    "checkpoint_every=100": {"model.checkpoint_every": 100},
    "checkpoint_every=100, backward=hand": {
        "model.checkpoint_every": 100,
        "model.backward": "hand",
    },
}
GB = 1024**3


def child(spec: dict) -> dict:
    """One variant in this (fresh) process; returns what the table needs."""
    import jax
    import optax

    import seqlab.models
    import seqlab.tasks  # noqa: F401  (registration)
    from seqlab.config import apply_value, base_config, validate
    from seqlab.registry import TASKS
    from seqlab.train.loop import compile_chunk
    from seqlab.train.state import Engine, init_state

    cfg = base_config()
    cfg.lock()
    fields = {
        "model.hidden": spec["hidden"],
        "task.length": spec["length"] - 20,  # copy adds 20 steps
        "train.batch_size": spec["batch"],
        **spec["overrides"],
    }
    for key, value in fields.items():
        apply_value(cfg, key, value)
    validate(cfg)
    task = TASKS.get("copy")(cfg.task)
    tx = optax.adam(1e-3)
    graphdef, state = init_state(cfg.model, task, tx, [0])
    engine = Engine(graphdef, task, tx, cfg.train.batch_size)
    start = time.perf_counter()
    chunk = compile_chunk(engine, state, 1, 1)
    out = {"compile_s": time.perf_counter() - start}
    memory = chunk.memory_analysis()
    planned = memory.temp_size_in_bytes + memory.argument_size_in_bytes
    out["planned_bytes"] = planned + memory.output_size_in_bytes
    out["temp_bytes"] = memory.temp_size_in_bytes
    if out["planned_bytes"] > spec["max_gb"] * GB:
        return {**out, "skipped": f"plan exceeds {spec['max_gb']} GB"}
    times = []
    for _ in range(spec["steps"] + 1):
        start = time.perf_counter()
        state, metrics = jax.block_until_ready(chunk(state))
        times.append(time.perf_counter() - start)
    out["seconds_per_step"] = times[1:]
    out["loss"] = float(metrics["loss"][0])
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def run_variant(name: str, args) -> dict:
    spec = dict(
        hidden=args.hidden,
        length=args.length,
        batch=args.batch,
        steps=args.steps,
        max_gb=args.max_gb,
        overrides=VARIANTS[name],
    )
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--length", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    p.add_argument("--max-gb", type=float, default=12.0, help="do not run larger plans")
    p.add_argument("--quick", action="store_true", help="tiny settings: checks the script runs")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.quick:
        args.length, args.batch, args.hidden, args.steps = 300, 4, 16, 1
    results = {}
    for name in VARIANTS:
        results[name] = run_variant(name, args)
        print(name, results[name].get("error") or "done", flush=True)
    plain = results["plain"].get("seconds_per_step")
    rows = []
    for name, r in results.items():
        step = median(r["seconds_per_step"]) if "seconds_per_step" in r else None
        slowdown = step / median(plain) if step and plain else None
        rows.append(
            [
                name,
                fmt(r.get("planned_bytes", 0) / GB, ".2f") if "planned_bytes" in r else "n/a",
                fmt(r.get("peak_rss_bytes", 0) / GB, ".2f") if "peak_rss_bytes" in r else "n/a",
                fmt(r.get("compile_s"), ".1f"),
                fmt(step, ".2f") if step else r.get("skipped") or r.get("error", "n/a"),
                fmt(slowdown, ".2f"),
            ]
        )
    headers = ["variant", "XLA plan GB", "peak RSS GB", "compile s", "s/step", "vs plain"]
    machine = machine_info()
    print(f"\nlstm on copy, T={args.length}, B={args.batch}, H={args.hidden}; {machine['cpu']}\n")
    print(markdown_table(rows, headers))
    payload = {
        "args": vars(args),
        "machine": machine,
        "results": results,
    }
    name = "long_sequence_quick" if args.quick else "long_sequence"
    print(f"\nwrote {write_results(name, payload)}")


if __name__ == "__main__":
    main()
