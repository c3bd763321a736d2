"""Helpers shared by the benchmark scripts: machine description, interleaved timing, output.

Measurement rules (see ../shared/PERFORMANCE.md): a 2-core CPU shared with other work is
noisy, so variants are compared as ratios within one run, timed in interleaved rounds after a
warm-up, summarised by the median, and compile time is reported apart from step time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

# `seqlab bench --results DIR` redirects the JSON results (seqlab.bench.RESULTS_ENV).
RESULTS = Path(
    os.environ.get("SEQLAB_BENCH_RESULTS") or Path(__file__).resolve().parent / "results"
)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    import jax

    device = jax.devices()[0]
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        # Other work on the machine skews absolute numbers; the load says how much.
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("jax", "jaxlib", "flax", "optax", "torch")},
        "jax_backend": jax.default_backend(),
        "jax_device": f"{device.platform}:{device.device_kind}",
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """(fn(), seconds); for compile times, which are measured once."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def interleaved(
    variants: dict[str, Callable[[], None]],
    rounds: int,
    steps_per_round: int,
    *,
    steps_per_call: dict[str, int] | None = None,
    warmup_rounds: int = 1,
) -> dict[str, list[float]]:
    """Seconds per step of each variant, one sample per variant per round.

    Each callable runs `steps_per_call[name]` train steps (1 unless given) and blocks until
    they are done. A round calls every variant enough times to cover about `steps_per_round`
    steps; interleaving spreads slow phases of the machine over all variants alike, and the
    order rotates each round so no variant always runs right after the same neighbour.
    """
    per_call = {name: (steps_per_call or {}).get(name, 1) for name in variants}
    calls = {name: max(1, steps_per_round // per_call[name]) for name in variants}
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(warmup_rounds + rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = variants[name]
            start = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            elapsed = time.perf_counter() - start
            if r >= warmup_rounds:
                samples[name].append(elapsed / (calls[name] * per_call[name]))
    return samples


def shape_parser(description: str, **defaults: int) -> argparse.ArgumentParser:
    """A parser with one int flag per default (`--rounds`, ...) and `--quick`."""
    p = argparse.ArgumentParser(description=description)
    for name, value in defaults.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    p.add_argument("--quick", action="store_true", help="tiny shapes: checks the script runs")
    return p


def parse_with_quick(p: argparse.ArgumentParser, quick: dict) -> argparse.Namespace:
    """With --quick, the `quick` values become the defaults; flags given explicitly still win."""
    args = p.parse_args()
    if args.quick:
        p.set_defaults(**quick)
        args = p.parse_args()
    return args


def jitted_train_step(model, inputs, targets, lr: float) -> dict:
    """A jitted functional train step of an nnx model on one fixed batch: split params,
    value_and_grad of the mean cross-entropy through merge, Adam; params and optimiser state
    donated. Returns {run (one step, blocking), compile_s, init_loss, params (count)}."""
    import jax
    import optax
    from flax import nnx

    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx = optax.adam(lr)

    def loss_fn(params, rest, inputs, targets):
        logits = nnx.merge(graphdef, params, rest)(inputs)
        return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

    def step(params, opt_state, rest, inputs, targets):
        loss, grads = jax.value_and_grad(loss_fn)(params, rest, inputs, targets)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    init_loss = float(jax.jit(loss_fn)(params, rest, inputs, targets))
    box = {"params": params, "opt_state": tx.init(params)}
    lowered, lower_s = timed(
        lambda: jax.jit(step, donate_argnums=(0, 1)).lower(*box.values(), rest, inputs, targets)
    )
    compiled, compile_s = timed(lowered.compile)

    def run():
        out = compiled(box["params"], box["opt_state"], rest, inputs, targets)
        box["params"], box["opt_state"], _ = jax.block_until_ready(out)

    count = sum(x.size for x in jax.tree.leaves(params))
    return {"run": run, "compile_s": lower_s + compile_s, "init_loss": init_loss, "params": count}


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> float:
    """Interquartile range relative to the median: 0.05 means the middle half lies within 5%."""
    if len(xs) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return (q3 - q1) / statistics.median(xs)


def torch_train_step(loss_fn: Callable, parameters, lr: float) -> tuple[Callable, float]:
    """(one Adam step of torch's `loss_fn()` over `parameters`, the loss at init)."""
    import torch

    opt = torch.optim.Adam(parameters, lr=lr)
    with torch.no_grad():
        init_loss = float(loss_fn())

    def run():
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()

    return run, init_loss


def timing(samples: list[float], tokens_per_step: int) -> dict:
    """The per-variant numbers every table reports, from its seconds-per-step samples."""
    return {
        "seconds_per_step": samples,
        "median_s": median(samples),
        "spread_iqr_rel": spread(samples),
        "tokens_per_s": tokens_per_step / median(samples),
    }


def write_results(name: str, payload: dict) -> Path:
    """results/<name>.json: the exact command that produced it, then `payload`."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {"command": shlex.join([sys.executable, *sys.argv]), **payload}
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


def markdown_table(rows: list[list], headers: list[str]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def fmt(x: float | None, spec: str = ".3g") -> str:
    return "n/a" if x is None else format(x, spec)
