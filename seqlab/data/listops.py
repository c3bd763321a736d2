"""ListOps as generated for the Long Range Arena (Tay et al. 2020, "Long Range Arena: A
Benchmark for Efficient Transformers"; task from Nangia & Bowman 2018).

The generator follows the authors' `lra_benchmarks/data/listops.py` (google-research/
long-range-arena): a node at depth d < max_depth is an operator with probability 0.25
(`VALUE_P`), else a value 0..9; depth-max_depth nodes are values; an operator is one of MIN,
MAX, MED, SM (sum mod 10) with a number of arguments uniform in 2..max_args; the root has depth
1. A tree's length counts its operators, values and closing brackets; trees with
min_length < length < max_length (exclusive, LRA: 500 and 2000) are kept, duplicates dropped,
and the first train / val / test of them form the splits (LRA: 96,000 / 2,000 / 2,000). MED is
`int(np.median(args))`, i.e. the floored mean of the two middle values for an even count.

Differences from the authors' script, none changing the distribution of kept examples:
- whole forests of trees are drawn level by level with numpy, from
  `np.random.default_rng(seed)`, so the data are reproducible: the full size takes about 35 s
  of CPU (the authors' pure-Python recursion, about 9 minutes on the same machine);
- the root is always an operator: a value root has length 1 and is always rejected;
- a tree whose partial length already reaches max_length stops growing (it is rejected anyway).

Tokens (`TOKENS`): padding 0, the values 0..9 as 1..10, MIN 11, MAX 12, MED 13, SM 14 and the
closing bracket "]" as 15 (vocabulary size 16), in prefix order: "[MAX 2 9 [MIN 4 7 ] 0 ]"
is 12 3 10 11 5 8 15 1 15, so a sequence has exactly its tree's length in tokens (501..1999).
The parentheses of the authors' text form carry no information and are not tokens. LRA's
input pipeline tokenises that text with `tfds.deprecated.text.Tokenizer()` (alphanumeric
tokens only), which also drops "]" and leaves some sequences ambiguous; S4's ListOps loader
(state-spaces/s4, `src/dataloaders/lra.py`) keeps "]" as a token, as here.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from seqlab.data import DataError, import_tfds, prepared_version

NAME, VERSION_STR = "listops", "1.0.0"  # the tfds dataset: DATA_DIR/listops/1.0.0/
SPLITS = ("train", "validation", "test")
OPERATORS = ("MIN", "MAX", "MED", "SM")
VALUE_P = 0.25  # LRA: a node below max_depth is an operator when random() <= VALUE_P
PAD, VALUE_0, OP_0, END = 0, 1, 11, 15
VOCAB_SIZE = 16
TOKENS = ("<pad>", *(str(v) for v in range(10)), *(f"[{op}" for op in OPERATORS), "]")


@dataclass(frozen=True)
class ListOpsSettings:
    """The generation settings; the defaults are LRA's."""

    train: int = 96_000
    val: int = 2_000
    test: int = 2_000
    min_length: int = 500  # kept: min_length < length < max_length
    max_length: int = 2000
    max_depth: int = 10
    max_args: int = 10
    seed: int = 0

    def check(self) -> None:
        for name in ("train", "val", "test"):
            if getattr(self, name) < 1:
                raise ValueError(f"listops: --{name} must be a positive integer")
        if not 1 <= self.min_length < self.max_length - 1:
            raise ValueError(
                "listops: lengths must satisfy 1 <= min_length < max_length - 1, got "
                f"{self.min_length} and {self.max_length}"
            )
        if self.max_depth < 2 or self.max_args < 2:
            raise ValueError("listops: max_depth and max_args must be at least 2")

    @property
    def total(self) -> int:
        return self.train + self.val + self.test

    def as_dict(self) -> dict:
        return asdict(self)


LRA = ListOpsSettings()


@dataclass
class _Level:
    """One depth of a forest: its nodes, children of the previous level's nodes in order."""

    op: np.ndarray  # int8: operator index, or -1 for a value
    value: np.ndarray  # int8: the digit (values); filled bottom-up for operators
    nch: np.ndarray  # int32: number of children (0 for values)
    parent: np.ndarray  # int32: index into the previous level
    tree: np.ndarray  # int32: which tree of the forest

    def take(self, keep: np.ndarray) -> _Level:
        return _Level(*(a[keep] for a in (self.op, self.value, self.nch, self.parent, self.tree)))


def _grow(rng: np.random.Generator, s: ListOpsSettings, n_trees: int) -> tuple[list, np.ndarray]:
    """A forest of `n_trees` operator-rooted trees, level by level; the trees that reach
    max_length stop growing. Returns the levels and each tree's length (valid if < max)."""

    def nodes(n: int, can_be_op: bool, parent, tree) -> _Level:
        is_op = (rng.random(n) <= VALUE_P) if can_be_op else np.zeros(n, bool)
        n_ops = int(is_op.sum())
        op, value, nch = np.full(n, -1, np.int8), np.zeros(n, np.int8), np.zeros(n, np.int32)
        op[is_op] = rng.integers(0, len(OPERATORS), n_ops)
        nch[is_op] = rng.integers(2, s.max_args + 1, n_ops)
        value[~is_op] = rng.integers(0, 10, n - n_ops)
        return _Level(op, value, nch, parent, tree)

    root = _Level(  # always an operator: a value root has length 1 and is rejected
        op=rng.integers(0, len(OPERATORS), n_trees).astype(np.int8),
        value=np.zeros(n_trees, np.int8),
        nch=rng.integers(2, s.max_args + 1, n_trees).astype(np.int32),
        parent=np.zeros(n_trees, np.int32),
        tree=np.arange(n_trees, dtype=np.int32),
    )
    levels, length = [root], np.full(n_trees, 2, np.int64)
    for depth in range(2, s.max_depth + 1):
        prev = levels[-1]
        parent = np.repeat(np.arange(len(prev.op), dtype=np.int32), prev.nch)
        if parent.size == 0:
            break
        level = nodes(parent.size, depth < s.max_depth, parent, prev.tree[parent])
        length += np.bincount(level.tree, minlength=n_trees)  # one token per node,
        length += np.bincount(level.tree[level.op >= 0], minlength=n_trees)  # + its "]"
        levels.append(level.take(length[level.tree] < s.max_length))  # the rest is rejected
    return levels, length


def _compact(levels: list[_Level], keep_tree: np.ndarray) -> list[_Level]:
    """The levels of the kept trees only, parent indices renumbered."""
    out, index = [], None
    for level in levels:
        kept = level.take(keep_tree[level.tree])
        if index is not None:
            kept.parent = index[kept.parent]
        index = np.cumsum(keep_tree[level.tree]) - 1
        out.append(kept)
    return out


def _group_starts(level: _Level) -> np.ndarray:
    """Index in the next level of each node's first child."""
    return (np.cumsum(level.nch) - level.nch).astype(np.int64)


def _evaluate(levels: list[_Level]) -> np.ndarray:
    """Each tree's value, bottom-up, from each operator's count of argument digits."""
    digits = np.arange(10)
    for d in range(len(levels) - 2, -1, -1):
        level, child = levels[d], levels[d + 1]
        is_op = level.op >= 0
        if not is_op.any():
            continue
        op_rank = np.cumsum(is_op) - 1  # children belong to operators only
        counts = np.bincount(
            op_rank[child.parent] * 10 + child.value, minlength=10 * int(op_rank[-1] + 1)
        ).reshape(-1, 10)
        k = level.nch[is_op][:, None]
        below = counts.cumsum(1)
        present = counts > 0
        results = (
            present.argmax(1),  # MIN
            9 - present[:, ::-1].argmax(1),  # MAX
            # MED, int(np.median): the floored mean of the order statistics (k-1)//2 and k//2
            ((below > (k - 1) // 2).argmax(1) + (below > k // 2).argmax(1)) // 2,
            (counts @ digits) % 10,  # SM
        )
        ops = level.op[is_op]
        level.value = level.value.copy()
        level.value[is_op] = np.choose(ops, results)
    return levels[0].value.astype(np.int64)


def _serialise(levels: list[_Level], lengths: np.ndarray) -> np.ndarray:
    """All trees' tokens in prefix order, concatenated (tree i at offsets[i]:offsets[i+1])."""
    sizes = [np.where(level.op >= 0, 2, 1).astype(np.int64) for level in levels]
    for d in range(len(levels) - 2, -1, -1):  # subtree sizes, bottom-up
        sizes[d] += np.bincount(levels[d + 1].parent, sizes[d + 1], minlength=len(sizes[d])).astype(
            np.int64
        )
    out = np.zeros(int(lengths.sum()), np.uint8)
    pos = np.cumsum(lengths) - lengths  # each root at its tree's offset
    for d, level in enumerate(levels):
        is_op = level.op >= 0
        out[pos] = np.where(is_op, OP_0 + level.op, VALUE_0 + level.value)
        out[pos[is_op] + sizes[d][is_op] - 1] = END
        if d + 1 < len(levels):
            child = levels[d + 1]
            cs = np.cumsum(sizes[d + 1]) - sizes[d + 1]  # exclusive, over the whole level
            first = _group_starts(level)[child.parent]
            pos = pos[child.parent] + 1 + cs - cs[first]
    return out


def generate(
    s: ListOpsSettings, progress: Callable[[int], None] | None = None, forest: int = 4096
) -> Iterator[tuple[np.ndarray, int]]:
    """Yields s.total distinct (tokens uint8, label) examples in a fixed order (the seed's)."""
    s.check()
    rng = np.random.default_rng(s.seed)
    seen: set[bytes] = set()
    while len(seen) < s.total:
        levels, length = _grow(rng, s, forest)
        keep = (length > s.min_length) & (length < s.max_length)
        if not keep.any():
            continue
        levels = _compact(levels, keep)
        lengths = length[keep]
        labels = _evaluate(levels)
        tokens = _serialise(levels, lengths)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        before = len(seen)
        for i, label in enumerate(labels):
            example = tokens[offsets[i] : offsets[i + 1]]
            key = example.tobytes()
            if key in seen:
                continue
            seen.add(key)
            yield example, int(label)
            if len(seen) == s.total:
                break
        if progress is not None:
            progress(len(seen) - before)


def to_text(tokens: np.ndarray) -> str:
    """The readable form of a token sequence, e.g. '[MAX 2 9 [MIN 4 7 ] 0 ]'."""
    return " ".join(TOKENS[t] for t in tokens if t != PAD)


@functools.cache
def builder_class() -> type:
    """The tfds builder (defined on first use: tensorflow-datasets is imported lazily)."""
    tfds = import_tfds()

    class Listops(tfds.core.GeneratorBasedBuilder):
        """ListOps with LRA's settings; `settings` overrides them (sizes, length bounds)."""

        name = NAME
        VERSION = tfds.core.Version(VERSION_STR)
        RELEASE_NOTES: ClassVar = {VERSION_STR: "LRA generator; prefix tokens with ']'"}

        def __init__(self, *, settings: ListOpsSettings = LRA, progress=None, **kwargs):
            self.settings, self._progress = settings, progress
            super().__init__(**kwargs)

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                description="ListOps generated with LRA's settings (Tay et al. 2020).",
                features=tfds.features.FeaturesDict(
                    {
                        "tokens": tfds.features.Tensor(
                            shape=(None,), dtype=np.uint8, encoding=tfds.features.Encoding.BYTES
                        ),
                        "label": tfds.features.ClassLabel(num_classes=10),
                    }
                ),
                supervised_keys=("tokens", "label"),
                homepage="https://github.com/google-research/long-range-arena",
                metadata=tfds.core.MetadataDict(
                    settings=self.settings.as_dict(), tokens=list(TOKENS)
                ),
            )

        def _split_generators(self, dl_manager):
            examples = list(generate(self.settings, self._progress))  # one draw for all splits
            s = self.settings
            stops = np.cumsum([s.train, s.val, s.test])
            return {
                split: self._generate_examples(examples[stop - n : stop], stop - n)
                for split, stop, n in zip(SPLITS, stops, (s.train, s.val, s.test), strict=True)
            }

        def _generate_examples(self, examples, first):
            for i, (tokens, label) in enumerate(examples, first):
                yield i, {"tokens": tokens, "label": label}

    return Listops


def read_settings(version_dir: Path) -> dict | None:
    """The settings a prepared build records (its metadata.json), None if it has none."""
    try:
        return json.loads((version_dir / "metadata.json").read_text())["settings"]
    except (OSError, ValueError, KeyError):
        return None


def prepare(
    data_dir: Path, settings: ListOpsSettings = LRA, overwrite: bool = False, progress=True
) -> Path:
    """Generates ListOps into data_dir/listops/1.0.0 (array_record); returns that folder.

    A build with the same settings is reused; one with other settings is an error unless
    `overwrite` (then it is replaced).
    """
    try:
        settings.check()
    except ValueError as e:
        raise DataError(str(e)) from None
    existing = prepared_version(data_dir, NAME)
    if existing is not None:
        if read_settings(existing) == settings.as_dict():
            return existing
        if not overwrite:
            raise DataError(
                f"{existing} holds ListOps built with other settings ({read_settings(existing)});"
                " pass --overwrite to replace it, or choose another --data-dir"
            )
        shutil.rmtree(existing)
    tfds = import_tfds()
    tfds.disable_progress_bar()  # ours counts generated examples; tfds's would add four more
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=settings.total, desc="generating ListOps", unit=" examples")
    builder = builder_class()(
        data_dir=os.fspath(data_dir),
        settings=settings,
        progress=bar.update if bar is not None else None,
        file_format="array_record",
    )
    try:
        builder.download_and_prepare()
    finally:
        if bar is not None:
            bar.close()
    return Path(builder.data_dir)
