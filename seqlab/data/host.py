"""The HostTask machinery shared by dataset tasks: a deterministic training stream over a
random-access split, fixed evaluation batches, and last-step classification metrics.

The training stream of seed s is the epochs e = 0, 1, ... back to back; epoch e visits the
N training records in the order `np.random.default_rng([s, e]).permutation(N)`. Batch i holds
stream positions [i·B, (i+1)·B), so a run resumed at step i reads exactly the batches it would
have read, whatever the chunking. Evaluation batches are the first num_batches·B records of the
held-out split, in stored order (tfds stores records shuffled by a hash of their keys).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:  # seqlab.tasks imports the task modules, which import this one
    from seqlab.tasks.base import Batch, Metrics, TaskSpec


@functools.lru_cache(maxsize=16)
def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    order = np.random.default_rng([seed, epoch]).permutation(n)
    order.flags.writeable = False  # shared by the cache
    return order


def stream_indices(seed: int, index: int, batch_size: int, n: int) -> np.ndarray:
    """The records (indices into n) of batch `index` of seed `seed`'s training stream."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and batch index must be >= 0, got {seed} and {index}")
    positions = index * batch_size + np.arange(batch_size, dtype=np.int64)
    epochs, offsets = np.divmod(positions, n)
    out = np.empty(batch_size, np.int64)
    for e in np.unique(epochs):
        at = epochs == e
        out[at] = epoch_order(seed, int(e), n)[offsets[at]]
    return out


@dataclass(frozen=True)
class View:
    """Records [start, start + size) of a random-access source. Each record is decoded once
    and kept: tfds parses and decodes in Python (an MNIST image ~0.3 ms, its PNG included),
    which would otherwise cost more than a training step (kept: MNIST ~60 MB, ListOps ~130 MB)."""

    source: Any
    start: int
    size: int
    decoded: dict[int, dict] = field(default_factory=dict, compare=False, repr=False)

    def read(self, indices: np.ndarray) -> list[dict]:
        keys = [int(i) for i in indices]
        missing = [i for i in dict.fromkeys(keys) if i not in self.decoded]
        if missing:
            records = self.source.__getitems__([self.start + i for i in missing])
            self.decoded.update(zip(missing, records, strict=True))
        return [self.decoded[i] for i in keys]


def stack_batches(batch: Batch, num_batches: int) -> Batch:
    """A batch of num_batches·B examples as num_batches batches on a leading axis."""
    return batch._replace(
        inputs=np.stack(np.split(batch.inputs, num_batches, axis=1)),  # time-major: batch axis 1
        targets=batch.targets.reshape(num_batches, -1, *batch.targets.shape[1:]),
        lengths=batch.lengths.reshape(num_batches, -1),
    )


class RecordTask:
    """A classification task read from disk. Subclasses open the data (`open_views`: the
    training and held-out views) and turn records into a time-major batch (`to_batch`)."""

    spec: TaskSpec

    def __init__(self, spec: TaskSpec, data_dir: Path):
        self.spec, self.data_dir = spec, data_dir
        self._views: tuple[View, View] | None = None
        self._lock = threading.Lock()
        self._eval_cache: dict[tuple[int, int], Batch] = {}

    def open_views(self) -> tuple[View, View]:
        raise NotImplementedError

    def to_batch(self, records: list[dict]) -> Batch:
        raise NotImplementedError

    def views(self) -> tuple[View, View]:
        """(train, held-out), opened on first use (the feeder thread and eval may race)."""
        with self._lock:
            if self._views is None:
                self._views = self.open_views()
            return self._views

    def train_batch(self, seed: int, index: int, batch_size: int) -> Batch:
        train, _ = self.views()
        return self.to_batch(train.read(stream_indices(seed, index, batch_size, train.size)))

    def eval_batches(self, num_batches: int, batch_size: int) -> Batch:
        key = (num_batches, batch_size)
        if key not in self._eval_cache:
            _, held_out = self.views()
            n = num_batches * batch_size
            if n > held_out.size:
                raise ValueError(
                    f"{self.spec.name}: eval.batches × eval.batch_size = {n} exceeds the "
                    f"{held_out.size} held-out examples in {self.data_dir}"
                )
            self._eval_cache[key] = stack_batches(
                self.to_batch(held_out.read(np.arange(n))), num_batches
            )
        return self._eval_cache[key]

    def loss_and_metrics(self, logits_BC: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        from seqlab.tasks.base import cross_entropy

        loss = cross_entropy(logits_BC, batch.targets).mean()
        accuracy = (jnp.argmax(logits_BC, -1) == batch.targets).mean()
        return loss, {"loss": loss, "accuracy": accuracy}


def class_entropy(counts) -> float:
    """Entropy (nats) of the class frequencies `counts`: the loss of predicting the prior."""
    p = np.asarray(counts, np.float64) / np.sum(counts)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())
