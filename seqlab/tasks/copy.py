"""Copy memory (Arjovsky, Shah & Bengio 2016, "Unitary Evolution RNNs", Sec. 4.1).

Categories: blank 0, data symbols 1..8, delimiter 9. Input of length T+2M: M symbols (M = 10
in the paper; `task.memorize` changes it), T-1 blanks, the delimiter, M blanks. Target: T+M
blanks, then the M symbols. The loss is the mean cross-entropy over all T+2M steps, as in the
authors' code.
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

BLANK, DELIMITER, N_SYMBOLS, N_RECALL = 0, 9, 8, 10


def copy_baseline(length: int, memorize: int = N_RECALL) -> float:
    """Memoryless loss: certain blanks until the delimiter, then uniform over 8 symbols."""
    return memorize * math.log(N_SYMBOLS) / (length + 2 * memorize)


@dataclass(frozen=True)
class CopyTask:
    spec: TaskSpec
    memorize: int = N_RECALL

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T, M = self.spec.length, self.memorize
        symbols_TB = jax.random.randint(key, (M, batch_size), 1, N_SYMBOLS + 1, jnp.int32)
        blanks = lambda n: jnp.full((n, batch_size), BLANK, jnp.int32)  # noqa: E731
        delimiter = jnp.full((1, batch_size), DELIMITER, jnp.int32)
        inputs_TB = jnp.concatenate([symbols_TB, blanks(T - 1), delimiter, blanks(M)])
        targets_TB = jnp.concatenate([blanks(T + M), symbols_TB])
        lengths = jnp.full((batch_size,), T + 2 * M, jnp.int32)
        return Batch(inputs_TB, targets_TB, lengths)

    def loss_and_metrics(self, logits_TBC: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        loss = cross_entropy(logits_TBC, batch.targets).mean()
        correct_TB = jnp.argmax(logits_TBC, -1) == batch.targets
        return loss, {
            "loss": loss,
            "accuracy": correct_TB.mean(),
            "recall_accuracy": correct_TB[-self.memorize :].mean(),
        }


@TASKS.register(
    "copy",
    "Copy memory (Arjovsky 2016): recall task.memorize (10) symbols after T blanks",
    task_fields=("memorize",),
)
def make_copy(cfg) -> CopyTask:
    require_positive(cfg, "length")
    T = cfg.length
    M = positive_or_default(cfg, "memorize", N_RECALL)
    return CopyTask(
        TaskSpec(
            name="copy",
            length=T,
            seq_len=T + 2 * M,
            input_kind="tokens",
            vocab_size=10,
            output_kind="classes",
            num_classes=10,
            scored="every",
            baseline=copy_baseline(T, M),
            solved=Criterion("recall_accuracy", "max", 0.99),
        ),
        memorize=M,
    )
