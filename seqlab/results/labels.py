"""Series labels that explain themselves: a model, and only the settings that tell its runs apart.

A figure draws a line per *series*: the runs of one model with one value of every setting that
varies among the runs shown. Its label is the model's name, plus each setting that

- varies among the runs shown (a varied `cfg.*` or `built.*` column, `seqlab.results`' group
  keys),
- applies to that model (`built.heads` is NaN for a model without heads; `model.mlstm_form`
  applies to the mLSTM families only: `applies`), and
- takes more than one value among that model's runs at one value of the figure's axis (the
  sequence length, or the swept setting of a hyper-parameter view): a setting that only
  changes with T, or is fixed per model (the block models' learning rate in the demo), does
  not tell two lines apart. It is named in the hover text and the tables instead (`settings`).

Values are written as a person writes them: whole numbers without ".0", floats in %g form,
`true`/`false`; a missing value is never written (no `nan`, `None`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from seqlab.registry import split_name
from seqlab.results.aggregate import BASE_KEYS, group_keys

if TYPE_CHECKING:
    import pandas as pd

# model.* fields that only some families read (seqlab/models/*.py; config.py's comments), by
# family. Fields the registry describes per family (size_fields, inits, ...) are read from it.
FAMILY_FIELDS = {
    "mlstm_form": ("mlstm", "xlstm"),
    "chunk_size": ("mlstm", "xlstm", "lru", "mingru", "minlstm", "hawk", "s5", "mamba", "mamba2"),
    "proj_factor": ("mlstm", "xlstm", "mamba", "mamba2"),
    "conv_kernel": ("mlstm", "xlstm", "hawk", "mamba", "mamba2"),
    "ffn_factor": ("xlstm",),
    "forget_gate": ("slstm", "xlstm"),
    "irnn": ("rnn",),
    "causal": ("transformer",),
    "mlp_ratio": ("transformer",),
    "attention_block": ("transformer",),
    "state_dim": ("lru", "hawk", "s5", "mamba", "mamba2"),
    "r_min": ("lru",),
    "r_max": ("lru",),
    "max_phase": ("lru",),
}
SIZE_FIELDS = ("heads", "positions")  # registry Entry.size_fields


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: Any) -> str:
    """A setting's value as a person writes it; "–" for a missing one."""
    if missing(value):
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if value == "":
        return '""'
    return str(value)


def short(key: str, keys: list[str] | tuple[str, ...] = ()) -> str:
    """`cfg.optim.lr` -> `lr`, `built.heads` -> `heads`; `train.batch_size` where another of
    `keys` also ends in `batch_size`."""
    name = key.rsplit(".", 1)[-1]
    if any(k != key and k.rsplit(".", 1)[-1] == name for k in keys):
        return key.split(".", 1)[-1]
    return name


def _entry(model: str):
    import seqlab.models  # noqa: F401  (registers the families; imported only when asked)
    from seqlab.registry import MODELS

    try:
        return MODELS.entry(model)
    except KeyError:
        return None


def applies(model: Any, key: str, value: Any = 0) -> bool:
    """Whether setting `key` (a frame column) with `value` means something for `model`.

    A missing value never applies (`built.heads` of an LSTM); a `cfg.model.*` field applies to
    the families that read it; an unknown model or field is taken to apply.
    """
    if missing(value):
        return False
    if not key.startswith("cfg.model."):
        return True
    field = key.removeprefix("cfg.model.")
    if field in FAMILY_FIELDS:
        return split_name(str(model))[0] in FAMILY_FIELDS[field]
    known = (*SIZE_FIELDS, "init", "learn_initial_state", "output_peephole", "backward",
             "bidirectional", "merge", "residual", "norm", "scan_form")  # fmt: skip
    if field not in known:
        return True
    entry = _entry(str(model))
    if entry is None:
        return True
    return {
        "init": len(entry.inits) > 1,
        "learn_initial_state": entry.learns_initial_state,
        "output_peephole": len(entry.output_peepholes) > 1,
        "backward": entry.hand_backward,
        "bidirectional": entry.recurrent,
        "merge": entry.recurrent,
        "residual": not entry.blocks,
        "norm": not entry.blocks,
        "scan_form": len(getattr(entry, "scan_forms", ())) > 1,
    }.get(field, field in entry.size_fields)


def varied_keys(runs: pd.DataFrame) -> list[str]:
    """The setting columns, beyond task, length and model, whose value varies among `runs`."""
    return [k for k in group_keys(runs) if k not in BASE_KEYS]


def _shown(value: Any, model: Any, key: str) -> str | None:
    return format_value(value) if applies(model, key, value) else None


def series_labels(runs: pd.DataFrame, axis: str = "length") -> dict[str, str]:
    """Run path -> its series label among `runs` (the runs one or several figures show), for
    figures whose x axis is column `axis` (see the module docstring)."""
    first = runs.drop_duplicates("path")
    keys = [k for k in varied_keys(first) if k != axis]
    labels = {}
    for model, mine in first.groupby("model", sort=False, dropna=False):
        named = []
        for key in keys:
            values = mine.assign(_v=[_shown(v, model, key) for v in mine[key]])
            groups = values.groupby(axis, dropna=False)["_v"] if axis in mine else [(0, values)]
            if any(len(set(v)) > 1 for _, v in groups):
                named.append(key)
        for path, row in mine.set_index("path").iterrows():
            parts = [
                f"{short(k, keys)}={format_value(row[k])}"
                for k in named
                if applies(model, k, row[k])
            ]
            labels[path] = f"{model} ({', '.join(parts)})" if parts else str(model)
    return labels


def settings(runs: pd.DataFrame) -> dict[str, str]:
    """Run path -> every varied setting that applies to its model, e.g. "heads=2, lr=0.003"
    (hover texts and tables); "" for a run with none."""
    first = runs.drop_duplicates("path")
    keys = varied_keys(first)
    out = {}
    for path, row in first.set_index("path").iterrows():
        parts = [
            f"{short(k, keys)}={format_value(row[k])}"
            for k in keys
            if applies(row["model"], k, row[k])
        ]
        out[path] = ", ".join(parts)
    return out
