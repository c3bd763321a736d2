"""MNIST (LeCun et al. 1998) in tensorflow-datasets' layout: DATA_DIR/mnist/3.0.1/.

Tasks read it with `tfds.data_source("mnist", data_dir=DATA_DIR)`; it must have been built in
the array_record format. `prepare` builds it without TensorFlow: tfds's own MNIST builder
(same features, version and files) with the PNG encoding done by PIL, from the four original
files (train-images-idx3-ubyte.gz, ...) downloaded by tfds or found in a local `source` folder.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
from pathlib import Path

import numpy as np

from seqlab.data import DataError, import_tfds, prepared_version

NAME, VERSION_STR = "mnist", "3.0.1"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def missing_message(data_dir: Path) -> str:
    return (
        f"MNIST is not prepared in {data_dir} (task.data_dir, else $SEQLAB_DATA_DIR, else "
        "~/tensorflow_datasets); on a machine with internet run `seqlab data prepare mnist "
        "--data-dir DIR` (or, with TensorFlow installed, `tfds build mnist "
        f"--file_format=array_record --data_dir=DIR`) and copy DIR/mnist to {data_dir / NAME}"
    )


def require_prepared(data_dir: Path) -> Path:
    """The prepared MNIST folder in data_dir, or a DataError saying how to prepare it."""
    found = prepared_version(data_dir, NAME)
    if found is None:
        raise DataError(missing_message(data_dir))
    return found


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST distribution's format), gzipped or not, as a numpy array."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:  # unsigned bytes
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def png(image_HW: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image_HW, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


@functools.cache
def builder_class() -> type:
    """tfds's MNIST builder, encoding with PIL (defined on first use: tfds is imported lazily)."""
    import_tfds()
    from tensorflow_datasets.image_classification.mnist import MNIST

    class Mnist(MNIST, skip_registration=True):
        name = NAME

        def __init__(self, *, source: Path | None = None, **kwargs):
            self._source = source
            super().__init__(**kwargs)

        def _split_generators(self, dl_manager):
            if self._source is not None:
                paths = {s: [self._source / f for f in FILES[s]] for s in FILES}
            else:
                urls = {f"{s}{i}": self.URL + f for s in FILES for i, f in enumerate(FILES[s])}
                got = dl_manager.download(urls)  # the .gz files; read_idx decompresses
                paths = {s: [Path(os.fspath(got[f"{s}{i}"])) for i in range(2)] for s in FILES}
            return {s: self._generate_examples(*paths[s]) for s in FILES}

        def _generate_examples(self, images_path: Path, labels_path: Path):
            images, labels = read_idx(images_path), read_idx(labels_path)
            if images.shape[1:] != (28, 28) or len(images) != len(labels):
                raise DataError(f"{images_path} and {labels_path} do not hold MNIST")
            for i, (image, label) in enumerate(zip(images, labels, strict=True)):
                yield i, {"image": png(image), "label": int(label)}

    return Mnist


def prepare(data_dir: Path, source: Path | None = None) -> Path:
    """Builds MNIST into data_dir/mnist/3.0.1 (array_record); returns that folder. Downloads
    the original files unless `source` is a folder holding them. An existing build is kept."""
    existing = prepared_version(data_dir, NAME)
    if existing is not None:
        return existing
    if source is not None:
        missing = [f for s in FILES for f in FILES[s] if not (source / f).is_file()]
        if missing:
            raise DataError(f"--source {source} lacks {', '.join(missing)}")
    import_tfds().disable_progress_bar()
    builder = builder_class()(
        source=source, data_dir=os.fspath(data_dir), file_format="array_record"
    )
    builder.download_and_prepare()
    return Path(builder.data_dir)
