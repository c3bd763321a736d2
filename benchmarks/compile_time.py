"""Compile seconds of every zoo model's training program at two lengths, each in a fresh process.

    .venv/bin/python benchmarks/compile_time.py [--lengths 100,1000] [--models lstm,mlstm]
        [--fast-compile] [--rounds 1] [--quick]

For every zoo model (benchmarks/zoo.py) at its default ('small') size, on copy (the
bidirectional models on adding, as zoo.speed_task decides) with task.length = T, B=32, one
seed, the optimiser of a run (configs/zoo.py: Adam 1e-3, clipping): a fresh Python process per
model, length and round (this script re-run with a hidden --child flag) so no in-process cache
helps; JAX's persistent compilation cache is switched off there. The child first runs a
trivial jitted function, so the backend's start-up is not charged to the model, then times:

- init: `seqlab.train.state.init_state` (trace, compile and run the initial-state program,
  which `compile_chunk` does not cover; seqlab compiles it at XLA's CPU level 1 always);
- chunk: `seqlab.train.loop.compile_chunk` with K=10 steps, one seed: tracing, lowering and
  XLA compilation of the training chunk, with train.fast_compile as given (default false:
  XLA's default level; --fast-compile: level 1 on CPU). Of it, "XLA" is the time XLA's backend
  compiler reported (JAX's backend_compile_duration event), the rest is tracing and lowering.

With --warm-cache each measurement is two fresh processes sharing a new persistent
compilation cache (seqlab.compile_cache, as the `seqlab` command uses it): the table shows the
second, which loads what the first compiled; the first is kept in the JSON as "cold".

The target (issue 7): init + chunk under 5 s at T=1000 for every zoo model, not growing with
T; reported as the ratio of the longest length to the shortest. With --rounds > 1 the medians.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
from common import (
    fmt,
    machine_info,
    markdown_table,
    median,
    parse_with_quick,
    shape_parser,
    timed,
    write_results,
)
from zoo import ZOO, speed_task, zoo_config

from seqlab.compile_cache import MIN_COMPILE_S
from seqlab.registry import TASKS
from seqlab.train.loop import compile_chunk
from seqlab.train.optim import make_optimizer
from seqlab.train.state import Engine, init_state, param_count

TARGET_S = 5.0
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
QUICK = dict(lengths="20,40", models="lstm,bilstm", batch=4, k=2)
PHASES = ("init_s", "chunk_s", "chunk_xla_s", "total_s")


# ---------------------------------------------------------------- child: one fresh process


class XlaClock:
    """Seconds XLA's backend compiler reports, summed from the moment `reset` is called."""

    def __init__(self):
        self.seconds = 0.0
        jax.monitoring.register_event_duration_secs_listener(self._record)

    def _record(self, event: str, duration: float, **_) -> None:
        if event == BACKEND_COMPILE_EVENT:
            self.seconds += duration

    def reset(self) -> None:
        self.seconds = 0.0


def child(spec: str) -> None:
    """Measures one model at one length in this (fresh) process; prints one JSON line."""
    model, length, batch, k, fast_compile, cache = json.loads(spec)
    if cache:  # --warm-cache: seqlab's persistent cache, in a folder this model and T own
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    else:
        jax.config.update("jax_enable_compilation_cache", False)
    overrides = {"train.batch_size": batch, "train.fast_compile": fast_compile}
    cfg = zoo_config(model, speed_task(model), length, overrides)
    task = TASKS.get(cfg.task.name)(cfg.task)
    tx = make_optimizer(cfg.optim, cfg.train.steps)
    jax.block_until_ready(jax.jit(lambda x: x + 1)(jnp.zeros(())))  # the backend's start-up
    clock = XlaClock()
    (graphdef, state), init_s = timed(lambda: init_state(cfg.model, task, tx, [0]))
    jax.block_until_ready(state)
    init_xla_s = clock.seconds
    engine = Engine(graphdef, task, tx, batch, cfg.train.fast_compile)
    clock.reset()
    _, chunk_s = timed(lambda: compile_chunk(engine, state, k, 1))
    result = {
        "task": cfg.task.name,
        "seq_len": task.spec.seq_len,
        "params": param_count(state),
        "init_s": init_s,
        "init_xla_s": init_xla_s,
        "chunk_s": chunk_s,
        "chunk_xla_s": clock.seconds,
        "total_s": init_s + chunk_s,
    }
    print(json.dumps(result))


# ---------------------------------------------------------------- parent


def in_fresh_process(spec: list, timeout_s: int) -> dict:
    """One child's measurement, or {"error": ...}: one model's failure keeps the others."""
    command = [sys.executable, __file__, "--child", json.dumps(spec)]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s} s"}
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_then_warm(spec: list, timeout_s: int) -> dict:
    """The warm sample of two fresh processes sharing a new persistent compilation cache: the
    first compiles and fills it, the second loads; the first's sample is kept as "cold"."""
    with tempfile.TemporaryDirectory() as cache:
        cold = in_fresh_process([*spec[:-1], cache], timeout_s)
        if "error" in cold:
            return cold
        warm = in_fresh_process([*spec[:-1], cache], timeout_s)
    return {**warm, "cold": cold}


def measure(models: list[str], lengths: list[int], args) -> dict[str, dict[int, list[dict]]]:
    """Every model at every length, once per round; the length order alternates by round."""
    samples = {m: {t: [] for t in lengths} for m in models}
    for r in range(args.rounds):
        for model in models:
            for length in lengths if r % 2 == 0 else lengths[::-1]:
                spec = [model, length, args.batch, args.k, args.fast_compile, None]
                if args.warm_cache:
                    sample = cold_then_warm(spec, args.timeout)
                else:
                    sample = in_fresh_process(spec, args.timeout)
                samples[model][length].append(sample)
                print(f"round {r + 1}: {model} T={length}: {outcome(sample)}", flush=True)
    return samples


def last_line(error: str) -> str:
    return "error: " + (error.splitlines() or [""])[-1]


def outcome(sample: dict) -> str:
    if "error" in sample:
        return last_line(sample["error"])
    return f"init {sample['init_s']:.2f} s, chunk {sample['chunk_s']:.2f} s"


def summarise(samples: dict[int, list[dict]]) -> dict:
    """Medians per length over the successful samples, and the longest / shortest ratios."""
    ok = {t: [s for s in ss if "error" not in s] for t, ss in samples.items()}
    errors = [s["error"] for ss in samples.values() for s in ss if "error" in s]
    if not all(ok.values()):
        return {"samples": samples, "errors": errors}
    medians = {t: {p: median([s[p] for s in ss]) for p in PHASES} for t, ss in ok.items()}
    shortest, longest = min(medians), max(medians)
    first = ok[shortest][0]
    return {
        "task": first["task"],
        "params": first["params"],
        "seq_len": {t: ss[0]["seq_len"] for t, ss in ok.items()},
        "samples": samples,
        "errors": errors,
        "median": medians,
        "chunk_ratio": medians[longest]["chunk_s"] / medians[shortest]["chunk_s"],
        "total_ratio": medians[longest]["total_s"] / medians[shortest]["total_s"],
        "under_target": medians[longest]["total_s"] < TARGET_S,
    }


def table(results: dict, lengths: list[int]) -> str:
    shortest, longest = min(lengths), max(lengths)
    headers = ["model", "task"]
    for t in lengths:
        headers += [f"init s T={t}", f"chunk s T={t}", f"of it XLA T={t}"]
    headers += [f"chunk T={longest}/T={shortest}", f"init+chunk T={longest}/T={shortest}"]
    headers.append(f"init+chunk < {TARGET_S:g} s at T={longest}")
    rows = []
    for model, r in results.items():
        if "median" not in r:
            rows.append([model, "error", *[""] * (len(headers) - 2)])
            continue
        row = [model, r["task"]]
        for t in lengths:
            m = r["median"][t]
            row += [fmt(m["init_s"], ".2f"), fmt(m["chunk_s"], ".2f"), fmt(m["chunk_xla_s"], ".2f")]
        row += [fmt(r["chunk_ratio"], ".2f"), fmt(r["total_ratio"], ".2f")]
        row.append("yes" if r["under_target"] else "no")
        rows.append(row)
    return markdown_table(rows, headers)


def first_errors(results: dict) -> str:
    """Each failed model's first error, one line each: the table shows only that it failed."""
    lines = [f"{m}: {last_line(r['errors'][0])}" for m, r in results.items() if r["errors"]]
    return "\n\nerrors:\n" + "\n".join(lines) if lines else ""


def parse_args() -> argparse.Namespace:
    p = shape_parser(__doc__.splitlines()[0], batch=32, k=10, rounds=1, timeout=600)
    p.add_argument("--lengths", default="100,1000", help="comma-separated task lengths T")
    p.add_argument("--models", default=",".join(ZOO), help="comma-separated zoo model names")
    p.add_argument(
        "--fast-compile", action="store_true", help="train.fast_compile: XLA CPU level 1"
    )
    p.add_argument(
        "--warm-cache",
        action="store_true",
        help="time a second process that loads the programs from the persistent cache",
    )
    return parse_with_quick(p, QUICK)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2])
    args = parse_args()
    models = args.models.split(",")
    lengths = [int(t) for t in args.lengths.split(",")]
    samples = measure(models, lengths, args)
    results = {m: summarise(samples[m]) for m in models}
    machine = machine_info()
    compile_mode = "fast_compile (XLA CPU level 1)" if args.fast_compile else "XLA default level"
    if args.warm_cache:
        compile_mode += "; loaded from a warm persistent compilation cache"
    print(f"\ncompile seconds, fresh process each; B={args.batch}, K={args.k}, one seed;")
    print(f"training chunk: {compile_mode}; median of {args.rounds} round(s)")
    print(f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average']}\n")
    print(table(results, lengths) + first_errors(results))
    payload = {
        "args": vars(args),
        "machine": machine,
        "results": results,
    }
    name = "compile_time" + ("_fast" if args.fast_compile else "")
    name += "_warm" if args.warm_cache else ""
    path = write_results(name + ("_quick" if args.quick else ""), payload)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
