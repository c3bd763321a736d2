"""`seqlab bench`: the benchmark suite in `benchmarks/`, each script in its own process.

    seqlab bench                 # the whole suite (an hour or more on a 2-core CPU)
    seqlab bench lstm seeds      # some of it
    seqlab bench --quick         # tiny shapes: checks that every script runs (numbers mean nothing)
    seqlab bench --list

Each script times its variants interleaved in rounds after a warm-up, reports compile time
apart from step time, prints a markdown table and writes its raw results, with the machine
and the exact command, to benchmarks/results/<name>.json (`--results DIR` elsewhere).
BENCHMARKS.md summarises them. The scripts live in a source checkout, not in the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from seqlab.config import ConfigError

RESULTS_ENV = "SEQLAB_BENCH_RESULTS"  # read by benchmarks/common.py


class Benchmark(NamedTuple):
    script: str
    args: tuple[str, ...]
    what: str
    in_suite: bool = True  # run by a bare `seqlab bench`


BENCHMARKS = {
    "lstm": Benchmark(
        "cell_train_step.py",
        ("--cell", "lstm"),
        "LSTM train step vs flax nnx.RNN(OptimizedLSTMCell), torch.nn.LSTM, matmul ceiling",
    ),
    "gru": Benchmark(
        "cell_train_step.py",
        ("--cell", "gru"),
        "GRU train step vs flax nnx.RNN(GRUCell), torch.nn.GRU, matmul ceiling",
    ),
    "seeds": Benchmark("seeds.py", (), "8 LSTM seeds in one program vs one after another"),
    "compile": Benchmark("compile_time.py", (), "compile time of every zoo model, T=100 and 1000"),
    "long": Benchmark("long_sequence.py", (), "LSTM at T=10,000: memory of the checkpointed scan"),
    "mlstm": Benchmark("mlstm_forms.py", (), "mLSTM chunkwise and parallel vs recurrent form"),
    "linear": Benchmark(
        "linear_forms.py", (), "linear recurrences and SSMs, each scan form, vs LSTM and mLSTM"
    ),
    "xlstm": Benchmark("xlstm_peers.py", (), "sLSTM and mLSTM vs NX-AI's xlstm package"),
    "zoo": Benchmark("zoo.py", ("--part", "speed"), "train tokens/s of every zoo model"),
    "fused": Benchmark("fused_steps.py", (), "K optimiser steps per compiled call", False),
    "compile-level": Benchmark(
        "compile_level.py", (), "XLA CPU optimisation level 1 vs 3: compile and step", False
    ),
}


def benchmarks_dir() -> Path:
    path = Path(__file__).resolve().parents[1] / "benchmarks"
    if not (path / "common.py").is_file():
        raise ConfigError(
            f"seqlab bench runs the scripts of a source checkout's benchmarks/; none at {path}"
        )
    return path


def add_parser(subparsers) -> None:
    """Registers `bench` on the CLI's subparsers (`seqlab.cli.build_parser`)."""
    p = subparsers.add_parser("bench", help="run the benchmark suite (benchmarks/)")
    p.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    p.add_argument("--quick", action="store_true", help="tiny shapes: checks the scripts run")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--results", help="directory for the JSON results (default benchmarks/results)")
    p.set_defaults(run=run)


def run(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised argument {extra[0]!r}; see seqlab bench --help")
    if args.list:
        for name, b in BENCHMARKS.items():
            suite = "" if b.in_suite else "  (by name only)"
            print(f"{name:14} {b.what}{suite}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        raise ConfigError(
            f"unknown benchmark {unknown[0]!r}; valid choices: {', '.join(BENCHMARKS)}"
        )
    names = args.names or [n for n, b in BENCHMARKS.items() if b.in_suite]
    folder = benchmarks_dir()
    env = dict(os.environ)
    if args.results:
        env[RESULTS_ENV] = str(Path(args.results).resolve())
    failed = []
    for i, name in enumerate(names, 1):
        b = BENCHMARKS[name]
        cmd = [
            sys.executable,
            str(folder / b.script),
            *b.args,
            *(["--quick"] if args.quick else []),
        ]
        print(f"== [{i}/{len(names)}] {name}: {b.what}\n   {' '.join(cmd)}", flush=True)
        start = time.monotonic()
        code = subprocess.run(cmd, env=env, cwd=folder.parent).returncode
        took = time.monotonic() - start
        print(f"== {name}: {'done' if code == 0 else f'FAILED (exit {code})'} in {took:.0f} s\n")
        if code:
            failed.append(name)
    if failed:
        print(f"seqlab bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
