"""The per-seed record that summary.json holds: final and best metrics, solved, diverged."""

from __future__ import annotations

from seqlab.tasks.base import Criterion, metric_mode


def new_seed_record(seed: int) -> dict:
    return {
        "seed": seed,
        "status": "running",
        "final": {},
        "best": {},
        "best_step": {},
        "solved_at": None,
        "diverged_at": None,
    }


def record_eval(record: dict, step: int, metrics: dict, criterion: Criterion) -> None:
    """Folds one evaluation (at `step`) into a seed's record."""
    if record["diverged_at"] is None:
        _fold(record, step, metrics, criterion)


def record_length_eval(
    record: dict, length: int, step: int, metrics: dict, criterion: Criterion
) -> None:
    """Folds an evaluation at another task length into `record["lengths"][str(length)]`:
    final (with final_step), best, best_step and solved_at, as at the training length."""
    if record["diverged_at"] is None:
        at = record.setdefault("lengths", {}).setdefault(
            str(length), {"final": {}, "best": {}, "best_step": {}, "solved_at": None}
        )
        _fold(at, step, metrics, criterion)


def _fold(record: dict, step: int, metrics: dict, criterion: Criterion) -> None:
    record["final"] = dict(metrics)
    record["final_step"] = step
    for name, value in metrics.items():
        if value is None:
            continue
        best = record["best"].get(name)
        if best is None or (value > best if metric_mode(name) == "max" else value < best):
            record["best"][name] = value
            record["best_step"][name] = step
    if record["solved_at"] is None and criterion.met(metrics.get(criterion.metric)):
        record["solved_at"] = step


def record_divergence(record: dict, step: int) -> None:
    if record["diverged_at"] is None:
        record["diverged_at"] = step
        record["status"] = "diverged"


def run_status(records: list[dict], finished: bool) -> str:
    if all(r["status"] == "diverged" for r in records):
        return "diverged"
    return "completed" if finished else "running"
