"""Datasets on disk, written and read by tensorflow-datasets without TensorFlow.

Builders write the `array_record` format; tasks read it with `tfds.data_source` (random
access). A task finds its data in `task.data_dir`, by default `$SEQLAB_DATA_DIR`, else
`~/tensorflow_datasets` (tfds's own default). tensorflow-datasets is an optional dependency
(`pip install 'seqlab[data]'`), imported only when data are read or prepared.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError

DATA_DIR_ENV = "SEQLAB_DATA_DIR"


class DataError(ConfigError):
    """A dataset, or the library to read it, is missing: one line that says how to get it."""


def resolve_data_dir(configured: str = "") -> Path:
    """`task.data_dir` if set, else $SEQLAB_DATA_DIR, else ~/tensorflow_datasets."""
    chosen = configured or os.environ.get(DATA_DIR_ENV) or "~/tensorflow_datasets"
    return Path(chosen).expanduser()


def import_tfds() -> Any:
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise DataError(
            f"reading datasets needs tensorflow-datasets ({e}); install it with "
            "pip install 'seqlab[data]'"
        ) from None
    return tfds


def prepared_version(data_dir: Path, name: str) -> Path | None:
    """The newest `data_dir/name/<version>` holding a finished array_record build, if any."""
    root = data_dir / name
    if not root.is_dir():
        return None
    built = [
        d
        for d in root.iterdir()
        if (d / "dataset_info.json").is_file() and any(d.glob(f"{name}-*.array_record-*"))
    ]
    key = lambda d: tuple(int(p) if p.isdigit() else 0 for p in d.name.split("."))  # noqa: E731
    return max(built, key=key) if built else None


def open_dataset(name: str, data_dir: Path) -> dict[str, Any]:
    """{split: random-access source} of a prepared dataset (tfds.data_source, no download)."""
    tfds = import_tfds()
    return tfds.data_source(name, data_dir=os.fspath(data_dir), download=False)
