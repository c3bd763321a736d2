"""Selective copying (Gu & Dao 2023, "Mamba", Sec. 3.1, Fig. 2 and App. E.1).

The generator follows the authors' S4 repository (state-spaces/s4,
`src/dataloaders/datasets/copying.py`, `torch_copying_data(L, M, A, variable=True)`), which the
Mamba paper's selective-copying runs use. With vocabulary size A (`task.vocab_size`, default 16
as in the paper) the tokens are

    noise 0,  data symbols 1 .. A-2,  recall marker A-1      (A = 16: 1 noise, 14 data, 1 marker)

Input (length T + M, T = `task.length`, M = `task.memorize`, default 16 as in the paper): M data
symbols, each uniform over the A-2 data symbols (with replacement), at M distinct positions drawn
uniformly among the first T steps, in order, noise everywhere else in those T steps; then M
marker steps. Target: at the k-th marker step the k-th data symbol; the first T steps are not
scored (target IGNORE). The loss is the mean cross-entropy over the M marker steps (the S4 code
scores only the recalled tokens), so the memoryless baseline is log(A-2): without memory every
data symbol is uniform over A-2. Outputs are causal (one per step). Solved: accuracy over the
marker steps >= 0.99 (Mamba, Table 1, reports 99.8% for S6 at T = 4096).
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

NOISE = 0
IGNORE = -100  # target at an unscored step (torch's and Zoology's ignore_index)
DEFAULT_VOCAB, DEFAULT_MEMORIZE = 16, 16  # Mamba App. E.1


def selective_copy_baseline(vocab_size: int) -> float:
    """Memoryless loss: every recalled symbol uniform over the vocab_size - 2 data symbols."""
    return math.log(vocab_size - 2)


@dataclass(frozen=True)
class SelectiveCopyTask:
    spec: TaskSpec
    memorize: int

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T, M, V = self.spec.length, self.memorize, self.spec.vocab_size
        k_pos, k_sym = jax.random.split(key)
        # The indices of the M largest of T iid uniforms: a uniform M-subset of the T steps.
        _, pos_BM = jax.lax.top_k(jax.random.uniform(k_pos, (batch_size, T)), M)
        pos_BM = jnp.sort(pos_BM, axis=1)
        symbols_BM = jax.random.randint(k_sym, (batch_size, M), 1, V - 1, jnp.int32)
        rows_B1 = jnp.arange(batch_size)[:, None]
        data_BT = jnp.full((batch_size, T), NOISE, jnp.int32).at[rows_B1, pos_BM].set(symbols_BM)
        markers_MB = jnp.full((M, batch_size), V - 1, jnp.int32)
        inputs_TB = jnp.concatenate([data_BT.T, markers_MB])
        targets_TB = jnp.concatenate([jnp.full((T, batch_size), IGNORE, jnp.int32), symbols_BM.T])
        return Batch(inputs_TB, targets_TB, jnp.full((batch_size,), T + M, jnp.int32))

    def loss_and_metrics(self, logits_TBC: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        M = self.memorize  # only the M marker steps at the end are scored
        logits_MBC, targets_MB = logits_TBC[-M:], batch.targets[-M:]
        loss = cross_entropy(logits_MBC, targets_MB).mean()
        accuracy = (jnp.argmax(logits_MBC, -1) == targets_MB).mean()
        return loss, {"loss": loss, "accuracy": accuracy}


@TASKS.register(
    "selective_copy",
    "Selective copying (Gu & Dao 2023, Mamba): recall task.memorize symbols scattered among "
    "noise, scored at the marker steps",
    task_fields=("vocab_size", "memorize"),
)
def make_selective_copy(cfg) -> SelectiveCopyTask:
    require_positive(cfg, "length")
    V = positive_or_default(cfg, "vocab_size", DEFAULT_VOCAB)
    M = positive_or_default(cfg, "memorize", DEFAULT_MEMORIZE)
    if V < 4:
        raise ValueError(
            f"task.vocab_size must be at least 4 for selective_copy (noise, marker and at "
            f"least 2 data symbols), got {V}"
        )
    if cfg.length < M:
        raise ValueError(
            f"task.memorize must be at most task.length={cfg.length} (the data symbols sit at "
            f"distinct steps among the first task.length), got {M}"
        )
    return SelectiveCopyTask(
        TaskSpec(
            name="selective_copy",
            length=cfg.length,
            seq_len=cfg.length + M,
            input_kind="tokens",
            vocab_size=V,
            output_kind="classes",
            num_classes=V,
            scored="every",
            baseline=selective_copy_baseline(V),
            solved=Criterion("accuracy", "max", 0.99),
        ),
        memorize=M,
    )
