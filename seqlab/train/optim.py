"""The optimiser from config: optax chain of clipping, then the update rule with a schedule.

The chain runs on the parameters raveled into one vector (`optax.flatten`): the update is
elementwise (the global norm aside), so the numbers are the same, but XLA gets one fused update
instead of one per parameter array: the 4-block mLSTM's training chunk compiled in 12.3 s
instead of 15.3 s (9.3 s with train_step's checks on one vector too; benchmarks/compile_time.py,
BENCHMARKS.md). The optimiser state is flat vectors."""

from __future__ import annotations

import optax


def make_schedule(o, total_steps: int) -> optax.Schedule:
    final = o.lr * o.final_lr_fraction
    if o.schedule == "cosine":
        return optax.warmup_cosine_decay_schedule(
            init_value=0.0 if o.warmup_steps else o.lr,
            peak_value=o.lr,
            warmup_steps=o.warmup_steps,
            decay_steps=total_steps,
            end_value=final,
        )
    if o.warmup_steps:
        warmup = optax.linear_schedule(0.0, o.lr, o.warmup_steps)
        return optax.join_schedules([warmup, optax.constant_schedule(o.lr)], [o.warmup_steps])
    return optax.constant_schedule(o.lr)


def make_optimizer(o, total_steps: int) -> optax.GradientTransformation:
    lr = make_schedule(o, total_steps)
    momentum = o.momentum or None
    rules = {
        "adam": lambda: optax.adam(lr, b1=o.b1, b2=o.b2, eps=o.eps),
        "adamw": lambda: optax.adamw(lr, b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay),
        # initial_scale: where the accumulator of squared gradients starts (Arjovsky et al.
        # 2016's optimizations.py: 1e-3, with no epsilon)
        "rmsprop": lambda: optax.rmsprop(
            lr, decay=o.decay, eps=o.eps, initial_scale=o.initial_scale, momentum=momentum
        ),
        "sgd": lambda: optax.sgd(lr, momentum=momentum),
    }
    clipping = []
    if o.clip_value > 0:
        clipping.append(optax.clip(o.clip_value))
    if o.clip_norm > 0:
        clipping.append(optax.clip_by_global_norm(o.clip_norm))
    return optax.flatten(optax.chain(*clipping, rules[o.name]()))
