"""Modular arithmetic without brackets (Delétang et al. 2023, "Neural Networks and the Chomsky
Hierarchy"; the regular task, not the context-free "with brackets" one).

Pinned against the authors' code, google-deepmind/neural_networks_chomsky_hierarchy,
tasks/regular/modular_arithmetic.py: an expression alternates numbers, uniform in
{0, ..., m-1}, and operators, uniform over {+, -, *}; it starts and ends with a number, so its
length is odd. Its class is its value mod m (m = `task.modulus`, default 5) under the usual
precedence: products first, then sums (mod 5: 1 + 2 * 3 -> 2, 1 - 1 - 1 -> 4,
0 * 1 + 4 * 3 - 2 -> 0). Tokens as in the authors' code: numbers 0..m-1, then + - * as m, m+1,
m+2; m+3 (their blank `_`) pads.

Length: drawn uniformly in [task.min_length, task.length] (see seqlab/tasks/formal.py), and an
even length is shortened by one, as the authors do for an even requested length. With the
default lengths 1..40 the odd lengths 1..39 are then equally likely; evaluation at an even L
gives every expression L-1 tokens, and lengths can be min_length-1 when min_length is even.

The class marginal is not uniform (a product with a 0 in it is 0): it is computed exactly by
propagating the distribution of the evaluator's state (sum so far, current product) over the
numbers of the expression, and the baseline is its entropy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from seqlab.registry import TASKS
from seqlab.tasks.formal import (
    FormalTask,
    formal_task,
    length_probs,
    mix_over_lengths,
    read_lengths,
    read_modulus,
    valid_steps,
)

PLUS, MINUS, TIMES = 0, 1, 2  # an operator's token is modulus + these (the authors' order)
N_OPERATORS = 3


def odd_length_probs(min_length: int, length: int) -> np.ndarray:
    """P(expression length = l) when an even drawn length is shortened by one."""
    drawn = length_probs(min_length, length)
    p = np.zeros_like(drawn)
    for n in range(min_length, length + 1):
        p[n - (n % 2 == 0)] += drawn[n]
    return p


def evaluate(tokens_TB: jax.Array, lengths_B: jax.Array, modulus: int) -> jax.Array:
    """Values mod `modulus` of the expressions in the first lengths_B steps of each column.

    Reads left to right with the state (sum of finished products, current product, pending
    operator): `*` multiplies the current product; `+` / `-` add it to the sum and start a new
    product with the next number (negated after `-`).
    """
    m = modulus
    valid_TB = valid_steps(tokens_TB.shape[0], lengths_B)

    def step(state, x):
        total, product, op = state
        token, valid = x
        is_number = token < m
        signed = jnp.where(op == m + MINUS, -token, token) % m
        new_product = jnp.where(op == m + TIMES, (product * token) % m, signed)
        new_total = jnp.where(op == m + TIMES, total, (total + product) % m)
        take = valid & is_number
        total = jnp.where(take, new_total, total)
        product = jnp.where(take, new_product, product)
        op = jnp.where(valid & ~is_number, token, op)
        return (total, product, op), None

    zeros = jnp.zeros(tokens_TB.shape[1], jnp.int32)
    init = (zeros, zeros, zeros + m + PLUS)  # "0 +" before the first number
    (total, product, _), _ = jax.lax.scan(step, init, (tokens_TB, valid_TB))
    return (total + product) % m


def value_marginals(max_length: int, modulus: int) -> list[np.ndarray]:
    """P(value | length l) for l = 0..max_length (zeros at even l), by propagating the joint
    distribution of (sum so far, current product) one (operator, number) pair at a time."""
    m = modulus
    sums = (np.arange(m)[:, None] + np.arange(m)[None, :]) % m  # [sum, product] -> sum + product
    # times[p, q] = P(p * n = q mod m) for n uniform
    times = np.zeros((m, m))
    for p in range(m):
        for n in range(m):
            times[p, (p * n) % m] += 1 / m
    state = np.zeros((m, m))
    state[0, :] = 1 / m  # after the first number: nothing summed, product uniform
    out = [np.zeros(m) for _ in range(max_length + 1)]
    for length in range(1, max_length + 1, 2):
        out[length] = np.bincount(sums.ravel(), weights=state.ravel(), minlength=m)
        # + or - (2 in 3): the product joins the sum; the new product, +-n, is uniform
        added = np.outer(out[length], np.full(m, 1 / m))
        multiplied = state @ times  # * (1 in 3): the product is multiplied by n
        state = (2 * added + multiplied) / N_OPERATORS
    return out


@TASKS.register(
    "modular_arithmetic",
    "Modular arithmetic (Delétang et al. 2023): value mod task.modulus of an expression of "
    "numbers and + - * (products first); odd variable length",
    task_fields=("min_length", "modulus"),
)
def make_modular_arithmetic(cfg) -> FormalTask:
    lo, T = read_lengths(cfg)
    m = read_modulus(cfg)

    def generate(key, lengths_B, T):
        k_num, k_op = jax.random.split(key)
        shape = (T, lengths_B.shape[0])
        numbers_TB = jax.random.randint(k_num, shape, 0, m, jnp.int32)
        ops_TB = m + jax.random.randint(k_op, shape, 0, N_OPERATORS, jnp.int32)
        tokens_TB = jnp.where(jnp.arange(T)[:, None] % 2 == 0, numbers_TB, ops_TB)
        return tokens_TB, evaluate(tokens_TB, lengths_B, m)

    per_length = value_marginals(T, m)
    return formal_task(
        "modular_arithmetic", T, lo, symbols=m + N_OPERATORS, num_classes=m, generate=generate,
        marginal=mix_over_lengths(odd_length_probs(lo, T), lambda n: per_length[n]),
        odd_lengths=True,
    )  # fmt: skip
