"""A run's held-out evaluations: at the training length, and at each of `eval.lengths`.

Length generalisation: the model trained at the task's length is evaluated, with the same
parameters, on the task rebuilt at length L (`seqlab.config.task_at_length`: every sequence
exactly L long). Rows at the training length have split "eval"; rows at another length have
split "eval_length" and a "length" field, so readers of "eval" rows see one length only.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from seqlab.config import task_at_length
from seqlab.registry import TASKS
from seqlab.train import loop
from seqlab.train.rundir import finite_or_none
from seqlab.train.state import Engine, TrainState

EVAL, EVAL_LENGTH = "eval", "eval_length"
ROW_KEYS = ("step", "seed", "split", "elapsed", "time", "length")  # the rest are metrics


def metric_rows(
    metrics: dict, step: int, split: str, seeds: list[int], elapsed: float, **extra
) -> list[dict]:
    """One metrics.jsonl row per seed from metrics with a leading seed axis."""
    host = jax.device_get(metrics)
    now = time.time()
    rows = []
    for i, seed in enumerate(seeds):
        row = {"step": step, "seed": seed, "split": split, **extra}
        row.update(elapsed=round(elapsed, 3), time=now)
        row.update({k: finite_or_none(float(np.asarray(v)[i])) for k, v in host.items()})
        rows.append(row)
    return rows


class Evaluations:
    """Compiled evaluation programs and their fixed batches, one per evaluated length, and the
    quick solved-check (`eval.check_every`): the criterion's metric on the first
    `eval.check_batches` held-out batches at the training length."""

    def __init__(self, cfg, engine: Engine, state: TrainState, num_seeds: int):
        self.points = [(None, engine.task)]
        for length in cfg.eval.lengths:
            task = TASKS.get(cfg.task.name)(task_at_length(cfg.task, length))
            self.points.append((length, task))
        self.programs = []
        self.compile_s = {}
        for length, task in self.points:
            batches = loop.eval_batches(task, cfg.eval)
            start = time.perf_counter()
            program = loop.compile_eval(engine._replace(task=task), state, batches, num_seeds)
            self.compile_s["eval" if length is None else f"eval@{length}"] = (
                time.perf_counter() - start
            )
            self.programs.append((program, batches))
        self.check_program = None
        if cfg.eval.check_every:
            _, batches = self.programs[0]
            n = min(cfg.eval.check_batches, cfg.eval.batches)
            self.check_batches = jax.tree.map(lambda x: x[:n], batches)
            start = time.perf_counter()
            self.check_program = loop.compile_eval(engine, state, self.check_batches, num_seeds)
            self.compile_s["check"] = time.perf_counter() - start
        self.criterion = engine.task.spec.solved

    def check(self, params) -> np.ndarray:
        """Per seed: whether the solved criterion holds on the check batches."""
        metrics = jax.device_get(self.check_program(params, self.check_batches))
        return np.array([self.criterion.met(float(v)) for v in metrics[self.criterion.metric]])

    def rows(self, params, step: int, seeds: list[int], elapsed: float) -> list[dict]:
        out = []
        for (length, _), (program, batches) in zip(self.points, self.programs, strict=True):
            metrics = program(params, batches)
            if length is None:
                out += metric_rows(metrics, step, EVAL, seeds, elapsed)
            else:
                out += metric_rows(metrics, step, EVAL_LENGTH, seeds, elapsed, length=length)
        return out
