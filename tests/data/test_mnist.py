"""smnist / psmnist read through tfds from a test-made MNIST in tfds' layout."""

import gzip
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from seqlab import config as config_lib
from seqlab.cli import main
from seqlab.data import DataError, mnist
from seqlab.registry import TASKS
from seqlab.tasks.mnist import TRAIN_LABEL_COUNTS
from tests.conftest import small_config

N_TRAIN, N_TEST = 60, 12  # held out: the last 60 // 6 = 10 records of the train split


def make_images(seed, n):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A tiny MNIST written by tfds' own MNIST builder, with our images instead of the
    download (PNG-encoded by PIL here), so that the folder is what `tfds build mnist` makes."""
    from tensorflow_datasets.image_classification.mnist import MNIST

    data = {"train": make_images(0, N_TRAIN), "test": make_images(1, N_TEST)}

    def png(image):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        return buffer.getvalue()

    class FakeMnist(MNIST, skip_registration=True):
        name = "mnist"

        def _split_generators(self, dl_manager):
            return {split: self._generate_examples(*data[split]) for split in data}

        def _generate_examples(self, images, labels):
            for i, (image, label) in enumerate(zip(images, labels, strict=True)):
                yield i, {"image": png(image), "label": int(label)}

    data_dir = tmp_path_factory.mktemp("tfds")
    FakeMnist(data_dir=str(data_dir), file_format="array_record").download_and_prepare()
    return data_dir, *data["train"]


def make(name, data_dir, **fields):
    cfg = small_config(**{"task.name": name, "task.length": 784, "task.data_dir": str(data_dir),
                          **{f"task.{k}": v for k, v in fields.items()}})  # fmt: skip
    return TASKS.get(name)(cfg.task)


def identify(batch, images, labels):
    """Which fake image each example of a (non-permuted) batch is; checks pixels and label."""
    flat = images.reshape(len(images), 784).astype(np.float32) / 255
    inputs, targets, lengths = (np.asarray(x) for x in batch)
    assert inputs.shape[0] == 784 and inputs.shape[2] == 1 and inputs.dtype == np.float32
    assert (lengths == 784).all()
    found = []
    for b in range(inputs.shape[1]):
        (match,) = np.flatnonzero((flat == inputs[:, b, 0]).all(1))  # exactly one image
        assert labels[match] == targets[b]
        found.append(int(match))
    return found


def nth(batches, k):
    return type(batches)(*(np.asarray(x)[k] for x in batches))


def stored_train_order(data_dir, images):
    """The fake images in tfds' stored order of the train split (read with tfds directly)."""
    import tensorflow_datasets as tfds

    source = tfds.data_source("mnist", data_dir=str(data_dir), download=False)["train"]
    keys = {im.tobytes(): i for i, im in enumerate(images)}
    return [keys[source[i]["image"][..., 0].tobytes()] for i in range(len(source))]


def test_smnist_reads_pixels_row_major_with_the_held_out_tail(fake):
    data_dir, images, labels = fake
    task = make("smnist", data_dir)
    ev = task.eval_batches(2, 5)
    assert np.asarray(ev.inputs).shape == (2, 784, 5, 1)
    assert np.asarray(ev.targets).shape == (2, 5) and np.asarray(ev.lengths).shape == (2, 5)
    held_out = [i for k in range(2) for i in identify(nth(ev, k), images, labels)]
    order = stored_train_order(data_dir, images)
    assert held_out == order[50:]  # the last sixth of the stored train split, in order
    one = np.asarray(ev.inputs)[0, :, 0, 0]
    np.testing.assert_array_equal(one[28:56], images[held_out[0]][1] / np.float32(255))  # row 1
    epoch = [i for j in range(5) for i in identify(task.train_batch(0, j, 10), images, labels)]
    assert sorted(epoch) == sorted(order[:50])  # one epoch = each training image once
    with pytest.raises(ValueError, match="exceeds the 10 held-out"):
        task.eval_batches(3, 4)


def test_train_batch_is_deterministic(fake):
    data_dir, _, _ = fake
    a, b = make("smnist", data_dir), make("smnist", data_dir)
    for seed, index in [(0, 0), (2, 9)]:
        x, y = a.train_batch(seed, index, 7), b.train_batch(seed, index, 7)
        assert all((np.asarray(u) == np.asarray(v)).all() for u, v in zip(x, y, strict=True))
    assert (
        np.asarray(a.train_batch(0, 0, 7).inputs) != np.asarray(a.train_batch(1, 0, 7).inputs)
    ).any()


def reversed_bits(i, bits=10):
    return sum(((i >> k) & 1) << (bits - 1 - k) for k in range(bits))


@pytest.mark.parametrize("name", ["random", "bit_reversal", ""])
def test_psmnist_applies_its_fixed_permutation(fake, name):
    data_dir, _, _ = fake
    expected = {
        "random": np.random.default_rng(0).permutation(784),
        "": np.random.default_rng(0).permutation(784),  # the default
        "bit_reversal": np.array([r for r in map(reversed_bits, range(1024)) if r < 784]),
    }[name]
    assert sorted(expected) == list(range(784))
    plain = np.asarray(make("smnist", data_dir).eval_batches(1, 6).inputs)[0]
    permuted = make("psmnist", data_dir, permutation=name).eval_batches(1, 6)
    np.testing.assert_array_equal(np.asarray(permuted.inputs)[0], plain[expected])
    again = np.asarray(make("psmnist", data_dir, permutation=name).train_batch(4, 2, 3).inputs)
    original = np.asarray(make("smnist", data_dir).train_batch(4, 2, 3).inputs)
    np.testing.assert_array_equal(again, original[expected])  # fixed across instances and batches


def test_bit_reversal_is_s4s():
    from seqlab.tasks.mnist import bit_reversal_permutation

    perm = bit_reversal_permutation()
    assert list(perm[:8]) == [0, 512, 256, 768, 128, 640, 384, 64] and len(perm) == 784
    assert perm[-1] == 511 and sorted(perm) == list(range(784))


def test_spec_loss_and_config_errors(fake):
    data_dir, _, _ = fake
    task = make("psmnist", data_dir)
    s = task.spec
    assert (s.seq_len, s.input_kind, s.input_dim, s.num_classes, s.scored) == (
        784, "reals", 1, 10, "last")  # fmt: skip
    p = np.array(TRAIN_LABEL_COUNTS) / 60_000
    assert s.baseline == pytest.approx(-(p * np.log(p)).sum()) and 2.30 < s.baseline < np.log(10)
    batch = jax.tree.map(jnp.asarray, task.train_batch(0, 0, 6))
    loss, m = jax.jit(task.loss_and_metrics)(5.0 * jax.nn.one_hot(batch.targets, 10), batch)
    assert float(m["accuracy"]) == 1.0 and float(loss) == pytest.approx(
        np.log1p(9 * np.exp(-5)), rel=1e-4
    )
    with pytest.raises(config_lib.ConfigError, match=r"task\.length must be 784 for smnist"):
        small_config(**{"task.name": "smnist", "task.length": 100})
    with pytest.raises(config_lib.ConfigError, match="valid choices: random, bit_reversal"):
        small_config(**{"task.name": "psmnist", "task.length": 784, "task.permutation": "snake"})
    with pytest.raises(config_lib.ConfigError, match="permutation does not apply"):
        small_config(**{"task.name": "smnist", "task.length": 784, "task.permutation": "random"})


def test_missing_mnist_says_how_to_prepare_it(tmp_path):
    task = make("smnist", tmp_path)  # building the task reads nothing
    with pytest.raises(DataError) as e:
        task.train_batch(0, 0, 4)
    message = str(e.value)
    assert "\n" not in message and str(tmp_path / "mnist") in message
    assert "tfds build mnist --file_format=array_record" in message
    assert "seqlab data prepare mnist" in message


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def test_cli_prepares_mnist_from_the_original_files(tmp_path, capsys):
    source = tmp_path / "originals"
    source.mkdir()
    sets = {"train": make_images(2, 24), "test": make_images(3, 6)}
    for split, (images, labels) in sets.items():
        write_idx(source / mnist.FILES[split][0], images)
        write_idx(source / mnist.FILES[split][1], labels.astype(np.uint8))
    data_dir = tmp_path / "tfds"
    argv = ["data", "prepare", "mnist", "--data-dir", str(data_dir), "--source", str(source)]
    assert main(argv) == 0
    assert "train 24, test 6" in capsys.readouterr().out
    images, labels = sets["train"]
    task = make("smnist", data_dir)
    seen = identify(nth(task.eval_batches(1, 4), 0), images, labels)
    seen += [i for j in range(4) for i in identify(task.train_batch(0, j, 5), images, labels)]
    assert sorted(seen) == list(range(24))  # 20 training + 4 held-out images, all intact
    assert main(["data", "prepare", "mnist", "--data-dir", str(tmp_path / "x"), "--source",
                 str(tmp_path)]) == 2  # fmt: skip
    assert "lacks train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_training_without_the_data_writes_nothing(tmp_path):
    from seqlab.config import ConfigError
    from seqlab.train.run import train
    from tests.conftest import small_config

    missing = tmp_path / "no_data"
    missing.mkdir()
    cfg = small_config(**{"task.name": "smnist", "task.length": 784, "task.data_dir": str(missing)})
    with pytest.raises(ConfigError, match="MNIST is not prepared in"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
