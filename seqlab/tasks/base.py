"""TaskSpec, Batch and the Task protocol shared by every task.

Arrays in a Batch are time-major: ``inputs`` is ``[T, B]`` (tokens) or ``[T, B, D]`` (reals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import optax

Metrics = dict[str, jax.Array]


class Batch(NamedTuple):
    inputs: jax.Array  # [T, B] int32 tokens, or [T, B, D] float32 reals
    targets: jax.Array  # [T, B] (every step), [B] (last step, classes) or [B, D] (regression)
    lengths: jax.Array  # [B] int32: valid steps; a last-step readout reads step lengths-1


@dataclass(frozen=True)
class Criterion:
    """A task counts as solved when `metric` reaches `threshold` ('max': >=, 'min': <=)."""

    metric: str
    mode: Literal["min", "max"]
    threshold: float

    def met(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return value >= self.threshold if self.mode == "max" else value <= self.threshold

    def describe(self) -> str:
        return f"{self.metric} {'>=' if self.mode == 'max' else '<='} {self.threshold:g}"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    length: int  # the task's length parameter T
    seq_len: int  # steps the model sees (the padded maximum for variable-length tasks)
    input_kind: Literal["tokens", "reals"]
    output_kind: Literal["classes", "regression"]
    scored: Literal["every", "last"]
    baseline: float  # loss of the best memoryless predictor
    solved: Criterion
    vocab_size: int | None = None  # tokens
    input_dim: int | None = None  # reals
    num_classes: int | None = None  # classes
    output_dim: int | None = None  # regression
    causal: bool = True  # outputs at step t may depend only on inputs up to t
    min_length: int | None = None  # variable-length tasks: training lengths are min_length..T

    @property
    def out_features(self) -> int:
        return self.num_classes if self.output_kind == "classes" else self.output_dim


class Task(Protocol):
    spec: TaskSpec

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        """A batch drawn on device; pure and jit-able; the same key gives the same batch."""

    def loss_and_metrics(self, outputs: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        """Scalar loss and a dict of scalar metrics (the loss included under 'loss')."""


class HostTask(Protocol):
    """A task read from a dataset on the host: the engine feeds its numpy batches to the
    compiled training chunk (K batches stacked per chunk, prepared while the chunk runs)."""

    spec: TaskSpec

    def train_batch(self, seed: int, index: int, batch_size: int) -> Batch:
        """Batch `index` of seed `seed`'s training stream, as numpy arrays. The same arguments
        give the same batch, so a run resumed at step i continues with batch i."""

    def eval_batches(self, num_batches: int, batch_size: int) -> Batch:
        """Fixed held-out batches stacked on a leading axis, as numpy arrays."""

    def loss_and_metrics(self, outputs: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        """As Task.loss_and_metrics (traced inside the compiled program)."""


def host_fed(task: Task | HostTask) -> bool:
    """Whether the engine feeds the task's batches from the host (it has no on-device sampler)."""
    return not hasattr(task, "sample")


LARGER_IS_BETTER = ("accuracy", "score")  # score: accuracy rescaled so chance is 0


def metric_mode(name: str) -> Literal["min", "max"]:
    """Whether larger values of a metric are better (accuracies and scores; losses, errors)."""
    return "max" if any(word in name for word in LARGER_IS_BETTER) else "min"


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Per-element cross-entropy in nats."""
    return optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)


def require_positive(cfg: Any, *fields: str) -> None:
    for f in fields:
        v = cfg[f]
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"task.{f} must be a positive integer, got {v!r}")


def positive_or_default(cfg, field: str, default: int) -> int:
    """A task field where 0 means "the task's default"; negative or non-integer is an error."""
    value = cfg[field]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(
            f"task.{field} must be a positive integer (0 = the default, {default}), got {value!r}"
        )
    return value or default
