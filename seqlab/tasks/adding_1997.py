"""The adding problem of Hochreiter & Schmidhuber 1997, Experiment 4 ("adding_1997").

Each step is (value ~ U[-1, 1], marker in {-1, 0, 1}); the length is random in [T, T + T/10].
X1 is marked among the first 10 steps; X2 is one of the first T/2 - 1 still-unmarked steps.
The first and last steps carry marker -1. The paper: "in the rare case where the first pair of
the sequence gets marked, we set X1 to zero" -- we read this as: the first step keeps marker -1
and a value chosen there does not count (X = 0); this applies to X2 too, which can land there.
Target at the last step: 0.5 + (X1 + X2) / 4. A sequence is correct when |error| < 0.04.
Sequences are left-aligned and zero-padded to T + T//10 steps; the output is read at each
sequence's own last step, so a causal model never sees the padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from seqlab.registry import TASKS
from seqlab.tasks.adding import regression_metrics
from seqlab.tasks.base import Batch, Criterion, Metrics, TaskSpec, require_positive

TOLERANCE = 0.04  # Hochreiter & Schmidhuber 1997: "absolute error at sequence end below 0.04"
X1_WINDOW = 10


def adding_1997_baseline(length: int) -> float:
    """MSE of always predicting 0.5: (E[X1^2] + E[X2^2]) / 16 under the sampling above."""
    x2_candidates = length // 2 - 1
    p_x1_zero = 1 / X1_WINDOW
    p_x2_zero = (1 - p_x1_zero) / x2_candidates  # j = 0 lands on step 0 unless X1 holds it
    return ((1 - p_x1_zero) / 3 + (1 - p_x2_zero) / 3) / 16


@dataclass(frozen=True)
class Adding1997Task:
    spec: TaskSpec

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T, T_max = self.spec.length, self.spec.seq_len
        k_len, k_val, k_x1, k_x2 = jax.random.split(key, 4)
        lengths_B = jax.random.randint(k_len, (batch_size,), T, T_max + 1, jnp.int32)
        steps_T1 = jnp.arange(T_max)[:, None]
        valid_TB = steps_T1 < lengths_B
        values_TB = jnp.where(
            valid_TB, jax.random.uniform(k_val, (T_max, batch_size), minval=-1.0), 0.0
        )
        x1_B = jax.random.randint(k_x1, (batch_size,), 0, X1_WINDOW)
        j_B = jax.random.randint(k_x2, (batch_size,), 0, T // 2 - 1)
        x2_B = j_B + (j_B >= x1_B)  # the j-th still-unmarked step
        marked_TB = ((steps_T1 == x1_B) | (steps_T1 == x2_B)) & (steps_T1 > 0)
        ends_TB = (steps_T1 == 0) | (steps_T1 == lengths_B - 1)
        markers_TB = jnp.where(marked_TB, 1.0, jnp.where(ends_TB, -1.0, 0.0))
        target_B = 0.5 + jnp.sum(values_TB * marked_TB, axis=0) / 4
        inputs_TBD = jnp.stack([values_TB, markers_TB], axis=-1)
        return Batch(inputs_TBD, target_B[:, None], lengths_B)

    def loss_and_metrics(self, pred_BD: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        loss, metrics = regression_metrics(pred_BD, batch.targets)
        correct = jnp.abs(pred_BD - batch.targets)[:, 0] < TOLERANCE
        return loss, {**metrics, "accuracy": correct.mean()}


@TASKS.register(
    "adding_1997",
    "Adding problem (Hochreiter & Schmidhuber 1997, Exp. 4): variable length, |error| < 0.04",
)
def make_adding_1997(cfg) -> Adding1997Task:
    require_positive(cfg, "length")
    if cfg.length < 24:
        # X1 lies in the first 10 steps and X2 among the first T/2 - 1: the paper uses T >= 100.
        raise ValueError(f"task.length must be at least 24 for adding_1997, got {cfg.length}")
    T = cfg.length
    return Adding1997Task(
        TaskSpec(
            name="adding_1997",
            length=T,
            seq_len=T + T // 10,
            input_kind="reals",
            input_dim=2,
            output_kind="regression",
            output_dim=1,
            scored="last",
            causal=False,  # one output, after the whole sequence
            baseline=adding_1997_baseline(T),
            # The paper stops when the 2000 most recent sequences were all correct; we ask
            # the same of the held-out evaluation set (configs use >= 2000 sequences).
            solved=Criterion("accuracy", "max", 1.0),
        )
    )
