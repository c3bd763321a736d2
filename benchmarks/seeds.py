"""S seeds in one program, each way the engine can run them, against the same S seeds trained
one after another.

    .venv/bin/python benchmarks/seeds.py [--hiddens 32,128] [--seeds 8] [--quick]

Model and data as issue 7 sets them: an LSTM on copy with T=120 steps a sequence (copy
length 100), batch 32, hidden H. The JAX CPU is split into one device per core first, as the
`seqlab` command does (seqlab.devices). Variants, all seqlab's engine (chunks of K=10 steps,
batches sampled on device), interleaved in rounds after a warm-up round:

- `one after another`: the one-seed program, called once per seed (compiled once);
- `vmap`, `map`, `devices`, `devices-vmap`: the S-seed program with `train.seed_strategy` set so
  (seqlab.train.loop.over_seeds); `auto` picks `devices` on a CPU of several cores.

Reported: compile s of each program, seconds per chunk of all S seeds, and the speed-up over
one after another (> 1: one program is faster).
"""

from __future__ import annotations

from seqlab.devices import use_cpu_cores

use_cpu_cores()  # before JAX starts: one device per core, as `seqlab train` runs

import argparse  # noqa: E402

import jax  # noqa: E402
from common import (  # noqa: E402
    fmt,
    interleaved,
    machine_info,
    markdown_table,
    median,
    spread,
    timed,
    write_results,
)

import seqlab.models  # noqa: E402
import seqlab.tasks  # noqa: E402, F401  (registration)
from seqlab.config import apply_value, base_config, validate  # noqa: E402
from seqlab.registry import TASKS  # noqa: E402
from seqlab.train.loop import compile_chunk  # noqa: E402
from seqlab.train.optim import make_optimizer  # noqa: E402
from seqlab.train.state import Engine, init_state  # noqa: E402

K = 10
STRATEGIES = ("vmap", "map", "devices", "devices-vmap")
APART = "one after another"


def config(hidden: int, length: int, batch: int):
    cfg = base_config()
    cfg.lock()
    for key, value in {
        "task.name": "copy",
        "task.length": length - 20,  # copy adds 20 steps: T = length
        "model.hidden": hidden,
        "train.batch_size": batch,
    }.items():
        apply_value(cfg, key, value)
    validate(cfg)
    return cfg


def program(cfg, seeds: list[int], strategy: str):
    """(a callable running one chunk and blocking, compile seconds)."""
    task = TASKS.get(cfg.task.name)(cfg.task)
    tx = make_optimizer(cfg.optim, cfg.train.steps)
    graphdef, state = init_state(cfg.model, task, tx, seeds)
    engine = Engine(graphdef, task, tx, cfg.train.batch_size, seed_strategy=strategy)
    chunk, compile_s = timed(lambda: compile_chunk(engine, state, K, len(seeds)))
    box = {"state": state}

    def run():
        box["state"], _ = jax.block_until_ready(chunk(box["state"]))

    return run, compile_s


def apart_program(cfg, seeds: list[int]):
    """One seed's program, run once per seed: S separate states, one compiled program."""
    runs, compile_s = [], 0.0
    for seed in seeds:
        run, seconds = program(cfg, [seed], "vmap")
        runs.append(run)
        compile_s = compile_s or seconds  # compiled once; the other seeds hit JAX's cache

    def run_all():
        for run in runs:
            run()

    return run_all, compile_s


def measure(cfg, num_seeds: int, rounds: int) -> dict:
    seeds = list(range(num_seeds))
    variants, compile_s = {}, {}
    variants[APART], compile_s[APART] = apart_program(cfg, seeds)
    for strategy in STRATEGIES:
        variants[strategy], compile_s[strategy] = program(cfg, seeds, strategy)
    samples = interleaved(variants, rounds, K, steps_per_call=dict.fromkeys(variants, K))
    apart = median(samples[APART])
    return {
        name: {
            "compile_s": compile_s[name],
            "seconds_per_step": s,
            "median_s": median(s),
            "spread_iqr_rel": spread(s),
            "speedup": apart / median(s),
        }
        for name, s in samples.items()
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hiddens", default="32,128")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--length", type=int, default=120, help="T, steps per sequence (> 20)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="tiny settings: checks the script runs")
    args = p.parse_args()
    if args.quick:
        args.hiddens, args.seeds, args.length, args.batch, args.rounds = "8", 3, 25, 4, 1
    results, rows = {}, []
    for hidden in (int(h) for h in args.hiddens.split(",")):
        r = measure(config(hidden, args.length, args.batch), args.seeds, args.rounds)
        results[f"H={hidden}"] = r
        for name, v in r.items():
            row = [f"H={hidden}", name, fmt(v["compile_s"], ".1f"), fmt(1e3 * v["median_s"] * K)]
            rows.append([*row, fmt(v["spread_iqr_rel"], ".2f"), fmt(v["speedup"], ".2f")])
            print(rows[-1], flush=True)
    headers = ["setting", "seeds run", "compile s", f"ms per {K} steps", "IQR/med", "speed-up"]
    machine = machine_info()
    print(
        f"\nLSTM on copy, T={args.length}, B={args.batch}, {args.seeds} seeds; "
        f"{machine['cpu']}, {machine['cores']} cores as {jax.local_device_count()} JAX devices\n"
    )
    print(markdown_table(rows, headers))
    payload = {
        "args": vars(args),
        "machine": {**machine, "jax_devices": jax.local_device_count()},
        "results": results,
    }
    print(f"\nwrote {write_results('seeds_quick' if args.quick else 'seeds', payload)}")


if __name__ == "__main__":
    main()
