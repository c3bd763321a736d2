"""Sequential and permuted MNIST ("smnist", "psmnist"; Le, Jaitly & Hinton 2015), read from
tensorflow-datasets' MNIST in array_record format (`seqlab.data.mnist`).

An image is read one pixel a step, row by row (step t = 28·row + column), as a real in
[0, 1] (byte / 255, no normalisation, as in S4's loader): 784 steps, input_dim 1; the 10-way
label is read at the last step. psmnist shows step t the pixel perm[t] of the row-major
image, for a fixed permutation named by task.permutation:
- "random" (default): `np.random.default_rng(0).permutation(784)`;
- "bit_reversal": S4's (state-spaces/s4, `src/utils/permutations.py`): the indices 0..1023
  with their 10 bits reversed, in order, keeping those below 784.
Splits: training uses the first 50,000 records of tfds's train split, evaluation the last
10,000 (records in tfds's stored order; for a smaller split, its last sixth); the test split is
not read.
"""

from __future__ import annotations

import numpy as np

from seqlab.data import mnist as data
from seqlab.data import open_dataset, resolve_data_dir
from seqlab.data.host import RecordTask, View, class_entropy
from seqlab.registry import TASKS
from seqlab.tasks.base import Batch, Criterion, TaskSpec

PIXELS = 784
VALIDATION = 10_000
# Label counts of MNIST's 60,000 training images (LeCun et al.): the memoryless baseline is
# the entropy of these frequencies, 2.3010 nats (log 10 = 2.3026).
TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)


def bit_reversal_permutation(n: int = PIXELS) -> np.ndarray:
    bits = max(1, (n - 1).bit_length())
    reversed_ = np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(1 << bits)])
    return reversed_[reversed_ < n]


PERMUTATIONS = {
    "random": lambda: np.random.default_rng(0).permutation(PIXELS),
    "bit_reversal": bit_reversal_permutation,
}


def held_out_size(n: int) -> int:
    return min(VALIDATION, n // 6)


class MnistTask(RecordTask):
    def __init__(self, spec: TaskSpec, data_dir, permutation: np.ndarray | None):
        super().__init__(spec, data_dir)
        self.permutation = permutation

    def open_views(self) -> tuple[View, View]:
        data.require_prepared(self.data_dir)
        train = open_dataset(data.NAME, self.data_dir)["train"]
        n_val = held_out_size(len(train))
        return View(train, 0, len(train) - n_val), View(train, len(train) - n_val, n_val)

    def to_batch(self, records: list[dict]) -> Batch:
        pixels_BP = np.stack([r["image"].reshape(PIXELS) for r in records])
        if self.permutation is not None:
            pixels_BP = pixels_BP[:, self.permutation]
        inputs_TB1 = (pixels_BP.T.astype(np.float32) / 255.0)[:, :, None]
        targets = np.array([r["label"] for r in records], np.int32)
        return Batch(inputs_TB1, targets, np.full(len(records), PIXELS, np.int32))


def _make(name: str, cfg, permutation: np.ndarray | None, threshold: float) -> MnistTask:
    if cfg.length != PIXELS:
        raise ValueError(
            f"task.length must be {PIXELS} for {name} (28x28 pixels, one a step), got {cfg.length}"
        )
    spec = TaskSpec(
        name=name,
        length=PIXELS,
        seq_len=PIXELS,
        input_kind="reals",
        input_dim=1,
        output_kind="classes",
        num_classes=10,
        scored="last",
        causal=False,  # one output, after the whole sequence
        baseline=class_entropy(TRAIN_LABEL_COUNTS),
        solved=Criterion("accuracy", "max", threshold),
    )
    return MnistTask(spec, resolve_data_dir(cfg.data_dir), permutation)


# "Solved" thresholds are seqlab's, about where a tuned LSTM lands (Arjovsky et al. 2016
# report 98.2% on smnist and 88.0% on psmnist for theirs).
@TASKS.register(
    "smnist",
    "Sequential MNIST: 784 pixels one a step, 10 classes (data: tfds mnist)",
    task_fields=("data_dir",),
)
def make_smnist(cfg) -> MnistTask:
    return _make("smnist", cfg, None, 0.98)


@TASKS.register(
    "psmnist",
    "Permuted sequential MNIST: a fixed pixel permutation (task.permutation: random | "
    "bit_reversal), 10 classes (data: tfds mnist)",
    task_fields=("data_dir", "permutation"),
)
def make_psmnist(cfg) -> MnistTask:
    name = cfg.permutation or "random"
    if name not in PERMUTATIONS:
        raise ValueError(
            f"task.permutation is {cfg.permutation!r}; valid choices: {', '.join(PERMUTATIONS)}"
        )
    return _make("psmnist", cfg, PERMUTATIONS[name](), 0.9)
