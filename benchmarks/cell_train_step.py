"""Train-step throughput of a 1-layer LSTM or GRU on tokens: seqlab against its peers and a
ceiling.

Each contender does forward, backward and an Adam update of the same network (embedding
10 -> 16, one cell layer 16 -> H, linear readout to 10 classes at every step, mean
cross-entropy) on time-major [T, B] tokens:

    .venv/bin/python benchmarks/cell_train_step.py --cell lstm [--quick]
    .venv/bin/python benchmarks/cell_train_step.py --cell gru

Peers: flax's `nnx.RNN(OptimizedLSTMCell)` / `nnx.RNN(GRUCell)` and `torch.nn.LSTM` /
`torch.nn.GRU`. The ceiling: the 3·T dependent (B,H)@(H,G·H) matmuls of a train step (G = 4
gates for the LSTM, 3 for the GRU) in one scan.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from common import (
    fmt,
    interleaved,
    jitted_train_step,
    machine_info,
    markdown_table,
    median,
    parse_with_quick,
    shape_parser,
    timed,
    timing,
    torch_train_step,
    write_results,
)
from flax import nnx

import seqlab.models
import seqlab.tasks  # noqa: F401  (registration)
from seqlab.config import apply_value, base_config, validate
from seqlab.registry import MODELS, TASKS
from seqlab.train.loop import compile_chunk
from seqlab.train.state import Engine, init_state

VOCAB, EMBED, CLASSES, LR = 10, 16, 10, 1e-3
ENGINE_K = 10
QUICK = dict(batch=8, length=40, hidden=32, rounds=3, steps_per_round=2)


@dataclass
class Contender:
    name: str
    run: Any  # runs `steps` train steps and blocks until they are done
    compile_s: float | None
    init_loss: float | None = None
    steps: int = 1


GATES = {"lstm": 4, "gru": 3}
PEER_NAMES = {
    "lstm": ("flax nnx.RNN(OptimizedLSTMCell)", "torch.nn.LSTM"),
    "gru": ("flax nnx.RNN(GRUCell)", "torch.nn.GRU"),
}


def parse_args() -> argparse.Namespace:
    # --length is T, the steps per sequence (> 20: the copy task adds 20 to its length)
    p = shape_parser(
        __doc__.splitlines()[0], batch=64, length=200, hidden=256, rounds=10, steps_per_round=10
    )
    p.add_argument("--cell", choices=tuple(GATES), default="lstm")
    args = parse_with_quick(p, QUICK)
    if args.length <= 20:
        p.error("--length must exceed 20 (the copy task adds 20 steps to its length)")
    return args


def seqlab_setup(args):
    cfg = base_config()
    cfg.lock()
    apply_value(cfg, "model.name", args.cell)
    apply_value(cfg, "model.hidden", args.hidden)
    apply_value(cfg, "model.embed_dim", EMBED)
    apply_value(cfg, "task.length", args.length - 20)
    validate(cfg)
    task = TASKS.get("copy")(cfg.task)
    assert task.spec.seq_len == args.length, task.spec
    return cfg.model, task


def jax_contender(name: str, model: nnx.Module, inputs, targets) -> Contender:
    step = jitted_train_step(model, inputs, targets, LR)
    return Contender(name, step["run"], step["compile_s"], step["init_loss"])


class FlaxRNN(nnx.Module):
    def __init__(self, cell_name: str, hidden: int, rngs: nnx.Rngs):
        self.embed = nnx.Embed(VOCAB, EMBED, rngs=rngs)
        cell_type = nnx.OptimizedLSTMCell if cell_name == "lstm" else nnx.GRUCell
        cell = cell_type(EMBED, hidden, rngs=rngs)
        self.lstm_carry = cell_name == "lstm"
        # rngs=False and an explicit zero carry (what the cell's zeros_init gives): the default
        # carry RNG stream is state that jax.value_and_grad through nnx.merge cannot update.
        self.rnn = nnx.RNN(cell, time_major=True, rngs=False)
        self.readout = nnx.Linear(hidden, CLASSES, rngs=rngs)
        self.hidden = hidden

    def __call__(self, tokens_TB):
        zeros = jnp.zeros((tokens_TB.shape[1], self.hidden))
        carry = (zeros, zeros) if self.lstm_carry else zeros
        return self.readout(self.rnn(self.embed(tokens_TB), initial_carry=carry))


def engine_contender(model_cfg, task, batch_size: int) -> Contender:
    """seqlab's own training program: K steps per call, batches sampled on device."""
    tx = optax.adam(LR)
    graphdef, state = init_state(model_cfg, task, tx, [0])
    engine = Engine(graphdef, task, tx, batch_size)
    compiled, compile_s = timed(lambda: compile_chunk(engine, state, ENGINE_K, 1))
    box = {"state": state}

    def run():
        box["state"], _ = jax.block_until_ready(compiled(box["state"]))

    return Contender(f"seqlab engine K={ENGINE_K}", run, compile_s, steps=ENGINE_K)


def torch_contender(cell: str, hidden: int, inputs, targets) -> Contender:
    torch.manual_seed(0)
    embed = torch.nn.Embedding(VOCAB, EMBED)
    rnn_type = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    lstm = rnn_type(EMBED, hidden)  # batch_first=False: time-major like the JAX models
    readout = torch.nn.Linear(hidden, CLASSES)
    params = [*embed.parameters(), *lstm.parameters(), *readout.parameters()]
    x = torch.from_numpy(inputs.astype(np.int64))
    y = torch.from_numpy(targets.astype(np.int64)).reshape(-1)

    def loss_fn():
        out, _ = lstm(embed(x))
        return torch.nn.functional.cross_entropy(readout(out).reshape(-1, CLASSES), y)

    run, init_loss = torch_train_step(loss_fn, params, LR)
    return Contender(PEER_NAMES[cell][1], run, None, init_loss)


def ceiling_contender(batch: int, length: int, hidden: int, gates: int) -> Contender:
    """3·T dependent (B,H)@(H,G·H) matmuls in one scan: the recurrent FLOPs of a train step
    (forward, and two matmuls per step in the backward pass) with almost nothing else."""
    B, H = batch, hidden

    def chain(h, R):
        def body(h, _):
            # Summing the gate blocks keeps every column of the product live; tanh keeps h
            # away from denormals, which a plain decay factor would reach in a few steps.
            return jnp.tanh((h @ R).reshape(B, gates, H).sum(1)), None

        return jax.lax.scan(body, h, None, length=3 * length)[0]

    kh, kr = jax.random.split(jax.random.key(0))
    h = jax.random.normal(kh, (B, H))
    R = jax.random.normal(kr, (H, gates * H)) / np.sqrt(H)
    lowered, lower_s = timed(lambda: jax.jit(chain).lower(h, R))
    compiled, compile_s = timed(lowered.compile)

    def run():
        jax.block_until_ready(compiled(h, R))

    return Contender("matmul ceiling", run, lower_s + compile_s)


def main() -> None:
    args = parse_args()
    B, T, H = args.batch, args.length, args.hidden
    model_cfg, task = seqlab_setup(args)
    batch = task.sample(jax.random.key(0), B)  # one fixed batch for every contender
    inputs, targets = np.asarray(batch.inputs), np.asarray(batch.targets)

    flax_name, torch_name = PEER_NAMES[args.cell]

    def seqlab_model(**fields):
        cfg = model_cfg.copy_and_resolve_references()
        cfg.update(fields)
        return MODELS.get(args.cell)(cfg, task.spec, nnx.Rngs(params=0))

    inputs_TB, targets_TB = batch.inputs, batch.targets
    contenders = [jax_contender("seqlab", seqlab_model(), inputs_TB, targets_TB)]
    if MODELS.entry(args.cell).hand_backward:
        model = seqlab_model(backward="hand")
        contenders.append(jax_contender("seqlab backward=hand", model, inputs_TB, targets_TB))
    flax_model = FlaxRNN(args.cell, H, nnx.Rngs(0))
    contenders += [
        engine_contender(model_cfg, task, B),
        jax_contender(flax_name, flax_model, inputs_TB, targets_TB),
        torch_contender(args.cell, H, inputs, targets),
        ceiling_contender(B, T, H, GATES[args.cell]),
    ]
    for c in contenders:
        if c.init_loss is not None and not np.isfinite(c.init_loss):
            raise SystemExit(f"{c.name}: loss at init is {c.init_loss}")

    samples = interleaved(
        {c.name: c.run for c in contenders},
        args.rounds,
        args.steps_per_round,
        steps_per_call={c.name: c.steps for c in contenders},
    )
    tokens = {name: B * T / median(s) for name, s in samples.items()}
    flax_tps, torch_tps = tokens[flax_name], tokens[torch_name]
    ceiling_tps = tokens["matmul ceiling"]
    results = {
        c.name: {
            "compile_s": c.compile_s,
            "init_loss": c.init_loss,
            "steps_per_call": c.steps,
            **timing(samples[c.name], B * T),
            "vs_flax": tokens[c.name] / flax_tps,
            "vs_torch": tokens[c.name] / torch_tps,
            "of_ceiling": tokens[c.name] / ceiling_tps,
        }
        for c in contenders
    }
    headers = ["variant", "compile s", "ms/step", "IQR/med", "tokens/s", "vs flax", "vs torch"]
    headers.append("of ceiling")
    rows = [
        [
            name,
            fmt(r["compile_s"], ".2f"),
            fmt(1e3 * r["median_s"]),
            fmt(r["spread_iqr_rel"], ".2f"),
            fmt(r["tokens_per_s"], ",.0f"),
            fmt(r["vs_flax"], ".2f"),
            fmt(r["vs_torch"], ".2f"),
            fmt(r["of_ceiling"], ".2f"),
        ]
        for name, r in results.items()
    ]
    machine = machine_info()
    losses = ", ".join(f"{c.name} {c.init_loss:.4f}" for c in contenders if c.init_loss)
    print(f"{args.cell} train step, B={B} T={T} H={H}, {args.rounds} rounds after a warm-up")
    print(f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average']}")
    print(f"torch threads {torch.get_num_threads()}; losses at init: {losses}\n")
    print(markdown_table(rows, headers))
    payload = {
        "args": vars(args),
        "machine": machine,
        "torch_threads": torch.get_num_threads(),
        "results": results,
    }
    name = f"{args.cell}_train_step"
    path = write_results(f"{name}_quick" if args.quick else name, payload)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
