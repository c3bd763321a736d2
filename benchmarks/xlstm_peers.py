"""Train-step throughput of seqlab's sLSTM and mLSTM against NX-AI's `xlstm` package (CPU torch).

    .venv/bin/python benchmarks/xlstm_peers.py   # --batch 16 --length 256 --width 128 --heads 4
    .venv/bin/python benchmarks/xlstm_peers.py --quick

Every variant does forward, backward and an Adam update (lr 1e-3) of the same network: tokens
of the copy task (10 symbols) -> embedding -> one layer or block -> linear readout to 10
classes at every step, mean cross-entropy, on one fixed batch of B sequences of T steps. The
JAX variants run a jitted functional step (nnx.split -> value_and_grad through nnx.merge ->
optax.adam, parameters and optimiser state donated); the NX-AI variants run in eager torch,
float32, default threads, with torch.optim.Adam. All variants are timed in interleaved rounds.

Pairs, one NX-AI peer per family, and why each pair computes the same function:

- sLSTM layer: seqlab's `slstm` model (layers=1) is a cell layer: embedding (model.embed_dim
  wide), a dense input projection W x + b, the sLSTM recurrence with one recurrent block per
  head, readout; no conv, no norms. NX-AI's sLSTMLayer is not that (it adds a causal conv,
  headwise gate maps and a group norm: it is the block's mixer), so the peer is nn.Linear
  (no bias) followed by NX-AI's sLSTMCell (backend "vanilla", its CPU backend, float32), the
  pair tests/models/test_slstm.py checks output for output. The cell is fed time-major
  (input_shape "SBGNH", output_shape "SBH"), which saves it any transpose.
- sLSTM block: seqlab's `xlstm[0:1]` with layers=1 is one sLSTMBlock (post-up-projection:
  LayerNorm, causal conv, headwise gate maps, cell, group norm, gated feed-forward
  model.ffn_factor wide) and a final LayerNorm; the peer is NX-AI's xLSTMBlockStack holding
  one sLSTMBlock (vanilla, float32) with its post-blocks norm, the block test_slstm.py checks.
- mLSTM block: seqlab's `mlstm` (layers=1), model.mlstm_form parallel and chunkwise, one
  variant each: one mLSTMBlock (pre-up-projection by model.proj_factor) and a final LayerNorm;
  the peer is NX-AI's xLSTMBlockStack holding one mLSTMBlock. Its cell always runs
  `parallel_stabilized_simple` (pure torch, so it runs on CPU; xlstm 2.0.6's mLSTMLayer has no
  other sequence backend), so both seqlab forms are compared with NX-AI's parallel form.
  round_proj_up_to_multiple_of=4, as in tests/models/test_mlstm.py, so the inner width is
  exactly proj_factor·width on both sides.

Each side keeps its own initialisation: seqlab's layers and blocks follow NX-AI's, the
embedding and readout are each library's default (so the losses at init differ a little).
The loss at init and the parameter count of every variant are printed so a reader can check
that the pairs match.
Reported: compile s (JAX: lower + compile), median ms/step, spread (IQR / median), tokens/s
(B·T / s), speed relative to the family's NX-AI peer, parameters.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import jax
import numpy as np
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
    timing,
    torch_train_step,
    write_results,
)
from flax import nnx
from xlstm.blocks.mlstm.block import mLSTMBlockConfig
from xlstm.blocks.mlstm.layer import mLSTMLayerConfig
from xlstm.blocks.slstm.block import sLSTMBlockConfig
from xlstm.blocks.slstm.cell import sLSTMCell, sLSTMCellConfig
from xlstm.blocks.slstm.layer import sLSTMLayerConfig
from xlstm.components.feedforward import FeedForwardConfig
from xlstm.components.init import small_init_init_
from xlstm.xlstm_block_stack import xLSTMBlockStack, xLSTMBlockStackConfig

import seqlab.models
import seqlab.tasks  # noqa: F401  (registration)
from seqlab.config import apply_value, base_config, validate
from seqlab.registry import MODELS, TASKS

VOCAB, CLASSES, LR = 10, 10, 1e-3
COPY_EXTRA = 20  # the copy task adds 20 steps to its length parameter
QUICK = dict(batch=4, length=32, width=32, heads=4, chunk_size=16, rounds=3, steps_per_round=1)


@dataclass
class Variant:
    family: str
    name: str
    run: Callable[[], None]  # one train step, blocking until it is done
    compile_s: float | None
    init_loss: float
    params: int
    peer: bool = False  # the NX-AI reference of its family


def parse_args() -> argparse.Namespace:
    p = shape_parser(
        __doc__.splitlines()[0],
        batch=16,
        length=256,
        width=128,
        heads=4,
        chunk_size=64,
        rounds=10,
        steps_per_round=2,
    )
    args = parse_with_quick(p, QUICK)
    if args.length <= COPY_EXTRA:
        p.error(f"--length must exceed {COPY_EXTRA} (the copy task adds them to its length)")
    return args


# ---------------------------------------------------------------- seqlab (JAX)


def seqlab_config(args, name: str, **model_fields):
    """The full config (validated against the copy task of T steps) for one seqlab variant."""
    cfg = base_config()
    cfg.lock()
    fields = dict(name=name, hidden=args.width, heads=args.heads, layers=1, **model_fields)
    for key, value in fields.items():
        apply_value(cfg, f"model.{key}", value)
    apply_value(cfg, "task.length", args.length - COPY_EXTRA)
    validate(cfg)
    return cfg


def copy_task(args):
    task = TASKS.get("copy")(seqlab_config(args, "slstm").task)
    assert task.spec.seq_len == args.length, task.spec
    return task


def jax_variant(family: str, name: str, cfg, spec, inputs, targets) -> Variant:
    model = MODELS.get(cfg.model.name)(cfg.model, spec, nnx.Rngs(params=0))
    step = jitted_train_step(model, inputs, targets, LR)
    return Variant(family, name, step["run"], step["compile_s"], step["init_loss"], step["params"])


# ---------------------------------------------------------------- NX-AI (torch)


class NxaiCellModel(torch.nn.Module):
    """Embedding, nn.Linear (no bias: the cell adds its own) and NX-AI's sLSTMCell, readout.

    Time-major [T, B] tokens, as seqlab's; the projection starts as seqlab's W (small init).
    """

    def __init__(self, embed_dim: int, width: int, heads: int):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, embed_dim)
        self.proj = torch.nn.Linear(embed_dim, 4 * width, bias=False)
        small_init_init_(self.proj.weight, dim=embed_dim)
        cell_cfg = sLSTMCellConfig(
            hidden_size=width,
            num_heads=heads,
            backend="vanilla",
            dtype="float32",  # NX-AI's default is bfloat16
            input_shape="SBGNH",
            output_shape="SBH",
        )
        self.cell = sLSTMCell(cell_cfg)
        self.readout = torch.nn.Linear(width, CLASSES)

    def forward(self, tokens):
        h, _ = self.cell(self.proj(self.embed(tokens)))
        return self.readout(h)


class NxaiStackModel(torch.nn.Module):
    """Embedding, NX-AI's xLSTMBlockStack (blocks + post-blocks norm), readout; batch-first."""

    def __init__(self, stack_cfg: xLSTMBlockStackConfig):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, stack_cfg.embedding_dim)
        self.stack = xLSTMBlockStack(stack_cfg)
        self.readout = torch.nn.Linear(stack_cfg.embedding_dim, CLASSES)

    def forward(self, tokens):
        return self.readout(self.stack(self.embed(tokens)))


def nxai_slstm_stack(args, model_cfg) -> xLSTMBlockStackConfig:
    layer = sLSTMLayerConfig(
        embedding_dim=args.width,
        num_heads=args.heads,
        conv1d_kernel_size=model_cfg.conv_kernel,
        backend="vanilla",
        dtype="float32",
    )
    ffn = FeedForwardConfig(proj_factor=model_cfg.ffn_factor, act_fn="gelu")
    block = sLSTMBlockConfig(slstm=layer, feedforward=ffn)
    return xLSTMBlockStackConfig(
        slstm_block=block, context_length=args.length, num_blocks=1, embedding_dim=args.width
    )


def nxai_mlstm_stack(args, model_cfg) -> xLSTMBlockStackConfig:
    layer = mLSTMLayerConfig(
        embedding_dim=args.width,
        num_heads=args.heads,
        proj_factor=model_cfg.proj_factor,
        conv1d_kernel_size=model_cfg.conv_kernel,
        qkv_proj_blocksize=4,  # seqlab's QKV_BLOCK
        context_length=args.length,
        round_proj_up_to_multiple_of=4,  # inner width exactly proj_factor·width, as seqlab's
    )
    return xLSTMBlockStackConfig(
        mlstm_block=mLSTMBlockConfig(mlstm=layer),
        context_length=args.length,
        num_blocks=1,
        embedding_dim=args.width,
    )


def torch_variant(family: str, name: str, build, inputs_TB, targets_TB, time_major: bool):
    torch.manual_seed(0)
    model = build()
    layout = (lambda a: a) if time_major else (lambda a: a.T)
    x = torch.from_numpy(np.ascontiguousarray(layout(inputs_TB)).astype(np.int64))
    y = torch.from_numpy(np.ascontiguousarray(layout(targets_TB)).astype(np.int64)).reshape(-1)

    def loss_fn():
        return torch.nn.functional.cross_entropy(model(x).reshape(-1, CLASSES), y)

    run, init_loss = torch_train_step(loss_fn, model.parameters(), LR)

    n_params = sum(p.numel() for p in model.parameters())
    return Variant(family, name, run, None, init_loss, n_params, peer=True)


# ---------------------------------------------------------------- the run


def build_variants(args) -> list[Variant]:
    task = copy_task(args)
    batch = task.sample(jax.random.key(0), args.batch)  # one fixed batch for every variant
    inputs, targets = batch.inputs, batch.targets
    inputs_np, targets_np = np.asarray(inputs), np.asarray(targets)

    def seqlab(family, name, model_name, **fields):
        cfg = seqlab_config(args, model_name, **fields)
        return jax_variant(family, name, cfg, task.spec, inputs, targets)

    def nxai(family, name, build, time_major=False):
        return torch_variant(family, name, build, inputs_np, targets_np, time_major)

    embed_dim = seqlab_config(args, "slstm").model.embed_dim
    xlstm_cfg = seqlab_config(args, "xlstm[0:1]").model
    mlstm_cfg = seqlab_config(args, "mlstm").model
    cell_model = lambda: NxaiCellModel(embed_dim, args.width, args.heads)  # noqa: E731
    slstm_stack = lambda: NxaiStackModel(nxai_slstm_stack(args, xlstm_cfg))  # noqa: E731
    mlstm_stack = lambda: NxaiStackModel(nxai_mlstm_stack(args, mlstm_cfg))  # noqa: E731
    chunkwise = dict(mlstm_form="chunkwise", chunk_size=args.chunk_size)
    return [
        seqlab("sLSTM layer", "seqlab slstm", "slstm"),
        nxai("sLSTM layer", "NX-AI Linear+sLSTMCell", cell_model, time_major=True),
        seqlab("sLSTM block", "seqlab xlstm[0:1]", "xlstm[0:1]"),
        nxai("sLSTM block", "NX-AI sLSTMBlock", slstm_stack),
        seqlab("mLSTM block", "seqlab mlstm parallel", "mlstm", mlstm_form="parallel"),
        seqlab("mLSTM block", f"seqlab mlstm chunkwise {args.chunk_size}", "mlstm", **chunkwise),
        nxai("mLSTM block", "NX-AI mLSTMBlock", mlstm_stack),
    ]


def summarise(variants: list[Variant], samples: dict[str, list[float]], tokens_per_step: int):
    tokens = {name: tokens_per_step / median(s) for name, s in samples.items()}
    peer_tokens = {v.family: tokens[v.name] for v in variants if v.peer}
    return {
        v.name: {
            "family": v.family,
            "peer": v.peer,
            "compile_s": v.compile_s,
            "init_loss": v.init_loss,
            "params": v.params,
            **timing(samples[v.name], tokens_per_step),
            "vs_nxai": tokens[v.name] / peer_tokens[v.family],
        }
        for v in variants
    }


def table(results: dict) -> str:
    headers = ["family", "variant", "compile s", "ms/step", "IQR/med", "tokens/s", "vs NX-AI"]
    headers.append("params")
    rows = [
        [
            r["family"],
            name,
            fmt(r["compile_s"], ".2f"),
            fmt(1e3 * r["median_s"]),
            fmt(r["spread_iqr_rel"], ".2f"),
            fmt(r["tokens_per_s"], ",.0f"),
            fmt(r["vs_nxai"], ".2f"),
            f"{r['params']:,}",
        ]
        for name, r in results.items()
    ]
    return markdown_table(rows, headers)


def main() -> None:
    args = parse_args()
    variants = build_variants(args)
    for v in variants:
        if not np.isfinite(v.init_loss):
            raise SystemExit(f"{v.name}: loss at init is {v.init_loss}")
    samples = interleaved({v.name: v.run for v in variants}, args.rounds, args.steps_per_round)
    results = summarise(variants, samples, args.batch * args.length)

    machine = machine_info()
    losses = ", ".join(f"{v.name} {v.init_loss:.4f}" for v in variants)
    print(
        f"xLSTM train steps, B={args.batch} T={args.length} width={args.width} "
        f"heads={args.heads} chunk={args.chunk_size}, {args.rounds} rounds after a warm-up round"
    )
    print(f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average']}")
    print(f"xlstm {metadata.version('xlstm')}, torch threads {torch.get_num_threads()}")
    print(f"losses at init: {losses}\n")
    print(table(results))
    payload = {
        "args": vars(args),
        "machine": machine,
        "xlstm_version": metadata.version("xlstm"),
        "torch_threads": torch.get_num_threads(),
        "results": results,
    }
    path = write_results("xlstm_peers_quick" if args.quick else "xlstm_peers", payload)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
