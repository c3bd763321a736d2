"""The linear recurrences and state-space models in their training step, each scan form, by length,
against the LSTM and the mLSTM of the same parameter budget.

    .venv/bin/python benchmarks/linear_forms.py [--lengths 1000,10000] [--budget 100000] [--quick]

Every model is built by `model.param_budget` (configs/zoo.py; the cells of one layer, the
linear-recurrence cells two residual layers, the block models two blocks of two heads, as in
experiments/zoo_copy.py) and trained by seqlab's engine as in benchmarks/zoo.py: K steps per
compiled call, batches sampled on device, forward + backward + Adam, on copy with task.length =
T - 20 so a sequence has T steps. Each family runs once per scan form it implements
(model.scan_form: scan, associative, chunked at model.chunk_size, log, ssd); the LSTM runs as
its scan and the mLSTM as its chunkwise form (its fastest, BENCHMARKS.md). A family's forms are
timed in the same interleaved rounds as the two peers, one family at a time (vs lstm: against
the LSTM of those rounds; the peers' own rows pool all their rounds).

Reported: parameters, compile seconds, median ms/step and its spread, tokens/s (B·T / s), speed
relative to the LSTM at the same T, and the first chunk's mean loss, which must agree across a
family's forms (same seed, same batches, the same function).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from typing import Any

import jax
import optax
from common import (
    RESULTS,
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

import seqlab.models  # noqa: F401  (registration)
from seqlab.registry import MODELS, TASKS
from seqlab.train.loop import compile_chunk
from seqlab.train.state import Engine, init_state, param_count

COPY_EXTRA = 20  # the copy task adds 20 steps (10 symbols, then their recall) to its length
FAMILIES = ["lru", "mingru", "minlstm", "hawk", "s5", "mamba", "mamba2"]
PEERS = {"lstm": "scan", "mlstm": "chunkwise"}
LINEAR_CELLS = ("lru", "mingru", "minlstm")
QUICK = dict(lengths="40", budget=20_000, batch=2, rounds=2, k=2, families="lru,mamba2")


@dataclass
class Variant:
    length: int
    model: str
    form: str
    run: Any  # one compiled call of `steps` train steps, blocking until done
    compile_s: float
    first_loss: float
    params: int
    steps: int

    @property
    def name(self) -> str:
        return f"T={self.length} {self.model} {self.form}"


def parse_args() -> argparse.Namespace:
    p = shape_parser(__doc__.splitlines()[0], batch=4, rounds=3, k=4)
    p.add_argument("--lengths", default="1000,10000", help="comma-separated T (steps a sequence)")
    p.add_argument("--budget", type=int, default=100_000, help="model.param_budget of every model")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated families")
    p.add_argument("--chunk-size", type=int, default=64, help="model.chunk_size of chunked forms")
    p.add_argument(
        "--update",
        action="store_true",
        help="keep the rows of results/linear_forms.json this run does not measure (re-measure "
        "some families or lengths; each row records the command and load it was measured at)",
    )
    return parse_with_quick(p, QUICK)


def model_overrides(model: str, form: str, args) -> dict:
    o = {"model.size": "", "model.param_budget": args.budget, "train.batch_size": args.batch}
    entry = MODELS.entry(model)
    if model in LINEAR_CELLS:
        o.update({"model.layers": 2, "model.residual": True, "model.norm": "layer"})
    elif entry.blocks:
        o.update({"model.layers": 2, "model.heads": 2})
    if model == "mlstm":
        o.update({"model.mlstm_form": form, "model.chunk_size": args.chunk_size})
    elif model != "lstm":
        o.update({"model.scan_form": form, "model.chunk_size": args.chunk_size})
    return o


def variant(length: int, model: str, form: str, args) -> Variant:
    cfg = zoo_config(model, "copy", length - COPY_EXTRA, model_overrides(model, form, args))
    task = TASKS.get(cfg.task.name)(cfg.task)
    tx = optax.adam(cfg.optim.lr)
    graphdef, state = init_state(cfg.model, task, tx, [0])
    engine = Engine(graphdef, task, tx, cfg.train.batch_size)
    compiled, compile_s = timed(lambda: compile_chunk(engine, state, args.k, 1))
    state, metrics = jax.block_until_ready(compiled(state))
    box = {"state": state}

    def run():
        box["state"], _ = jax.block_until_ready(compiled(box["state"]))

    return Variant(
        length, model, form, run, compile_s, float(metrics["loss"][0]), param_count(state), args.k
    )


def family_variants(length: int, family: str, args, failed: dict) -> list[Variant]:
    """The family's forms that compile and run at `length`; a form that runs out of memory is
    recorded in `failed` (name -> row) and left out of the timing."""
    out = []
    for form in MODELS.entry(family).scan_forms:
        try:
            v = variant(length, family, form, args)
        except jax.errors.JaxRuntimeError as e:
            if "RESOURCE_EXHAUSTED" not in str(e):
                raise
            name = f"T={length} {family} {form}"
            failed[name] = {"length": length, "model": family, "form": form,
                            "out_of_memory": str(e).splitlines()[0][:200]}  # fmt: skip
            print(f"{name}: out of memory ({failed[name]['out_of_memory']})", flush=True)
            continue
        print(f"compiled {v.name}: {v.compile_s:.1f} s, {v.params:,} parameters", flush=True)
        out.append(v)
    return out


def summarise(variants: list[Variant], samples: dict, batch: int) -> dict:
    """Rows of one group of variants timed in the same rounds; vs_lstm against the LSTM's
    samples of those rounds."""
    tokens = {v.name: batch * v.length / median(samples[v.name]) for v in variants}
    lstm = {v.length: tokens[v.name] for v in variants if v.model == "lstm"}
    return {
        v.name: {
            "length": v.length,
            "model": v.model,
            "form": v.form,
            "params": v.params,
            "compile_s": v.compile_s,
            "first_chunk_loss": v.first_loss,
            "steps_per_call": v.steps,
            **timing(samples[v.name], batch * v.length),
            "vs_lstm": tokens[v.name] / lstm[v.length],
        }
        for v in variants
    }


def table(results: dict) -> str:
    headers = ["T", "model", "form", "params", "compile s", "ms/step", "IQR/med", "tokens/s"]
    headers += ["vs lstm", "loss, 1st chunk"]
    oom = [[r["length"], r["model"], r["form"], "out of memory", *[""] * 6]
           for r in results.values() if "out_of_memory" in r]  # fmt: skip
    rows = oom + [
        [
            r["length"],
            r["model"],
            r["form"],
            f"{r['params']:,}",
            fmt(r["compile_s"], ".1f"),
            fmt(1e3 * r["median_s"]),
            fmt(r["spread_iqr_rel"], ".2f"),
            fmt(r["tokens_per_s"], ",.0f"),
            fmt(r["vs_lstm"], ".2f"),
            fmt(r["first_chunk_loss"], ".5f"),
        ]
        for r in results.values()
        if "out_of_memory" not in r
    ]
    return markdown_table(rows, headers)


def main() -> None:
    args = parse_args()
    results, peer_samples = {}, {}
    name = "linear_forms_quick" if args.quick else "linear_forms"
    machine = machine_info()
    kept = previous_rows(name) if args.update else {}
    for length in (int(t) for t in args.lengths.split(",")):
        if length <= COPY_EXTRA:
            raise SystemExit(f"every length must exceed {COPY_EXTRA} (copy adds {COPY_EXTRA})")
        peers = [variant(length, m, f, args) for m, f in PEERS.items()]
        # One family at a time, timed in the same interleaved rounds as the peers: at T=10,000
        # every form of every family compiled at once held more than 24 GB (killed for memory).
        for family in args.families.split(","):
            failed = {}
            variants = peers + family_variants(length, family, args, failed)
            samples = interleaved(
                {v.name: v.run for v in variants},
                args.rounds,
                args.k,
                steps_per_call={v.name: v.steps for v in variants},
            )
            for v in peers:
                peer_samples.setdefault(v.name, []).extend(samples[v.name])
            rows = summarise(variants, samples, args.batch)
            stamp = {
                "command": shlex.join(sys.argv),
                "load_average": machine_info()["load_average"],
            }
            results.update({k: r | stamp for k, r in rows.items() if r["model"] not in PEERS})
            peer_rows = summarise(peers, peer_samples, args.batch)  # every round so far
            results.update({k: r | stamp for k, r in peer_rows.items()})
            results.update({k: r | stamp for k, r in failed.items()})
            merged = {k: r for k, r in kept.items() if k not in results} | results
            payload = {"args": vars(args), "machine": machine, "results": merged}
            path = write_results(name, payload)  # after each family: a crash keeps the rest
            print(table(rows), flush=True)
            del variants
        del peers
    print(f"\ntrain step, B={args.batch}, K={args.k} steps per call, copy, ~{args.budget:,} params")
    print(f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average']}\n")
    print(table(payload["results"]))
    print(f"\nwrote {path}")


def previous_rows(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text())["results"] if path.exists() else {}


if __name__ == "__main__":
    main()
