"""Host-fed batches: a dataset task's K batches per chunk, stacked and prefetched.

The chunk for steps [i, i+K) takes, for every seed s, the task's batches i..i+K-1 of seed s's
stream, stacked to [S, K, ...] and put on the device. While the device runs one chunk, a
background thread prepares the next, so reading and stacking overlap with training.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import jax
import numpy as np

from seqlab.tasks.base import Batch, HostTask


def stack_chunk(task: HostTask, seeds: list[int], start: int, k: int, batch_size: int) -> Batch:
    """Batches start..start+k-1 of every seed's stream, as numpy arrays [S, K, ...]."""
    per_seed = []
    for seed in seeds:
        steps = [task.train_batch(seed, start + i, batch_size) for i in range(k)]
        per_seed.append(Batch(*(np.stack(parts) for parts in zip(*steps, strict=True))))
    return Batch(*(np.stack(parts) for parts in zip(*per_seed, strict=True)))


class Feeder:
    """Prepares the next chunk's batches on a background thread while the current one trains."""

    def __init__(self, task: HostTask, seeds: list[int], batch_size: int):
        self.task, self.seeds, self.batch_size = task, seeds, batch_size
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seqlab-feed")
        self._next: tuple[tuple[int, int], Future] | None = None

    def _load(self, start: int, k: int) -> Batch:
        return jax.device_put(stack_chunk(self.task, self.seeds, start, k, self.batch_size))

    def prefetch(self, start: int, k: int) -> None:
        """Starts preparing the chunk of k steps from `start`."""
        self._next = ((start, k), self._pool.submit(self._load, start, k))

    def get(self, start: int, k: int) -> Batch:
        """The chunk of k steps from `start`: the prefetched one if it is that chunk."""
        if self._next is not None and self._next[0] == (start, k):
            future, self._next = self._next[1], None
            return future.result()
        return self._load(start, k)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
