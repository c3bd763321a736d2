"""Regular-language tasks of Delétang et al. 2023, "Neural Networks and the Chomsky Hierarchy"
(ICLR 2023), with the shared machinery for variable-length classification of a whole string.

Each string is a sequence of uniformly random symbols; its class is read at its last step.
Definitions pinned against the authors' code, google-deepmind/neural_networks_chomsky_hierarchy,
tasks/regular/{parity_check,even_pairs,cycle_navigation}.py:

- parity: bits 0/1; class = number of 1s mod 2.
- even_pairs: bits 0/1; class = number of unequal neighbours ("01" or "10") mod 2, i.e. whether
  the first and last bits differ (a length-1 string has class 0).
- cycle_navigation: actions 0/1/2 = step left/stay/step right on a cycle of `task.modulus`
  positions (default 5, the paper's) starting at 0; class = final position, sum(a - 1) mod m.
- modular_arithmetic: in seqlab/tasks/modular_arithmetic.py.

Lengths: the authors draw one length a batch, uniform in 1..40; here every sequence draws its
own length, uniform in [task.min_length (0 = 1), task.length]. Batches are time-major [T, B]
with T = task.length; steps at or beyond a sequence's length hold the padding token, and the
model's output is read at step lengths-1. Evaluation at length L uses min_length = length = L.

Metrics: cross-entropy, accuracy, and `score`, accuracy rescaled so that chance is 0 and perfect
is 1, as the xLSTM paper reports these tasks (Beck et al. 2024, App. B.1.1; Delétang et al.'s
experiments/example.py reports plain accuracy averaged over the test lengths). Chance is the
accuracy of always answering the most frequent class under the exact class marginal at this
length distribution: the best a model that ignores its input can do, so score 0 means nothing
learned from the input. Uniform guessing, 1/C, gives the same chance for parity, for even_pairs
at lengths >= 2, and (modulus 5) within 1e-9 for cycle_navigation and modular_arithmetic at
lengths >= 64; at the training lengths 1..40 their chance is 0.5125 (even_pairs), 0.21 and 0.206
rather than 1/C. TaskSpec.baseline is the entropy of that marginal: the cross-entropy of the
best memoryless predictor. Note: summary.json's best `score` is right only once
seqlab.tasks.base.metric_mode counts 'score' as larger-is-better.

Solved: score >= 0.9 (accuracy 0.95 on parity) on the held-out set drawn like the training data
(lengths 1..40 in configs/formal.py): the task is learnt at the lengths it was taught, short of
perfect; whether it generalises is what the evaluations at `eval.lengths` measure, separately.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from seqlab.registry import TASKS
from seqlab.tasks.base import Batch, Criterion, Metrics, TaskSpec, cross_entropy, require_positive

DEFAULT_MIN_LENGTH = 1
DEFAULT_MODULUS = 5  # Delétang et al.: modular arithmetic mod 5, a cycle of length 5
SOLVED_SCORE = 0.9

# (key, lengths [B], T) -> (tokens [T, B], class [B]); tokens beyond a length are overwritten
Generator = Callable[[jax.Array, jax.Array, int], tuple[jax.Array, jax.Array]]


# ---- configuration --------------------------------------------------------------------------


def read_lengths(cfg) -> tuple[int, int]:
    """(min_length, length) from the task config; ValueError naming the field if invalid."""
    require_positive(cfg, "length")
    v = cfg.min_length
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= cfg.length:
        raise ValueError(
            f"task.min_length must be an integer in [1, task.length={cfg.length}] "
            f"(0 = {DEFAULT_MIN_LENGTH}), got {v!r}"
        )
    return v or DEFAULT_MIN_LENGTH, cfg.length


def read_modulus(cfg) -> int:
    v = cfg.modulus
    if not isinstance(v, int) or isinstance(v, bool) or not (v == 0 or v >= 2):
        raise ValueError(f"task.modulus must be an integer >= 2 (0 = {DEFAULT_MODULUS}), got {v!r}")
    return v or DEFAULT_MODULUS


# ---- lengths, padding, class marginals -------------------------------------------------------


def length_probs(min_length: int, length: int) -> np.ndarray:
    """P(length = l) for l = 0..length: uniform on [min_length, length]."""
    p = np.zeros(length + 1)
    p[min_length:] = 1 / (length - min_length + 1)
    return p


def uniform_lengths(key: jax.Array, batch_size: int, min_length: int, length: int) -> jax.Array:
    return jax.random.randint(key, (batch_size,), min_length, length + 1, jnp.int32)


def valid_steps(T: int, lengths_B: jax.Array) -> jax.Array:
    """[T, B] bool: the steps that belong to each sequence."""
    return jnp.arange(T)[:, None] < lengths_B


def pad(tokens_TB: jax.Array, lengths_B: jax.Array, pad_token: int) -> jax.Array:
    return jnp.where(valid_steps(tokens_TB.shape[0], lengths_B), tokens_TB, pad_token)


def mix_over_lengths(p_len: np.ndarray, per_length: Callable[[int], np.ndarray]) -> np.ndarray:
    """Class marginal: sum over l of P(length = l) * P(class | length = l)."""
    return sum(p * per_length(n) for n, p in enumerate(p_len) if p > 0)


def entropy(p: np.ndarray) -> float:
    p = np.asarray(p, np.float64)
    return float(-np.sum(p[p > 0] * np.log(p[p > 0])))


def rescaled_accuracy(accuracy, chance: float):
    """0 at chance, 1 at perfect accuracy (negative below chance)."""
    return (accuracy - chance) / (1 - chance)


# ---- the task --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormalTask:
    spec: TaskSpec
    min_length: int
    pad_token: int
    generate: Generator
    marginal: tuple[float, ...]  # exact P(class) at this length distribution
    odd_lengths: bool = False  # an even drawn length is shortened by one (modular arithmetic)

    @property
    def chance(self) -> float:
        return max(self.marginal)

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        T = self.spec.seq_len
        k_len, k_tok = jax.random.split(key)
        lengths_B = uniform_lengths(k_len, batch_size, self.min_length, T)
        if self.odd_lengths:
            lengths_B = lengths_B - (lengths_B % 2 == 0)
        tokens_TB, targets_B = self.generate(k_tok, lengths_B, T)
        return Batch(pad(tokens_TB, lengths_B, self.pad_token), targets_B, lengths_B)

    def loss_and_metrics(self, logits_BC: jax.Array, batch: Batch) -> tuple[jax.Array, Metrics]:
        loss = cross_entropy(logits_BC, batch.targets).mean()
        accuracy = (jnp.argmax(logits_BC, -1) == batch.targets).mean()
        score = rescaled_accuracy(accuracy, self.chance)
        return loss, {"loss": loss, "accuracy": accuracy, "score": score}


def formal_task(
    name: str,
    length: int,
    min_length: int,
    *,
    symbols: int,
    num_classes: int,
    generate: Generator,
    marginal: np.ndarray,
    odd_lengths: bool = False,
) -> FormalTask:
    """A FormalTask over `symbols` input symbols 0..symbols-1, padded with token `symbols`."""
    marginal = tuple(float(p) for p in marginal)
    if not math.isclose(sum(marginal), 1.0, abs_tol=1e-9):
        raise AssertionError(f"{name}: class marginal sums to {sum(marginal)}")
    if max(marginal) > 1 - 1e-12:
        raise ValueError(
            f"task.length={length} is too short for {name}: every string has the same class"
        )
    spec = TaskSpec(
        name=name,
        length=length,
        seq_len=length,
        input_kind="tokens",
        vocab_size=symbols + 1,
        output_kind="classes",
        num_classes=num_classes,
        scored="last",
        causal=False,  # one output, after the whole string
        baseline=entropy(marginal),
        solved=Criterion("score", "max", SOLVED_SCORE),
        min_length=min_length if min_length < length else None,
    )
    return FormalTask(spec, min_length, symbols, generate, marginal, odd_lengths)


# ---- parity, even pairs, cycle navigation ----------------------------------------------------


def parity_labels(bits_TB: jax.Array, lengths_B: jax.Array) -> jax.Array:
    valid = valid_steps(bits_TB.shape[0], lengths_B)
    return jnp.sum(jnp.where(valid, bits_TB, 0), axis=0) % 2


def even_pairs_labels(bits_TB: jax.Array, lengths_B: jax.Array) -> jax.Array:
    valid = valid_steps(bits_TB.shape[0], lengths_B)
    unequal = (bits_TB[1:] != bits_TB[:-1]) & valid[1:]  # pair (t-1, t) lies inside the string
    return jnp.sum(unequal, axis=0) % 2


def cycle_labels(actions_TB: jax.Array, lengths_B: jax.Array, modulus: int) -> jax.Array:
    valid = valid_steps(actions_TB.shape[0], lengths_B)
    return jnp.sum(jnp.where(valid, actions_TB - 1, 0), axis=0) % modulus


def _uniform_symbols(key, lengths_B, T, symbols):
    return jax.random.randint(key, (T, lengths_B.shape[0]), 0, symbols, jnp.int32)


def _bits_task(labels: Callable) -> Generator:
    def generate(key, lengths_B, T):
        bits_TB = _uniform_symbols(key, lengths_B, T, 2)
        return bits_TB, labels(bits_TB, lengths_B).astype(jnp.int32)

    return generate


def cycle_marginal(p_len: np.ndarray, modulus: int) -> np.ndarray:
    """P(final position) by propagating the position distribution one uniform step at a time."""
    dists = [np.eye(modulus)[0]]
    for _ in range(1, len(p_len)):
        d = dists[-1]
        dists.append((np.roll(d, -1) + d + np.roll(d, 1)) / 3)
    return mix_over_lengths(p_len, lambda n: dists[n])


@TASKS.register(
    "parity",
    "Parity (Delétang et al. 2023): is the number of 1s in a bit string odd; variable length",
    task_fields=("min_length",),
)
def make_parity(cfg) -> FormalTask:
    lo, T = read_lengths(cfg)
    return formal_task(
        "parity", T, lo, symbols=2, num_classes=2, generate=_bits_task(parity_labels),
        marginal=np.array([0.5, 0.5]),  # any string of length >= 1: its last bit decides
    )  # fmt: skip


@TASKS.register(
    "even_pairs",
    "Even pairs (Delétang et al. 2023): is the number of 01 and 10 pairs odd; variable length",
    task_fields=("min_length",),
)
def make_even_pairs(cfg) -> FormalTask:
    lo, T = read_lengths(cfg)
    p_len = length_probs(lo, T)
    p_odd = 0.5 * p_len[2:].sum()  # length 1: no pairs, class 0; longer: the last bit decides
    return formal_task(
        "even_pairs", T, lo, symbols=2, num_classes=2, generate=_bits_task(even_pairs_labels),
        marginal=np.array([1 - p_odd, p_odd]),
    )  # fmt: skip


@TASKS.register(
    "cycle_navigation",
    "Cycle navigation (Delétang et al. 2023): final position after left/stay/right moves "
    "on a cycle of task.modulus positions; variable length",
    task_fields=("min_length", "modulus"),
)
def make_cycle_navigation(cfg) -> FormalTask:
    lo, T = read_lengths(cfg)
    m = read_modulus(cfg)

    def generate(key, lengths_B, T):
        actions_TB = _uniform_symbols(key, lengths_B, T, 3)
        return actions_TB, cycle_labels(actions_TB, lengths_B, m).astype(jnp.int32)

    return formal_task(
        "cycle_navigation", T, lo, symbols=3, num_classes=m, generate=generate,
        marginal=cycle_marginal(length_probs(lo, T), m),
    )  # fmt: skip
