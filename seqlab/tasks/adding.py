"""The adding problem, Arjovsky et al. 2016 / Le et al. 2015 variant ("adding").

Each step is (value ~ U[0, 1], marker). One step in each half of the sequence is marked; the
target is the sum of the two marked values, read at the last step; the loss is MSE. Always
predicting 1 gives MSE = Var(U1 + U2) = 1/6.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from seqlab.registry import TASKS
from seqlab.tasks.base import Batch, Criterion, Metrics, TaskSpec, require_positive


def regression_metrics(pred_B: jax.Array, target_B: jax.Array) -> tuple[jax.Array, Metrics]:
    mse = jnp.mean(jnp.square(pred_B - target_B))
    return mse, {"loss": mse, "mse": mse}


@dataclass(frozen=True)
class AddingTask:
    spec: TaskSpec

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T = self.spec.length
        half = T // 2
        k_val, k_first, k_second = jax.random.split(key, 3)
        values_TB = jax.random.uniform(k_val, (T, batch_size))
        first_B = jax.random.randint(k_first, (batch_size,), 0, half)
        second_B = jax.random.randint(k_second, (batch_size,), half, T)
        steps_T1 = jnp.arange(T)[:, None]
        markers_TB = ((steps_T1 == first_B) | (steps_T1 == second_B)).astype(jnp.float32)
        target_B = jnp.sum(values_TB * markers_TB, axis=0)
        inputs_TBD = jnp.stack([values_TB, markers_TB], axis=-1)
        lengths = jnp.full((batch_size,), T, jnp.int32)
        return Batch(inputs_TBD, target_B[:, None], lengths)

    def loss_and_metrics(self, pred_BD: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        return regression_metrics(pred_BD, batch.targets)


@TASKS.register("adding", "Adding problem (Arjovsky 2016 / Le 2015): sum two marked U[0,1] values")
def make_adding(cfg) -> AddingTask:
    require_positive(cfg, "length")
    if cfg.length < 2:
        raise ValueError(f"task.length must be at least 2 for adding, got {cfg.length}")
    return AddingTask(
        TaskSpec(
            name="adding",
            length=cfg.length,
            seq_len=cfg.length,
            input_kind="reals",
            input_dim=2,
            output_kind="regression",
            output_dim=1,
            scored="last",
            causal=False,  # one output, after the whole sequence
            baseline=1 / 6,
            solved=Criterion("mse", "min", 0.01),
        )
    )
