"""The zoo table: each model's parameter count at its default ('small') size, train tokens/s on
copy T=100 (all models interleaved in one run), and the held-out loss on copy T=100 and adding
T=100 after the same number of steps with the same optimiser (configs/zoo.py).

    .venv/bin/python benchmarks/zoo.py [--part speed|loss|both] [--steps 1000] [--quick]

Speed: seqlab's engine (K steps per jitted call, batches sampled on device), forward +
backward + Adam, B=64, T=100 (copy: 120 steps per sequence); the bidirectional models are
refused on copy (non-causal), so their speed is taken on adding T=100. Memory: XLA's planned
peak of each compiled training chunk (temporaries + arguments + outputs). Loss: `seqlab train`
runs of configs/zoo.py:<model>, one seed, evaluated on 4×256 held-out sequences.
"""

from __future__ import annotations

import argparse
import tempfile
import traceback
from pathlib import Path

import jax
import optax
from common import (
    fmt,
    interleaved,
    machine_info,
    markdown_table,
    median,
    spread,
    timed,
    write_results,
)

import seqlab.models
import seqlab.tasks  # noqa: F401  (registration)
from seqlab import config as config_lib
from seqlab.registry import MODELS, TASKS
from seqlab.train.loop import compile_chunk
from seqlab.train.run import train
from seqlab.train.state import Engine, init_state, param_count

ZOO = [
    "rnn",
    "lstm",
    "peephole_lstm",
    "gru",
    "bilstm",
    "bigru",
    "slstm",
    "mlstm",
    "xlstm[1:1]",
    "transformer",
]
K = 10  # steps per jitted call
ROOT = Path(__file__).resolve().parents[1]


def zoo_config(name: str, task: str, length: int, overrides: dict):
    pairs = [("task.name", task), ("task.length", str(length))]
    pairs += [(k, str(v)) for k, v in overrides.items()]
    return config_lib.load(f"{ROOT / 'configs' / 'zoo.py'}:{name}", pairs)


def speed_task(name: str) -> str:
    return (
        "copy" if MODELS.entry(name).causal(zoo_config(name, "adding", 100, {}).model) else "adding"
    )


def engine_runner(cfg):
    task = TASKS.get(cfg.task.name)(cfg.task)
    tx = optax.adam(cfg.optim.lr)
    graphdef, state = init_state(cfg.model, task, tx, [0])
    engine = Engine(graphdef, task, tx, cfg.train.batch_size)
    compiled, compile_s = timed(lambda: compile_chunk(engine, state, K, 1))
    box = {"state": state}

    def run():
        box["state"], _ = jax.block_until_ready(compiled(box["state"]))

    return run, compile_s, param_count(state), task.spec.seq_len, planned_bytes(compiled)


def planned_bytes(compiled) -> int | None:
    """XLA's planned peak of the compiled chunk: temporaries, arguments and outputs."""
    m = compiled.memory_analysis()
    if m is None:  # not every backend reports it
        return None
    return m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes


def measure_speed(models, args) -> dict:
    runners, out = {}, {}
    for name in models:
        task = speed_task(name)
        cfg = zoo_config(name, task, args.length, {"train.batch_size": args.batch})
        run, compile_s, params, seq_len, memory = engine_runner(cfg)
        runners[name] = run
        out[name] = {"task": task, "compile_s": compile_s, "params": params, "seq_len": seq_len}
        out[name]["planned_bytes"] = memory
        print(f"compiled {name} on {task}: {compile_s:.1f} s, {params:,} parameters", flush=True)
    samples = interleaved(
        runners, args.rounds, K * args.calls_per_round, steps_per_call=dict.fromkeys(runners, K)
    )
    for name, s in samples.items():
        out[name].update(
            seconds_per_step=s,
            median_s=median(s),
            spread_iqr_rel=spread(s),
            tokens_per_s=args.batch * out[name]["seq_len"] / median(s),
        )
    lstm = out.get("lstm", {}).get("tokens_per_s")
    for r in out.values():
        r["vs_lstm"] = r["tokens_per_s"] / lstm if lstm else None
    return out


def measure_loss(models, args) -> dict:
    out = {}
    for name in models:
        out[name] = {}
        for task in args.tasks.split(","):
            if task == "copy" and speed_task(name) != "copy":
                continue
            overrides = {"train.steps": args.steps, "eval.every": args.steps}
            cfg = zoo_config(name, task, args.length, overrides)
            try:
                with tempfile.TemporaryDirectory() as workdir:
                    summary = train(cfg, workdir, progress=False)
            except Exception as e:  # one model's failure must not lose the others' results
                traceback.print_exc()
                out[name][task] = {"error": repr(e)}
                continue
            seed = summary["seeds"][0]
            out[name][task] = {
                "loss": seed["final"].get("loss"),
                "metrics": seed["final"],
                "params": summary["params"],
                "status": seed["status"],
                "elapsed_s": summary["elapsed_s"],
                "steps_per_s": summary["throughput"].get("steps_per_s"),
            }
            print(f"{name} on {task}: loss {seed['final'].get('loss')}", flush=True)
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("speed", "loss", "both"), default="both")
    p.add_argument("--models", default=",".join(ZOO), help="comma-separated model names")
    p.add_argument("--length", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls-per-round", type=int, default=2)
    p.add_argument("--steps", type=int, default=1000, help="training steps for the loss part")
    p.add_argument("--tasks", default="copy,adding", help="tasks of the loss part")
    p.add_argument("--quick", action="store_true", help="tiny settings: checks the script runs")
    args = p.parse_args()
    if args.quick:
        args.length, args.batch, args.rounds, args.calls_per_round, args.steps = 30, 8, 1, 1, 20
    return args


def main() -> None:
    args = parse_args()
    models = args.models.split(",")
    speed = measure_speed(models, args) if args.part in ("speed", "both") else {}
    loss = measure_loss(models, args) if args.part in ("loss", "both") else {}
    rows = []
    for name in models:
        s, l = speed.get(name, {}), loss.get(name, {})
        tps = s.get("tokens_per_s")
        params = s.get("params") or next(iter(l.values()), {}).get("params")
        rows.append(
            [
                name,
                fmt(params, ",") if params else "",
                (fmt(tps, ",.0f") + ("" if s.get("task") == "copy" else " (adding)"))
                if tps
                else "",
                fmt(s.get("vs_lstm"), ".2f"),
                fmt(s.get("compile_s"), ".1f"),
                fmt(s["planned_bytes"] / 2**20, ",.0f") if s.get("planned_bytes") else "",
                fmt(l.get("copy", {}).get("loss"), ".4f") if "copy" in l else "",
                fmt(l.get("adding", {}).get("loss"), ".4f") if "adding" in l else "",
            ]
        )
    headers = ["model", "params", "train tokens/s", "vs lstm", "compile s", "memory MiB"]
    headers += [f"copy loss @{args.steps}", f"adding MSE @{args.steps}"]
    machine = machine_info()
    print(f"\nzoo, T={args.length}, B={args.batch}; {machine['cpu']}, {machine['cores']} cores")
    print(f"devices: {jax.devices()}\n")
    print(markdown_table(rows, headers))
    payload = {
        "args": vars(args),
        "machine": machine,
        "backend": jax.default_backend(),
        "speed": speed,
        "loss": loss,
    }
    suffix = ("_quick" if args.quick else "") + ("" if args.part == "speed" else f"_{args.tasks}")
    name = f"zoo_{args.part}_{jax.default_backend()}{suffix.replace(',', '_')}"
    print(f"\nwrote {write_results(name, payload)}")


if __name__ == "__main__":
    main()
