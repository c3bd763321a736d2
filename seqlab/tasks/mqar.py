"""Multi-query associative recall, MQAR (Arora, Eyuboglu et al. 2023, "Zoology", Sec. 3, Fig. 2).

The procedure is the authors' generator `multiquery_ar` (HazyResearch/zoology,
`zoology/data/associative_recall.py` and `zoology/data/multiquery_ar.py`), with vocabulary V
(`task.vocab_size`, default 8192), length T (`task.length`) and P pairs (`task.pairs`, default
T // 16: Fig. 2's (64, 4), (128, 8), (256, 16)):

1. keys: P distinct tokens from [1, V//2); values: P distinct tokens from [V//2, V).
2. steps 0 .. 2P-1 hold k_1 v_1 k_2 v_2 ... k_P v_P.
3. gaps: P distinct indices g from [0, S), S = (T - 2P) // 2, drawn without replacement with
   probability proportional to (g + 1)^(a - 1), a = 0.01 (a power law: short gaps likely).
4. key i is queried once, at step 2P + 2 g_i; the target there is v_i. No other step is scored
   (target IGNORE); the loss is the mean cross-entropy over the P query steps, as their
   CrossEntropyLoss with ignore_index, and accuracy is over the query steps, as theirs.
5. the other steps hold filler: 0 in task "mqar", the setting of Zoology's Fig. 2 configs
   (`random_non_queries=False`, zoology/experiments/paper_configs/iclr24_zoology_figure2), or
   uniform tokens from [0, V) in task "mqar_noise", the generator's default
   (`random_non_queries=True`).

Memoryless baseline: a value is uniform over the V - V//2 values, loss log(V - V//2).
Solved: query accuracy >= 0.99 (Zoology's early-stopping threshold on valid/accuracy).

Deviations, all in how data is drawn, none in its distribution: batches are sampled on device
from a key (infinite data) instead of a fixed set of 100,000 training sequences; the weighted
draw without replacement is a Gumbel top-k, which has the same law as numpy's successive
`choice(replace=False, p=...)`. Zoology asserts V > T; that is not needed to build a sequence
and is not required here. With task.pairs = 0, evaluation at length L uses L // 16 pairs.
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
from seqlab.tasks.selective_copy import IGNORE

POWER_A = 0.01  # Zoology's train_power_a and test_power_a
DEFAULT_VOCAB = 8192  # Zoology Fig. 2
PAIRS_PER_STEP = 16  # default pairs = length // 16


def mqar_baseline(vocab_size: int) -> float:
    """Memoryless loss: the value of a queried key is uniform over the V - V//2 values."""
    return math.log(vocab_size - vocab_size // 2)


def gap_log_weights(space: int) -> jax.Array:
    """log of Zoology's unnormalised power law a·(g+1)^(a-1) over gaps g in [0, space)."""
    return (POWER_A - 1) * jnp.log(jnp.arange(1, space + 1, dtype=jnp.float32))


def distinct(key: jax.Array, batch_size: int, low: int, high: int, n: int) -> jax.Array:
    """[B, n]: n distinct integers from [low, high) per row, uniformly, in random order."""
    _, idx = jax.lax.top_k(jax.random.uniform(key, (batch_size, high - low)), n)
    return (idx + low).astype(jnp.int32)


@dataclass(frozen=True)
class MQARTask:
    spec: TaskSpec
    pairs: int
    random_fillers: bool

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T, P, V = self.spec.length, self.pairs, self.spec.vocab_size
        k_keys, k_values, k_gaps, k_fill = jax.random.split(key, 4)
        keys_BP = distinct(k_keys, batch_size, 1, V // 2, P)
        values_BP = distinct(k_values, batch_size, V // 2, V, P)
        # Gumbel top-k: P gaps without replacement, successive draws weighted by the power law.
        space = (T - 2 * P) // 2
        scores_BS = gap_log_weights(space) + jax.random.gumbel(k_gaps, (batch_size, space))
        _, gaps_BP = jax.lax.top_k(scores_BS, P)
        query_BP = 2 * P + 2 * gaps_BP
        if self.random_fillers:
            inputs_BT = jax.random.randint(k_fill, (batch_size, T), 0, V, jnp.int32)
        else:
            inputs_BT = jnp.zeros((batch_size, T), jnp.int32)
        rows_B1 = jnp.arange(batch_size)[:, None]
        context_B2P = jnp.stack([keys_BP, values_BP], axis=-1).reshape(batch_size, 2 * P)
        inputs_BT = inputs_BT.at[:, : 2 * P].set(context_B2P).at[rows_B1, query_BP].set(keys_BP)
        targets_BT = (
            jnp.full((batch_size, T), IGNORE, jnp.int32).at[rows_B1, query_BP].set(values_BP)
        )
        return Batch(inputs_BT.T, targets_BT.T, jnp.full((batch_size,), T, jnp.int32))

    def loss_and_metrics(self, logits_TBC: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        return masked_token_metrics(logits_TBC, batch.targets)


def masked_token_metrics(logits_TBC: jax.Array, targets_TB: jax.Array) -> tuple[jax.Array, Metrics]:
    """Mean cross-entropy and accuracy over the steps whose target is not IGNORE."""
    scored_TB = targets_TB != IGNORE
    labels_TB = jnp.where(scored_TB, targets_TB, 0)
    n = jnp.maximum(scored_TB.sum(), 1)
    loss = jnp.sum(jnp.where(scored_TB, cross_entropy(logits_TBC, labels_TB), 0.0)) / n
    correct_TB = (jnp.argmax(logits_TBC, -1) == labels_TB) & scored_TB
    return loss, {"loss": loss, "accuracy": correct_TB.sum() / n}


def _make(cfg, name: str, random_fillers: bool) -> MQARTask:
    require_positive(cfg, "length")
    T = cfg.length
    if T % 2:
        raise ValueError(f"task.length must be even for {name} (Zoology's generator), got {T}")
    V = positive_or_default(cfg, "vocab_size", DEFAULT_VOCAB)
    if cfg.pairs == 0 and T < PAIRS_PER_STEP:
        raise ValueError(
            f"task.pairs defaults to task.length // {PAIRS_PER_STEP}, which is 0 at "
            f"task.length={T}; set task.pairs in [1, {T // 4}]"
        )
    P = positive_or_default(cfg, "pairs", T // PAIRS_PER_STEP)
    if 4 * P > T:
        raise ValueError(
            f"task.pairs must be in [1, task.length // 4 = {T // 4}] (Zoology: "
            f"4 · pairs <= length, so every key has a query slot), got {P}"
        )
    if V < 2 * P + 2:
        raise ValueError(
            f"task.vocab_size must be at least 2 · task.pairs + 2 = {2 * P + 2} (P distinct keys "
            f"from [1, V//2) and values from [V//2, V)), got {V}"
        )
    return MQARTask(
        TaskSpec(
            name=name,
            length=T,
            seq_len=T,
            input_kind="tokens",
            vocab_size=V,
            output_kind="classes",
            num_classes=V,
            scored="every",
            baseline=mqar_baseline(V),
            solved=Criterion("accuracy", "max", 0.99),
        ),
        pairs=P,
        random_fillers=random_fillers,
    )


@TASKS.register(
    "mqar",
    "Multi-query associative recall (Arora et al. 2023, Zoology Fig. 2): recall the value of "
    "each queried key; filler token 0",
    task_fields=("vocab_size", "pairs"),
)
def make_mqar(cfg) -> MQARTask:
    return _make(cfg, "mqar", random_fillers=False)


@TASKS.register(
    "mqar_noise",
    "MQAR with uniform random filler tokens (Zoology's generator default random_non_queries)",
    task_fields=("vocab_size", "pairs"),
)
def make_mqar_noise(cfg) -> MQARTask:
    return _make(cfg, "mqar_noise", random_fillers=True)
