"""Copy memory (Arjovsky, Shah & Bengio 2016, "Unitary Evolution RNNs", Sec. 4.1).

Categories: blank 0, data symbols 1..8, delimiter 9. Input of length T+20: ten symbols,
T-1 blanks, the delimiter, ten blanks. Target: T+10 blanks, then the ten symbols.
The loss is the mean cross-entropy over all T+20 steps, as in the authors' code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from seqlab.registry import TASKS
from seqlab.tasks.base import Batch, Criterion, Metrics, TaskSpec, cross_entropy, require_positive

BLANK, DELIMITER, N_SYMBOLS, N_RECALL = 0, 9, 8, 10


def copy_baseline(length: int) -> float:
    """Memoryless loss: certain blanks until the delimiter, then uniform over 8 symbols."""
    return N_RECALL * math.log(N_SYMBOLS) / (length + 2 * N_RECALL)


@dataclass(frozen=True)
class CopyTask:
    spec: TaskSpec

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T = self.spec.length
        symbols_TB = jax.random.randint(key, (N_RECALL, batch_size), 1, N_SYMBOLS + 1, jnp.int32)
        blanks = lambda n: jnp.full((n, batch_size), BLANK, jnp.int32)  # noqa: E731
        delimiter = jnp.full((1, batch_size), DELIMITER, jnp.int32)
        inputs_TB = jnp.concatenate([symbols_TB, blanks(T - 1), delimiter, blanks(N_RECALL)])
        targets_TB = jnp.concatenate([blanks(T + N_RECALL), symbols_TB])
        lengths = jnp.full((batch_size,), T + 2 * N_RECALL, jnp.int32)
        return Batch(inputs_TB, targets_TB, lengths)

    def loss_and_metrics(self, logits_TBC: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        loss = cross_entropy(logits_TBC, batch.targets).mean()
        correct_TB = jnp.argmax(logits_TBC, -1) == batch.targets
        return loss, {
            "loss": loss,
            "accuracy": correct_TB.mean(),
            "recall_accuracy": correct_TB[-N_RECALL:].mean(),
        }


@TASKS.register("copy", "Copy memory (Arjovsky 2016): recall 10 symbols after T blanks")
def make_copy(cfg) -> CopyTask:
    require_positive(cfg, "length")
    T = cfg.length
    return CopyTask(
        TaskSpec(
            name="copy",
            length=T,
            seq_len=T + 2 * N_RECALL,
            input_kind="tokens",
            vocab_size=10,
            output_kind="classes",
            num_classes=10,
            scored="every",
            baseline=copy_baseline(T),
            solved=Criterion("recall_accuracy", "max", 0.99),
        )
    )
