"""Induction heads (Olsson et al. 2022; the synthetic task of Gu & Dao 2023, "Mamba", Sec. 4.1.2
and App. E.1, after Fu et al. 2023, "Hungry Hungry Hippos", Sec. 3.1).

Vocabulary V (`task.vocab_size`, default 16 as in Mamba): symbols 0 .. V-2 and the special
token V-1. A sequence of length T (`task.length`; Mamba trains at 256 and evaluates at longer
lengths) is T uniform random symbols in which the special token is written at one step p,
uniform in [0, T-3], and again at the last step T-1. The symbol X at step p + 1 (<= T-2, so it is
a random symbol, never the special token) is the target, read at the last step: the model sees
"... S X ... S" and must answer X. The special token occurs once before the end, as in H3's
description of the task (the H3 code, HazyResearch/safari, can also repeat it; Mamba's text
does not say). The memoryless baseline is log(V-1) (X is uniform over the V-1 symbols); solved:
accuracy >= 0.99. An evaluation at another length builds the task at that length, so the gap
between the two special tokens grows with it (length generalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from seqlab.registry import TASKS
from seqlab.tasks.base import (
    Batch,
    Criterion,
    Metrics,
    TaskSpec,
    cross_entropy,
    positive_or_default,
    require_positive,
)

DEFAULT_VOCAB = 16  # Mamba App. E.1


def induction_heads_baseline(vocab_size: int) -> float:
    """Memoryless loss: X is uniform over the vocab_size - 1 ordinary symbols."""
    return math.log(vocab_size - 1)


@dataclass(frozen=True)
class InductionHeadsTask:
    spec: TaskSpec

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T, V = self.spec.length, self.spec.vocab_size
        special = V - 1
        k_sym, k_pos = jax.random.split(key)
        symbols_TB = jax.random.randint(k_sym, (T, batch_size), 0, special, jnp.int32)
        first_B = jax.random.randint(k_pos, (batch_size,), 0, T - 2, jnp.int32)  # in [0, T-3]
        steps_T1 = jnp.arange(T)[:, None]
        trigger_TB = (steps_T1 == first_B) | (steps_T1 == T - 1)
        inputs_TB = jnp.where(trigger_TB, special, symbols_TB)
        target_B = symbols_TB[first_B + 1, jnp.arange(batch_size)]
        return Batch(inputs_TB, target_B, jnp.full((batch_size,), T, jnp.int32))

    def loss_and_metrics(self, logits_BC: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        loss = cross_entropy(logits_BC, batch.targets).mean()
        accuracy = (jnp.argmax(logits_BC, -1) == batch.targets).mean()
        return loss, {"loss": loss, "accuracy": accuracy}


@TASKS.register(
    "induction_heads",
    "Induction heads (Olsson et al. 2022; Mamba App. E.1): after '... S X ... S', output X",
    task_fields=("vocab_size",),
)
def make_induction_heads(cfg) -> InductionHeadsTask:
    require_positive(cfg, "length")
    if cfg.length < 3:
        raise ValueError(
            f"task.length must be at least 3 for induction_heads (S X ... S), got {cfg.length}"
        )
    V = positive_or_default(cfg, "vocab_size", DEFAULT_VOCAB)
    if V < 3:
        raise ValueError(
            f"task.vocab_size must be at least 3 for induction_heads (the special token and at "
            f"least 2 symbols), got {V}"
        )
    return InductionHeadsTask(
        TaskSpec(
            name="induction_heads",
            length=cfg.length,
            seq_len=cfg.length,
            input_kind="tokens",
            vocab_size=V,
            output_kind="classes",
            num_classes=V,
            scored="last",
            causal=False,  # one output, after the whole sequence
            baseline=induction_heads_baseline(V),
            solved=Criterion("accuracy", "max", 0.99),
        )
    )
