"""Building blocks of sweep files: `product` and `zip` of config overrides.

A part is either a dict `{"section.key": values}` (a scalar counts as one value) or a list of
override dicts (the result of another `product`/`zip`). `product` crosses its parts (and the
keys of a dict part); `zip` pairs them element by element (equal lengths). Both return a list
of flat override dicts, the form `sweep()` returns:

    product({"model.name": ["lstm", "gru"], "task.length": [100, 200]}, {"train.seed": [0, 1]})
    zip({"model.name": ["lstm", "transformer"], "optim.lr": [1e-3, 3e-4]})
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Iterable
from typing import Any

Overrides = dict[str, Any]


def _values(v: Any) -> list:
    return list(v) if isinstance(v, list | tuple | range) else [v]


def _rows(part: dict | Iterable[Overrides], combine) -> list[Overrides]:
    if isinstance(part, dict):
        keys = list(part)
        columns = [_values(part[k]) for k in keys]
        return [dict(builtins.zip(keys, vals, strict=True)) for vals in combine(*columns)]
    rows = [dict(r) for r in part]
    if not all(isinstance(r, dict) for r in rows):
        raise TypeError("a sweep part is a dict of key -> values or a list of override dicts")
    return rows


def _merge(rows: Iterable[Overrides]) -> Overrides:
    out: Overrides = {}
    for row in rows:
        clash = set(out) & set(row)
        if clash:
            raise ValueError(f"sweep parts set the same keys twice: {', '.join(sorted(clash))}")
        out.update(row)
    return out


def _strict_zip(*columns):
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise ValueError(f"zip needs parts of equal length, got lengths {sorted(lengths)}")
    return builtins.zip(*columns, strict=True)


def product(*parts: dict | list[Overrides]) -> list[Overrides]:
    """Every combination of the parts' values (the last part varies fastest)."""
    tables = [_rows(p, itertools.product) for p in parts]
    return [_merge(combo) for combo in itertools.product(*tables)]


def zip(*parts: dict | list[Overrides]) -> list[Overrides]:
    """The parts' values paired element by element; all parts must have the same length."""
    tables = [_rows(p, _strict_zip) for p in parts]
    return [_merge(combo) for combo in _strict_zip(*tables)]
