"""Trains one config in one run directory, resuming from its latest checkpoint.

The host only logs, evaluates and checkpoints between chunks; each chunk is one compiled
program of K optimiser steps over all seeds. Chunk boundaries are multiples of train.chunk
and of the eval/checkpoint intervals, so a resumed run executes exactly the same programs
on exactly the same states as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import jax
import numpy as np

from seqlab import config as config_lib
from seqlab.devices import describe_machine
from seqlab.models.sizing import built_size, state_size
from seqlab.registry import TASKS
from seqlab.tasks.base import host_fed
from seqlab.track.base import Multiplexer
from seqlab.track.jsonl import JsonlWriter
from seqlab.train import loop
from seqlab.train import summary as summary_lib
from seqlab.train.checkpoint import Checkpointer, load_params
from seqlab.train.evaluation import EVAL, EVAL_LENGTH, ROW_KEYS, Evaluations, metric_rows
from seqlab.train.feed import Feeder
from seqlab.train.optim import make_optimizer
from seqlab.train.progress import Progress
from seqlab.train.rundir import (
    CONFIG,
    METRICS,
    SUMMARY,
    acquire_lock,
    check_writable,
    read_json,
    truncate_metrics,
    write_json_atomic,
)
from seqlab.train.state import init_state, make_engine, param_count, seed_values, state_shapes
from seqlab.train.stop import StopOnSigterm, Stopped


def prepare_workdir(cfg, workdir: Path) -> None:
    """Checks (before writing anything) that `workdir` is new or holds this same config
    (a field the stored one lacks counts as its default: `config_lib.with_defaults`)."""
    check_writable(workdir)
    existing = Path(workdir) / CONFIG
    if existing.exists():
        stored = config_lib.flatten(config_lib.with_defaults(read_json(existing)))
        wanted = config_lib.flatten(cfg.to_dict())
        differ = sorted(
            k for k in stored.keys() | wanted.keys() if _norm(stored.get(k)) != _norm(wanted.get(k))
        )
        if differ == ["train.steps"] and can_extend(stored, cfg):
            write_json_atomic(existing, cfg.to_dict())  # train longer: same run, more steps
            return
        if differ:
            raise config_lib.ConfigError(
                f"workdir {str(workdir)!r} holds a run with a different config "
                f"(differs in {', '.join(differ)}); use a new workdir to train this config"
            )


def warm_start_params(cfg):
    """Parameters of `train.init_from`'s latest checkpoint, checked against this config."""
    source = Path(cfg.train.init_from)
    if not (source / CONFIG).exists():
        raise config_lib.ConfigError(
            f"train.init_from {str(source)!r} is not a seqlab run directory"
        )
    src = config_lib.from_dict(read_json(source / CONFIG))
    src_task = TASKS.get(src.task.name)(src.task)
    src_tx = make_optimizer(src.optim, config_lib.schedule_steps(src))
    _, like = init_state(src.model, src_task, src_tx, seed_values(src.train))
    task = TASKS.get(cfg.task.name)(cfg.task)
    _, ours = state_shapes(cfg.model, task, src_tx, seed_values(cfg.train))
    shapes = lambda tree: jax.tree.map(lambda x: x.shape, tree)  # noqa: E731
    if shapes(like.params) != shapes(ours.params):
        raise config_lib.ConfigError(
            f"train.init_from {str(source)!r}: its parameters do not fit this model "
            "(model config or number of seeds differ)"
        )
    return load_params(source, like)


def can_extend(stored: dict, cfg) -> bool:
    """More steps continue a run exactly only if the schedule does not depend on its length:
    a constant rate, or a schedule whose length `optim.schedule_steps` fixes."""
    fixed = cfg.optim.schedule == "constant" or cfg.optim.schedule_steps > 0
    return cfg.train.steps > stored["train.steps"] and fixed


def _norm(v):
    return list(v) if isinstance(v, tuple | list) else v


def next_boundary(step: int, cfg) -> int:
    intervals = (cfg.train.chunk, cfg.eval.every, cfg.checkpoint.every, cfg.eval.check_every)
    return min([cfg.train.steps] + [(step // n + 1) * n for n in intervals if n])


def train(cfg, workdir: str | Path, *, progress: bool = True, writers: list | None = None) -> dict:
    """Trains (or resumes) the run in `workdir`; returns its summary."""
    workdir = Path(workdir)
    prepare_workdir(cfg, workdir)
    initial_params = warm_start_params(cfg) if cfg.train.init_from else None
    task = TASKS.get(cfg.task.name)(cfg.task)
    if host_fed(task):  # the dataset is there and holds the held-out batches: before any write
        task.eval_batches(cfg.eval.batches, cfg.eval.batch_size)
    workdir.mkdir(parents=True, exist_ok=True)
    lock = acquire_lock(workdir)  # the OS releases it if the process dies
    try:
        if not (workdir / CONFIG).exists():
            write_json_atomic(workdir / CONFIG, cfg.to_dict())
        return _train_locked(cfg, task, workdir, progress, writers or [], initial_params)
    finally:
        os.close(lock)


def _train_locked(cfg, task, workdir: Path, progress: bool, writers: list, initial_params) -> dict:
    spec = task.spec
    seeds = seed_values(cfg.train)
    tx = make_optimizer(cfg.optim, config_lib.schedule_steps(cfg))
    graphdef, state = init_state(cfg.model, task, tx, seeds)
    engine = make_engine(cfg, graphdef, task, tx)
    checkpointer = Checkpointer(workdir / "checkpoints", cfg.checkpoint.keep)

    records = [summary_lib.new_seed_record(s) for s in seeds]
    elapsed_before, step = 0.0, 0
    restored = checkpointer.restore_latest(state)
    if restored is not None:
        state, meta = restored
        step, elapsed_before = meta["step"], meta["elapsed"]
        for row in truncate_metrics(workdir / METRICS, step):
            _replay(records, seeds, row, spec.solved)
        _sync_solved(records, state, cfg)
    else:
        if (workdir / METRICS).exists():
            truncate_metrics(workdir / METRICS, -1)  # rows from before any checkpoint are redone
        if initial_params is not None:  # a warm start: given parameters, a fresh optimiser
            state = state.replace(
                params=initial_params, opt_state=jax.vmap(tx.init)(initial_params)
            )

    sinks = [JsonlWriter(workdir)]
    if cfg.track.wandb:
        from seqlab.track.wandb import WandbWriter

        sinks.append(
            WandbWriter(
                cfg.track, run_name=workdir.name, workdir=workdir, seeds=seeds, config=cfg.to_dict()
            )
        )
    out = Multiplexer(sinks + writers)

    summary = {
        "status": "running",
        "task": {
            "name": spec.name,
            "length": spec.length,
            "seq_len": spec.seq_len,
            "min_length": spec.min_length,
            "baseline": spec.baseline,
            "solved": spec.solved.describe(),
            "criterion": dataclasses.asdict(spec.solved),  # metric, mode, threshold
        },
        "model": cfg.model.name,
        "params": param_count(state),
        "size": built_size(cfg.model, spec),
        "state_size": state_size(cfg.model, spec),
        "steps": cfg.train.steps,
        "machine": describe_machine(),
        "seeds": records,
        "throughput": {},
    }
    t_start = time.perf_counter()
    elapsed = lambda: elapsed_before + time.perf_counter() - t_start  # noqa: E731
    evaluations = Evaluations(cfg, engine, state, len(seeds))
    compile_s = dict(evaluations.compile_s)
    chunks: dict[int, object] = {}
    feeder = Feeder(task, seeds, cfg.train.batch_size) if host_fed(task) else None
    meter = Progress(cfg.train.steps, enabled=progress)
    timed_steps, timed_s = 0, 0.0

    def run_eval(step: int) -> str:
        nonlocal state
        rows = evaluations.rows(state.params, step, seeds, elapsed())
        rows = [r for r, rec in zip(rows, _per_row(records, rows, seeds), strict=True)
                if not _stopped_and_recorded(rec)]  # fmt: skip
        for r in rows:
            _replay(records, seeds, r, spec.solved)
        out.write(rows)
        state = _mark_solved(state, records, step)
        _sync_solved(records, state, cfg)
        name = spec.solved.metric
        live = [r[name] for r in rows if r["split"] == EVAL and r[name] is not None]
        return f"eval {name} {np.mean(live):.4g}" if live else ""

    def check_due(step: int) -> bool:
        """The quick check says an unsolved seed may have solved: evaluate fully."""
        every = cfg.eval.check_every
        if not every or step % every or all(_settled(r) for r in records):
            return False
        passed = evaluations.check(state.params)
        return any(p and r["solved_at"] is None and r["diverged_at"] is None
                   for p, r in zip(passed, records, strict=True))  # fmt: skip

    stop = StopOnSigterm()
    last_save = time.perf_counter()
    try:
        stop.listen()
        out.summary(_finish(summary, records, step, elapsed(), finished=False))
        if step == 0:
            run_eval(0)
        while step < cfg.train.steps and not _all_stopped(records, cfg):
            k = next_boundary(step, cfg) - step
            t0 = time.perf_counter()
            batches = () if feeder is None else (feeder.get(step, k),)
            fed_s = time.perf_counter() - t0
            if k not in chunks:
                t0 = time.perf_counter()
                chunks[k] = loop.compile_chunk(engine, state, k, len(seeds), *batches)
                compile_s[f"chunk{k}"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            state, metrics = chunks[k](state, *batches)  # dispatched; runs while we go on
            if feeder is not None and step + k < cfg.train.steps:
                feeder.prefetch(step + k, next_boundary(step + k, cfg) - step - k)
            metrics = jax.block_until_ready(metrics)
            timed_s += fed_s + time.perf_counter() - t0
            timed_steps += k
            step += k
            train_rows = metric_rows(metrics, step, "train", seeds, elapsed())
            for rec, d in zip(records, np.asarray(jax.device_get(state.diverged_at)), strict=True):
                if d:
                    summary_lib.record_divergence(rec, int(d))
            # rows of seeds that stopped (diverged, or solved) before this chunk are dropped
            out.write(
                [
                    r
                    for r, rec in zip(train_rows, records, strict=True)
                    if _trained_in(rec, step - k)
                ]
            )
            _sync_solved(records, state, cfg)
            at_eval = step % cfg.eval.every == 0 or step == cfg.train.steps
            eval_text = run_eval(step) if at_eval or check_due(step) else ""
            ended = _all_stopped(records, cfg)
            if ended and not any(r.get("final_step") == step for r in records):
                eval_text = run_eval(step)  # seeds solved by their streak: one last evaluation
            losses = [r["loss"] for r in train_rows if r["loss"] is not None]
            meter.update(
                step, timed_steps / timed_s, float(np.mean(losses)) if losses else None, eval_text
            )
            summary["throughput"] = _throughput(timed_steps, timed_s, cfg, spec, compile_s)
            due = step % cfg.checkpoint.every == 0 or step == cfg.train.steps or ended
            minutes = (time.perf_counter() - last_save) / 60
            # read once: a signal that lands after the save decision (during the summary's
            # write, say) waits for the next chunk, which saves before it stops
            signum = stop.signum
            if due or 0 < cfg.checkpoint.minutes <= minutes or signum is not None:
                checkpointer.save(state, {"step": step, "elapsed": elapsed()})
                last_save = time.perf_counter()
            if eval_text or signum is not None:
                out.summary(_finish(summary, records, step, elapsed(), finished=False))
            if signum is not None and step < cfg.train.steps and not ended:
                raise Stopped(signum, f"at step {step}; its checkpoint is saved")
        for rec in records:
            if rec["status"] == "running":
                rec["status"] = "completed"
        summary["stopped_early"] = step < cfg.train.steps
        out.summary(_finish(summary, records, step, elapsed(), finished=True))
        return summary
    except BaseException as e:
        if not isinstance(e, KeyboardInterrupt | Stopped):
            summary["status"] = "failed"
            summary["error"] = f"{type(e).__name__}: {e}"
            write_json_atomic(workdir / SUMMARY, summary)
        raise
    finally:
        stop.close()
        out.close()
        checkpointer.close()
        if feeder is not None:
            feeder.close()


def _settled(record: dict) -> bool:
    return record["diverged_at"] is not None or record["solved_at"] is not None


def _stopped(record: dict) -> bool:
    """Whether the seed trains no more: diverged, or solved in a run that stops when solved."""
    return record["diverged_at"] is not None or record.get("stopped_at") is not None


def _trained_in(record: dict, start: int) -> bool:
    """Whether the seed trained after step `start` (so a chunk from there has its rows)."""
    ends = [s for s in (record["diverged_at"], record.get("stopped_at")) if s is not None]
    return not ends or min(ends) > start


def _stopped_and_recorded(record: dict) -> bool:
    """A solved seed that stopped and has its evaluation from after its stop: further
    evaluations of its frozen parameters would only repeat that one."""
    stopped_at = record.get("stopped_at")
    return stopped_at is not None and record.get("final_step", -1) >= stopped_at


def _all_stopped(records: list[dict], cfg) -> bool:
    """A run that stops when solved ends once every seed has solved or diverged."""
    return cfg.train.stop_when_solved and all(_stopped(r) for r in records)


def _per_row(records: list[dict], rows: list[dict], seeds: list[int]) -> list[dict]:
    return [records[seeds.index(r["seed"])] for r in rows]


def _mark_solved(state, records: list[dict], step: int):
    """Seeds whose evaluation at `step` met the criterion: their `solved_at` in the state (so a
    run that stops when solved freezes them from the next step on)."""
    current = np.asarray(jax.device_get(state.solved_at))
    new = current.copy()
    for i, rec in enumerate(records):
        if rec["solved_at"] is not None and not new[i]:
            new[i] = rec["solved_at"]
    if (new == current).all():
        return state
    return state.replace(solved_at=jax.device_put(new, state.solved_at.sharding))


def _sync_solved(records: list[dict], state, cfg) -> None:
    """The state's solved steps (from the training streak, or marked after an evaluation) into
    the seeds' records: solved_at, how, the sequences it took, and where the seed stopped."""
    batch = cfg.train.batch_size
    for rec, at in zip(records, np.asarray(jax.device_get(state.solved_at)), strict=True):
        at = int(at)
        if not at:
            continue
        if rec["solved_at"] is None or at < rec["solved_at"]:
            rec["solved_at"] = at
            rec["solved_by"] = "streak"
        rec.setdefault("solved_by", "eval")
        rec["solved_sequences"] = rec["solved_at"] * batch
        if cfg.train.stop_when_solved:
            rec["stopped_at"] = at


def _replay(records: list[dict], seeds: list[int], row: dict, criterion) -> None:
    """Folds an eval row (new, or read back from metrics.jsonl on resume) into the records."""
    if row.get("split") not in (EVAL, EVAL_LENGTH):
        return
    metrics = {k: v for k, v in row.items() if k not in ROW_KEYS}
    record = records[seeds.index(row["seed"])]
    if row["split"] == EVAL:
        summary_lib.record_eval(record, row["step"], metrics, criterion)
    else:
        summary_lib.record_length_eval(record, row["length"], row["step"], metrics, criterion)


def _throughput(steps: int, seconds: float, cfg, spec, compile_s: dict) -> dict:
    tp = {"compile_s": {k: round(v, 3) for k, v in compile_s.items()}}
    if steps and seconds > 0:
        sps = steps / seconds
        tp["steps_per_s"] = sps
        tp["tokens_per_s"] = sps * cfg.train.batch_size * spec.seq_len * cfg.train.seeds
    return tp


def _finish(summary: dict, records: list[dict], step: int, elapsed: float, finished: bool) -> dict:
    summary.update(
        step=step,
        elapsed_s=round(elapsed, 3),
        status=summary_lib.run_status(records, finished),
        solved_seeds=sum(r["solved_at"] is not None for r in records),
        updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    return summary
