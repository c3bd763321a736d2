"""ListOps through tfds: prepare -> tfds.data_source -> task batches; the CLI; the errors."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqlab import config as config_lib
from seqlab.cli import main
from seqlab.data import DATA_DIR_ENV, DataError, listops, resolve_data_dir
from seqlab.data.host import epoch_order
from seqlab.registry import TASKS
from tests.conftest import small_config
from tests.data.test_listops_generator import parse

TINY = listops.ListOpsSettings(train=40, val=8, test=8, min_length=10, max_length=200)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    where = listops.prepare(data_dir, TINY, progress=False)
    assert where == data_dir / "listops" / "1.0.0"
    return data_dir


def make(data_dir, length=200):
    cfg = small_config(**{"task.name": "listops", "task.length": length,
                          "task.data_dir": str(data_dir)})  # fmt: skip
    return TASKS.get("listops")(cfg.task)


def records(data_dir, split):
    import tensorflow_datasets as tfds

    source = tfds.data_source("listops", data_dir=str(data_dir), download=False)[split]
    return [source[i] for i in range(len(source))]


def check_batch(batch, T, B):
    inputs, targets, lengths = (np.asarray(x) for x in batch)
    assert inputs.shape == (T, B) and inputs.dtype == np.int32
    assert targets.shape == (B,) and lengths.shape == (B,) and lengths.dtype == np.int32
    for b in range(B):
        n = lengths[b]
        assert 10 < n < 200 and (inputs[n:, b] == 0).all() and (inputs[:n, b] > 0).all()
        assert parse(inputs[:n, b])[0] == targets[b]  # the label is the expression's value
    return inputs, targets, lengths


def as_keys(batch):
    inputs, _, lengths = (np.asarray(x) for x in batch)
    return [inputs[: lengths[b], b].astype(np.uint8).tobytes() for b in range(len(lengths))]


@pytest.mark.filterwarnings("ignore:ListOps in")
def test_train_batches_come_from_the_train_split_one_epoch_at_a_time(tiny_dir):
    task = make(tiny_dir)
    train = [r["tokens"].tobytes() for r in records(tiny_dir, "train")]
    assert len(set(train)) == 40
    epoch0 = [k for i in range(5) for k in as_keys(task.train_batch(0, i, 8))]
    for i in range(5):
        check_batch(task.train_batch(0, i, 8), 200, 8)
    assert sorted(epoch0) == sorted(train)  # each training record exactly once per epoch
    order = epoch_order(0, 0, 40)
    assert epoch0 == [train[j] for j in order]  # the documented stream: default_rng([seed, e])
    epoch1 = [k for i in range(5, 10) for k in as_keys(task.train_batch(0, i, 8))]
    assert sorted(epoch1) == sorted(train) and epoch1 != epoch0
    # A batch that straddles epochs: positions 32..47 = the end of epoch 0, start of epoch 1
    straddle = as_keys(task.train_batch(0, 2, 16))
    assert straddle == epoch0[32:] + epoch1[:8]


@pytest.mark.filterwarnings("ignore:ListOps in")
def test_train_batch_is_deterministic_in_its_arguments(tiny_dir):
    a, b = make(tiny_dir), make(tiny_dir)
    for seed, index in [(0, 0), (3, 7), (1, 123)]:
        x, y = a.train_batch(seed, index, 8), b.train_batch(seed, index, 8)
        assert all((np.asarray(u) == np.asarray(v)).all() for u, v in zip(x, y, strict=True))
    assert as_keys(a.train_batch(0, 0, 8)) != as_keys(a.train_batch(1, 0, 8))
    assert as_keys(a.train_batch(0, 0, 8)) != as_keys(a.train_batch(0, 1, 8))


@pytest.mark.filterwarnings("ignore:ListOps in")
def test_eval_batches_are_the_validation_split_stacked(tiny_dir):
    task = make(tiny_dir, length=256)
    batches = task.eval_batches(2, 4)
    assert np.asarray(batches.inputs).shape == (2, 256, 4)
    assert np.asarray(batches.targets).shape == (2, 4) and np.asarray(batches.lengths).shape == (
        2,
        4,
    )
    val = records(tiny_dir, "validation")
    for k in range(2):
        one = type(batches)(*(np.asarray(x)[k] for x in batches))
        check_batch(one, 256, 4)
        keys = as_keys(one)
        assert keys == [r["tokens"].tobytes() for r in val[4 * k : 4 * k + 4]]
        assert list(np.asarray(one.targets)) == [r["label"] for r in val[4 * k : 4 * k + 4]]
    again = make(tiny_dir, length=256).eval_batches(2, 4)
    assert (np.asarray(again.inputs) == np.asarray(batches.inputs)).all()
    with pytest.raises(ValueError, match="exceeds the 8 held-out"):
        task.eval_batches(3, 4)


@pytest.mark.filterwarnings("ignore:ListOps in")
def test_loss_and_metrics(tiny_dir):
    task = make(tiny_dir)
    batch = jax.tree.map(jnp.asarray, task.train_batch(0, 0, 8))
    perfect = 20.0 * jax.nn.one_hot(batch.targets, 10)
    loss, m = task.loss_and_metrics(perfect, batch)
    assert float(m["accuracy"]) == 1.0 and float(loss) < 1e-6
    wrong = 20.0 * jax.nn.one_hot((batch.targets + 1) % 10, 10)
    assert float(task.loss_and_metrics(wrong, batch)[1]["accuracy"]) == 0.0
    loss, m = jax.jit(task.loss_and_metrics)(jnp.zeros((8, 10)), batch)
    assert float(loss) == pytest.approx(np.log(10), rel=1e-6) and float(m["loss"]) == float(loss)


def test_spec_and_config_fields():
    task = TASKS.get("listops")(small_config(**{"task.name": "listops", "task.length": 2000}).task)
    s = task.spec
    assert (s.seq_len, s.vocab_size, s.num_classes, s.scored, s.input_kind) == (
        2000, 16, 10, "last", "tokens")  # fmt: skip
    assert s.baseline == pytest.approx(2.2472)
    assert TASKS.entry("listops").task_fields == ("data_dir",)
    with pytest.raises(config_lib.ConfigError, match=r"task\.permutation does not apply"):
        small_config(**{"task.name": "listops", "task.permutation": "random"})


@pytest.mark.filterwarnings("ignore:ListOps in")
def test_too_short_task_length_and_missing_data_are_clear_errors(tiny_dir, tmp_path):
    with pytest.raises(DataError, match=r"task.length=100 is shorter .* \(199 tokens\)"):
        make(tiny_dir, length=100).train_batch(0, 0, 4)
    with pytest.raises(DataError, match="seqlab data prepare listops") as e:
        make(tmp_path).eval_batches(1, 4)
    assert "\n" not in str(e.value)


def test_non_lra_data_warns(tiny_dir):
    with pytest.warns(UserWarning, match="non-LRA settings") as caught:
        batch = make(tiny_dir).train_batch(0, 0, 2)
    assert len(caught) == 1 and str(tiny_dir) in str(caught[0].message)
    assert batch.inputs.shape[1] == 2  # the data are still read


def test_data_dir_default(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_dir("") == tmp_path
    assert resolve_data_dir("/elsewhere") == resolve_data_dir("/elsewhere")
    assert str(resolve_data_dir("/elsewhere")) == "/elsewhere"
    monkeypatch.delenv(DATA_DIR_ENV)
    assert str(resolve_data_dir("")).endswith("tensorflow_datasets")
    assert "~" not in str(resolve_data_dir(""))


def test_cli_prepare(tmp_path, capsys):
    sizes = [
        "--train",
        "6",
        "--val",
        "2",
        "--test",
        "2",
        "--min-length",
        "5",
        "--max-length",
        "40",
        "--quiet",
    ]
    argv = ["data", "prepare", "listops", "--data-dir", str(tmp_path), *sizes]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "train 6, validation 2, test 2" in out and str(tmp_path / "listops" / "1.0.0") in out
    assert [len(records(tmp_path, s)) for s in ("train", "validation", "test")] == [6, 2, 2]
    assert all(5 < len(r["tokens"]) < 40 for r in records(tmp_path, "train"))
    assert main(argv) == 0 and "already prepared" in capsys.readouterr().out
    assert main([*argv[:-1], "--train", "7"]) == 2  # other settings, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--train", "7", "--overwrite"]) == 0
    assert len(records(tmp_path, "train")) == 7
    capsys.readouterr()
    assert main(["data", "prepare", "imagenet", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valid choices: listops, mnist" in err


def test_missing_tfds_is_one_line(monkeypatch):
    from seqlab.data import import_tfds

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(DataError, match=r"pip install 'seqlab\[data\]'") as e:
        import_tfds()
    assert "\n" not in str(e.value)
