"""Run directories as `seqlab train` writes them, from made-up learning curves.

The dashboard's tests need every kind of result (seeds that solve at different steps and stop
there, unsolved seeds, several lengths, a learning-rate grid, evaluations at other lengths)
without minutes of training: `write_run` writes config.json, summary.json and metrics.jsonl
with the fields and shapes the engine writes (seqlab/train/summary.py, rundir.py), and
`demo_sweep` / `study_sweep` lay out two workdirs with a sweep.json like `seqlab sweep`'s.

A seed's held-out progress is a logistic step at `Seed.transition` (a plateau, then a sudden
drop, as in induction-head formation): loss = chance·(1-p) + floor·p, and the task's metric
follows p. A seed solves at its first evaluation that meets the task's criterion and, with
stop_when_solved, stops there (no metrics rows after it), as the engine does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from seqlab import config as config_lib
from seqlab.registry import MODELS


@dataclass(frozen=True)
class Seed:
    transition: float | None  # step of the sudden drop; None: it never learns (stays at chance)
    width: float = 40.0  # steps the drop takes
    generalises: float = 1.0  # the metric's fraction kept per doubling of the length


@dataclass(frozen=True)
class TaskKind:
    metric: str
    mode: str  # "max" | "min"
    threshold: float
    chance_metric: float  # the metric of a model that learned nothing
    perfect_metric: float

    def baseline(self, name: str, length: int) -> float:
        if name == "copy":
            return 3 * math.log(8) / (length + 6)  # task.memorize=3
        return {"adding": 1 / 6, "parity": math.log(2)}[name]


KINDS = {
    "copy": TaskKind("recall_accuracy", "max", 0.99, 1 / 8, 1.0),
    "adding": TaskKind("mse", "min", 0.01, 1 / 6, 0.001),
    "parity": TaskKind("score", "max", 0.9, 0.0, 1.0),
}
FLOOR = 0.002


def _progress(seed: Seed, step: int) -> float:
    if seed.transition is None:
        return 0.01 * math.sin(step / 97.0) ** 2  # wanders at chance
    return 1 / (1 + math.exp(-(step - seed.transition) / (seed.width / 4)))


def _metrics(kind: TaskKind, chance_loss: float, p: float) -> dict[str, float]:
    loss = chance_loss * (1 - p) + FLOOR * p
    value = kind.chance_metric + (kind.perfect_metric - kind.chance_metric) * p
    out = {"loss": loss, kind.metric: loss if kind.metric == "mse" else value}
    if kind.metric == "score":  # parity: plain accuracy too (chance 1/2), as seqlab records it
        out["accuracy"] = 0.5 + 0.5 * value
    return out


def _met(kind: TaskKind, value: float) -> bool:
    return value >= kind.threshold if kind.mode == "max" else value <= kind.threshold


def _size(model: str, cfg: dict) -> dict:
    m = cfg["model"]
    size = {"embed_dim": m["embed_dim"], "hidden": m["hidden"], "layers": m["layers"]}
    return size | {f: m[f] for f in MODELS.entry(model).size_fields}


def write_run(
    root: Path,
    name: str,
    *,
    task: str = "copy",
    length: int = 10,
    model: str = "lstm",
    seeds: tuple[Seed, ...] = (Seed(300), Seed(500)),
    cfg: dict | None = None,
    steps: int = 2000,
    every: int = 25,
    batch: int = 64,
    stop_when_solved: bool = True,
    eval_lengths: tuple[int, ...] = (),
    min_length: int | None = None,
    params: int = 6000,
    running_at: int | None = None,
) -> Path:
    """A run directory below `root`; `cfg` holds {"section.key": value} overrides. Finished,
    or still running with evaluations up to step `running_at` (-1: none yet)."""
    kind = KINDS[task]
    config = config_lib.base_config().to_dict()
    overrides = {
        "task.name": task,
        "task.length": length,
        "model.name": model,
        "train.steps": steps,
        "train.batch_size": batch,
        "train.seeds": len(seeds),
        "train.stop_when_solved": stop_when_solved,
        "eval.every": every,
        "eval.lengths": list(eval_lengths),
        "model.hidden": 32,
        **({"task.memorize": 3} if task == "copy" else {}),
        **({"task.min_length": min_length} if min_length else {}),
        **(cfg or {}),
    }
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        config[section][key] = value
    chance = kind.baseline(task, length)
    rows, records = [], []
    for i, seed in enumerate(seeds):
        record = {"seed": i, "status": "completed", "final": {}, "best": {}, "best_step": {},
                  "solved_at": None, "diverged_at": None}  # fmt: skip
        last = steps if running_at is None else min(steps, running_at)
        for step in range(0, last + 1, every):
            p = _progress(seed, step)
            values = _metrics(kind, chance, p)
            rows.append({"step": step, "seed": i, "split": "eval", "elapsed": step / 100,
                         "time": 1.8e9 + step, **values})  # fmt: skip
            if step:
                train = {k: v * 1.1 for k, v in values.items()}
                rows.append({"step": step, "seed": i, "split": "train", "elapsed": step / 100,
                             "time": 1.8e9 + step, "grad_norm": 1.0, **train})  # fmt: skip
            _fold(record, step, values, kind)
            for other in eval_lengths:
                kept = seed.generalises ** math.log2(max(other / length, 1.0))
                at = _metrics(kind, chance, p * kept)
                rows.append({"step": step, "seed": i, "split": "eval_length", "length": other,
                             "elapsed": step / 100, "time": 1.8e9 + step, **at})  # fmt: skip
                lengths = record.setdefault("lengths", {})
                _fold(lengths.setdefault(str(other), {"final": {}, "best": {}, "best_step": {},
                      "solved_at": None}), step, at, kind)  # fmt: skip
            if record["solved_at"] is None and _met(kind, values[kind.metric]):
                record["solved_at"] = step
            if record["solved_at"] is not None and stop_when_solved:
                break
        if record["solved_at"] is not None:
            record["solved_by"] = "eval"
            record["solved_sequences"] = record["solved_at"] * batch
        record["stopped_at"] = record["solved_at"] if stop_when_solved else None
        if running_at is not None and record["solved_at"] is None:
            record["status"] = "running"
        records.append(record)
    reached = max((r.get("final_step") or 0) for r in records)
    metric, mode, threshold = kind.metric, kind.mode, kind.threshold
    summary = {
        "status": "completed" if running_at is None else "running",
        "model": model,
        "params": params,
        "steps": steps,
        "step": reached,
        "stopped_early": reached < steps,
        "seeds": records,
        "size": _size(model, config),
        "solved_seeds": sum(r["solved_at"] is not None for r in records),
        "machine": "synthetic",
        "task": {
            "name": task,
            "length": length,
            "min_length": min_length,
            "seq_len": length,
            "baseline": chance,
            "solved": f"{metric} {'>=' if mode == 'max' else '<='} {threshold:g}",
            "criterion": {"metric": metric, "mode": mode, "threshold": threshold},
        },
        "throughput": {"steps_per_s": 40.0, "tokens_per_s": 1e5},
    }
    run = Path(root) / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(config))
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def _fold(record: dict, step: int, values: dict, kind: TaskKind) -> None:
    record["final"] = dict(values)
    record["final_step"] = step
    for name, value in values.items():
        better = max if name == kind.metric and kind.mode == "max" else min
        best = record["best"].get(name)
        if best is None or better(value, best) != best:
            record["best"][name], record["best_step"][name] = value, step


def write_manifest(root: Path, note: str = "") -> None:
    """sweep.json as `seqlab sweep` writes it: one base config, every run listed, the NOTE."""
    base = config_lib.base_config().to_dict()
    runs = sorted(p.parent.name for p in Path(root).glob("*/summary.json"))
    manifest = {
        "bases": {"configs/base.py": base},
        "runs": [{"base": "configs/base.py", "dir": name} for name in runs],
        "note": note,
    }
    (Path(root) / "sweep.json").write_text(json.dumps(manifest, default=list))


# The block models as the demo (experiments/zoo_quick.py) builds them: 32 wide, two heads, one
# block (xlstm[1:1] two), a lower learning rate; the mLSTM in its chunkwise form.
BLOCKS = {
    "transformer": {"model.heads": 2, "optim.lr": 3e-3},
    "mlstm": {"model.heads": 2, "optim.lr": 3e-3, "model.mlstm_form": "chunkwise"},
    "xlstm[1:1]": {"model.heads": 2, "model.layers": 2, "optim.lr": 3e-3},
}
DEMO_NOTE = "The synthetic demo: one length per task, two seeds, stopped when solved."


def demo_sweep(root: Path) -> Path:
    """Like `make demo`: every model at one length of copy and of adding, two seeds each,
    stopped when solved; block models with heads (the cells have none), mLSTM chunkwise; the
    tanh RNN never solves copy."""
    root.mkdir(parents=True)
    transitions = {
        "lstm": (900, 1400), "gru": (700, 800), "rnn": (None, None),
        "transformer": (100, 160), "mlstm": (120, 130), "xlstm[1:1]": (140, 90),
    }  # fmt: skip
    for task, length in (("copy", 10), ("adding", 20)):
        for model, (a, b) in transitions.items():
            if task == "adding" and a is None:
                a, b = 600, 850
            cfg = {"optim.lr": 1e-2, **BLOCKS.get(model, {})}
            name = f"{task}{length}_{model.replace('[', '-').replace(':', '-').strip(']')}"
            write_run(root, name, task=task, length=length, model=model, cfg=cfg,
                      seeds=(Seed(a), Seed(b)))  # fmt: skip
    write_manifest(root, DEMO_NOTE)
    return root


def study_sweep(root: Path) -> Path:
    """Every comparison at once: copy at T=10, 20, 40 (the RNN solves only the shortest), an
    adding learning-rate grid, and parity trained on 1..20 and evaluated at 20, 40 and 80."""
    root.mkdir(parents=True)
    for length, scale in ((10, 1), (20, 2), (40, 4)):
        for model, base in (("lstm", 300), ("gru", 250), ("rnn", 600)):
            unsolved = model == "rnn" and length > 10
            seeds = tuple(Seed(None if unsolved else base * scale + 60 * s) for s in range(3))
            write_run(root, f"copy{length}_{model}", length=length, model=model, seeds=seeds,
                      steps=1500 * scale)  # fmt: skip
    for lr, slow in ((1e-3, 3), (3e-3, 1.5), (1e-2, 1)):
        for model, base in (("lstm", 200), ("transformer", 120)):
            seeds = (Seed(base * slow), Seed(base * slow + 80))
            cfg = {"optim.lr": lr, **({"model.heads": 2} if model == "transformer" else {})}
            write_run(root, f"adding20_{model}_lr{lr:g}", task="adding", length=20, model=model,
                      seeds=seeds, cfg=cfg, steps=1000)  # fmt: skip
    for model, keeps in (("lstm", 1.0), ("transformer", 0.6)):
        seeds = (Seed(300, generalises=keeps), Seed(420, generalises=keeps))
        cfg = {"model.heads": 2, "model.positions": "rotary"} if model == "transformer" else {}
        write_run(root, f"parity20_{model}", task="parity", length=20, model=model, seeds=seeds,
                  cfg=cfg, steps=1000, min_length=1, eval_lengths=(20, 40, 80),
                  stop_when_solved=False)  # fmt: skip
    write_manifest(root, "")
    return root
