"""The ListOps generator against an independent evaluator and LRA's recursive sampler."""

import random

import numpy as np
import pytest

from seqlab.data import listops
from seqlab.data.host import class_entropy
from seqlab.data.listops import ListOpsSettings, generate, to_text
from seqlab.tasks.listops import LABEL_ENTROPY

NAMES = {11: "MIN", 12: "MAX", 13: "MED", 14: "SM"}


def parse(tokens):
    """Prefix tokens -> (value, depth, list of argument counts); asserts well-formedness."""
    pos = 0

    def node(depth):
        nonlocal pos
        t = int(tokens[pos])
        pos += 1
        if 1 <= t <= 10:
            return t - 1, depth, []
        assert t in NAMES, f"unexpected token {t} at {pos - 1}"
        args, deepest, counts = [], depth, []
        while int(tokens[pos]) != 15:
            v, d, c = node(depth + 1)
            args.append(v)
            deepest, counts = max(deepest, d), counts + c
            assert pos < len(tokens), "unclosed operator"
        pos += 1
        op = NAMES[t]
        if op == "MIN":
            value = min(args)
        elif op == "MAX":
            value = max(args)
        elif op == "MED":
            value = int(np.median(args))  # LRA's definition
        else:
            value = sum(args) % 10
        return value, deepest, [len(args), *counts]

    value, depth, counts = node(1)
    assert pos == len(tokens), "trailing tokens"
    return value, depth, counts


def tokens_of(text):
    ids = {w: i for i, w in enumerate(listops.TOKENS)}
    return np.array([ids[w] for w in text.split()], np.uint8)


@pytest.mark.parametrize(
    "text, value",
    [
        ("[MAX 2 9 [MIN 4 7 ] 0 ]", 9),
        ("[MIN 3 [MAX 1 0 ] 5 ]", 1),
        ("[MED 1 2 3 4 ]", 2),  # int(np.median) = int(2.5)
        ("[MED 9 0 7 ]", 7),
        ("[SM 8 9 [SM 5 5 ] ]", 7),
    ],
)
def test_the_test_evaluator_on_hand_made_examples(text, value):
    tokens = tokens_of(text)
    assert parse(tokens)[0] == value
    assert to_text(tokens) == text


def test_token_ids_are_the_documented_ones():
    assert listops.TOKENS[0] == "<pad>" and listops.VOCAB_SIZE == len(listops.TOKENS) == 16
    assert list(tokens_of("0 9 [MIN [MAX [MED [SM ]")) == [1, 10, 11, 12, 13, 14, 15]


def test_lra_examples_evaluate_to_their_labels_within_the_limits():
    s = ListOpsSettings(train=300, val=1, test=1)
    examples = list(generate(s))
    assert len(examples) == 302
    assert len({e.tobytes() for e, _ in examples}) == 302  # no duplicates
    depths = []
    for tokens, label in examples:
        assert tokens.dtype == np.uint8 and tokens.min() >= 1 and tokens.max() <= 15
        assert 500 < len(tokens) < 2000
        value, depth, counts = parse(tokens)
        assert value == label
        assert depth <= 10 and all(2 <= k <= 10 for k in counts)
        depths.append(depth)
    assert max(depths) == 10  # the limits bind: deep trees are common at this length


def test_small_limits_bind_and_hold():
    s = ListOpsSettings(train=400, val=1, test=1, min_length=10, max_length=60, max_depth=3,
                        max_args=3, seed=5)  # fmt: skip
    examples = list(generate(s))
    stats = [parse(t) for t, _ in examples]
    assert all(v == label for (v, _, _), (_, label) in zip(stats, examples, strict=True))
    assert all(10 < len(t) < 60 for t, _ in examples)
    assert max(d for _, d, _ in stats) == 3 and max(max(c) for _, _, c in stats) == 3
    assert min(min(c) for _, _, c in stats) == 2
    ops = np.concatenate([t[(t >= 11) & (t <= 14)] for t, _ in examples])
    np.testing.assert_allclose(np.bincount(ops - 11, minlength=4) / ops.size, 0.25, atol=0.03)


def test_generation_is_fixed_by_the_seed():
    s = ListOpsSettings(train=20, val=2, test=2, min_length=10, max_length=100)
    a, b = list(generate(s)), list(generate(s))
    assert all((x == y).all() and u == v for (x, u), (y, v) in zip(a, b, strict=True))
    c = list(generate(ListOpsSettings(**{**s.as_dict(), "seed": 1})))
    assert any(len(x) != len(y) or (x != y).any() for (x, _), (y, _) in zip(a, c, strict=True))


def lra_tree(rng, depth, max_depth=10, max_args=10):
    """LRA's recursive sampler (generate_tree), written again: (prefix tokens, length)."""
    r = rng.random() if depth < max_depth else 1
    if r > 0.25:
        return [1 + rng.choice(range(10))], 1
    out, length = [11 + rng.choice(range(4))], 2
    for _ in range(rng.randint(2, max_args)):
        sub, n = lra_tree(rng, depth + 1, max_depth, max_args)
        out += sub
        length += n
    return [*out, 15], length


def test_distribution_matches_lras_recursive_sampler():
    rng, theirs = random.Random(0), []
    while len(theirs) < 250:
        tokens, length = lra_tree(rng, 1)
        assert length == len(tokens)
        if 500 < length < 2000:
            theirs.append(np.array(tokens))
    ours = list(generate(ListOpsSettings(train=1000, val=1, test=1, seed=3)))
    stats = [
        len,
        lambda t: np.mean(t == 15),
        lambda t: np.mean(t == 13) / np.mean((t >= 11) & (t <= 14)),
    ]
    for stat in stats:  # length, share of operators, share of MED among them
        a = np.array([stat(t) for t in theirs], float)
        b = np.array([stat(t) for t, _ in ours], float)
        se = np.hypot(a.std() / np.sqrt(len(a)), b.std() / np.sqrt(len(b)))
        assert abs(a.mean() - b.mean()) < 4 * se, (a.mean(), b.mean())
    their_labels = np.bincount([parse(t)[0] for t in theirs], minlength=10) / len(theirs)
    our_labels = np.bincount([label for _, label in ours], minlength=10) / len(ours)
    assert np.abs(their_labels - our_labels).max() < 0.08


def test_baseline_is_the_label_entropy():
    labels = [label for _, label in generate(ListOpsSettings(train=3000, val=1, test=1, seed=7))]
    counts = np.bincount(labels, minlength=10)
    assert class_entropy(counts) == pytest.approx(LABEL_ENTROPY, abs=0.03)
    assert counts[0] > 1.5 * counts[1:9].mean() and counts[9] > 1.5 * counts[1:9].mean()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="min_length"):
        list(generate(ListOpsSettings(min_length=100, max_length=50)))
    with pytest.raises(ValueError, match="train"):
        list(generate(ListOpsSettings(train=0)))
