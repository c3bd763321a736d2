"""The mLSTM's three forms (recurrent, parallel, chunkwise) in its training step, by length.

    .venv/bin/python benchmarks/mlstm_forms.py [--lengths 256,1024] [--chunks 32,64,128] [--quick]

The `mlstm` model at its default ('small') size (configs/zoo.py) trained by seqlab's engine as
in benchmarks/zoo.py: K steps per compiled call (`seqlab.train.loop.compile_chunk`), batches
sampled on device, forward + backward + Adam 1e-3, B=8, copy with task.length = T - 20 so a
sequence has T steps. The forms (seqlab/models/mlstm_forms.py) are chosen by model.mlstm_form,
the chunkwise form once per chunk size in --chunks (model.chunk_size). Every form at every
length is timed in the same interleaved rounds.

Reported: compile seconds, median ms/step and its spread, tokens/s (B·T / s), speed relative to
the recurrent form at the same T (the target, issue: chunkwise >= 3x recurrent at T=1024), and
the mean loss of the first chunk, which must agree across forms (same seed, same batches).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

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
    timed,
    timing,
    write_results,
)
from zoo import zoo_config

from seqlab.registry import TASKS
from seqlab.train.loop import compile_chunk
from seqlab.train.state import Engine, init_state

COPY_EXTRA = 20  # the copy task adds 20 steps (10 symbols, then their recall) to its length
QUICK = dict(lengths="40", chunks="16", size="tiny", batch=2, rounds=2, k=2)


@dataclass
class Variant:
    length: int
    form: str
    chunk_size: int | None
    run: Any  # one compiled call: `steps` train steps, blocking until they are done
    compile_s: float
    first_loss: float
    steps: int

    @property
    def name(self) -> str:
        chunk = f" L={self.chunk_size}" if self.chunk_size else ""
        return f"T={self.length} {self.form}{chunk}"


def parse_args() -> argparse.Namespace:
    p = shape_parser(__doc__.splitlines()[0], batch=8, rounds=5, k=10)
    p.add_argument("--lengths", default="256,1024", help="comma-separated T (steps per sequence)")
    p.add_argument("--chunks", default="64", help="comma-separated chunkwise chunk sizes")
    p.add_argument("--size", default="small", help="model.size of the mlstm")
    args = parse_with_quick(p, QUICK)
    if any(t <= COPY_EXTRA for t in ints(args.lengths)):
        p.error(f"every length must exceed {COPY_EXTRA} (the copy task adds {COPY_EXTRA} steps)")
    return args


def ints(csv: str) -> list[int]:
    return [int(x) for x in csv.split(",")]


def mlstm_config(length: int, form: str, chunk_size: int | None, args):
    overrides = {"model.size": args.size, "model.mlstm_form": form, "train.batch_size": args.batch}
    if chunk_size:
        overrides["model.chunk_size"] = chunk_size
    return zoo_config("mlstm", "copy", length - COPY_EXTRA, overrides)


def engine_variant(length: int, form: str, chunk_size: int | None, args) -> Variant:
    """The engine's K-step chunk for one form, compiled and called once (its first loss)."""
    cfg = mlstm_config(length, form, chunk_size, args)
    task = TASKS.get(cfg.task.name)(cfg.task)
    assert task.spec.seq_len == length, task.spec
    tx = optax.adam(cfg.optim.lr)
    graphdef, state = init_state(cfg.model, task, tx, [0])
    engine = Engine(graphdef, task, tx, cfg.train.batch_size)
    compiled, compile_s = timed(lambda: compile_chunk(engine, state, args.k, 1))
    state, metrics = jax.block_until_ready(compiled(state))
    box = {"state": state}

    def run():
        box["state"], _ = jax.block_until_ready(compiled(box["state"]))

    first_loss = float(metrics["loss"][0])
    return Variant(length, form, chunk_size, run, compile_s, first_loss, args.k)


def build_variants(args) -> list[Variant]:
    forms = [("recurrent", None), ("parallel", None)]
    forms += [("chunkwise", c) for c in ints(args.chunks)]
    variants = []
    for length in ints(args.lengths):
        for form, chunk_size in forms:
            v = engine_variant(length, form, chunk_size, args)
            print(f"compiled {v.name}: {v.compile_s:.1f} s", flush=True)
            variants.append(v)
    return variants


def summarise(variants: list[Variant], samples: dict[str, list[float]], batch: int) -> dict:
    tokens = {v.name: batch * v.length / median(samples[v.name]) for v in variants}
    recurrent = {v.length: tokens[v.name] for v in variants if v.form == "recurrent"}
    return {
        v.name: {
            "length": v.length,
            "form": v.form,
            "chunk_size": v.chunk_size,
            "compile_s": v.compile_s,
            "first_chunk_loss": v.first_loss,
            "steps_per_call": v.steps,
            **timing(samples[v.name], batch * v.length),
            "vs_recurrent": tokens[v.name] / recurrent[v.length],
        }
        for v in variants
    }


def table(results: dict) -> str:
    headers = ["T", "form", "chunk", "compile s", "ms/step", "IQR/med", "tokens/s"]
    headers += ["vs recurrent", "loss, 1st chunk"]
    rows = [
        [
            r["length"],
            r["form"],
            r["chunk_size"] or "",
            fmt(r["compile_s"], ".1f"),
            fmt(1e3 * r["median_s"]),
            fmt(r["spread_iqr_rel"], ".2f"),
            fmt(r["tokens_per_s"], ",.0f"),
            fmt(r["vs_recurrent"], ".2f"),
            fmt(r["first_chunk_loss"], ".5f"),
        ]
        for r in results.values()
    ]
    return markdown_table(rows, headers)


def main() -> None:
    args = parse_args()
    variants = build_variants(args)
    samples = interleaved(
        {v.name: v.run for v in variants},
        args.rounds,
        args.k,  # one call of K steps per variant and round
        steps_per_call={v.name: v.steps for v in variants},
    )
    results = summarise(variants, samples, args.batch)
    machine = machine_info()
    print(f"\nmlstm ({args.size}) train step, B={args.batch}, K={args.k} steps per call, copy;")
    print(f"{args.rounds} rounds after a warm-up round; target: chunkwise >= 3x recurrent, T=1024")
    print(f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average']}\n")
    print(table(results))
    payload = {
        "args": vars(args),
        "machine": machine,
        "results": results,
    }
    path = write_results("mlstm_forms_quick" if args.quick else "mlstm_forms", payload)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
