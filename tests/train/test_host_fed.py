"""Host-fed training (HostTask): the same numbers as on-device sampling, exact resume."""

import dataclasses
import json

import jax
import numpy as np
import pytest

from seqlab.registry import TASKS
from seqlab.tasks.base import host_fed
from seqlab.tasks.copy import CopyTask, make_copy
from seqlab.train import loop
from seqlab.train.feed import Feeder, stack_chunk
from seqlab.train.run import train
from seqlab.train.rundir import read_metrics
from tests.conftest import small_config
from tests.train.test_engine import leaves, run_chunks, setup

EVAL_SEED = small_config().eval.seed


@dataclasses.dataclass(frozen=True)
class HostCopy:
    """The copy task served from the host: batch i of seed s is the batch the device sampler
    draws at step i of seed s (init_state's data key), so host-fed runs must match."""

    inner: CopyTask

    @property
    def spec(self):
        return dataclasses.replace(self.inner.spec, name="host_copy")

    def train_batch(self, seed: int, index: int, batch_size: int):
        _, data_key = jax.random.split(jax.random.key(seed))
        batch = self.inner.sample(jax.random.fold_in(data_key, index), batch_size)
        return jax.tree.map(np.asarray, batch)

    def eval_batches(self, num_batches: int, batch_size: int):
        keys = jax.random.split(jax.random.key(EVAL_SEED), num_batches)
        return jax.tree.map(np.asarray, jax.vmap(lambda k: self.inner.sample(k, batch_size))(keys))

    def loss_and_metrics(self, outputs, batch):
        return self.inner.loss_and_metrics(outputs, batch)


TASKS.register("host_copy", "test only: copy fed from the host")(
    lambda cfg: HostCopy(make_copy(cfg))
)


def host_config(**overrides):
    return small_config(**{"task.name": "host_copy", **overrides})


def test_host_task_is_recognised():
    cfg = host_config()
    assert host_fed(TASKS.get("host_copy")(cfg.task))
    assert not host_fed(TASKS.get("copy")(cfg.task))


@pytest.mark.parametrize("seeds", [[0, 1], [3]])
def test_host_fed_chunks_equal_device_sampled_chunks(seeds):
    device_engine, device_state = setup(small_config(), seeds=seeds)
    host_engine, host_state = setup(host_config(), seeds=seeds)
    device_state, device_metrics = run_chunks(device_engine, device_state, [5, 5])
    chunk = None
    for start in (0, 5):
        batches = stack_chunk(host_engine.task, seeds, start, 5, 8)
        assert batches.inputs.shape == (len(seeds), 5, 28, 8)  # seeds, steps, T+20, batch
        chunk = chunk or loop.compile_chunk(host_engine, host_state, 5, len(seeds), batches)
        host_state, host_metrics = chunk(host_state, batches)
    for a, b in zip(leaves(device_state), leaves(host_state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(device_metrics["loss"], host_metrics["loss"], rtol=1e-6)


def test_feeder_prefetches_the_chunk_asked_for():
    task = TASKS.get("host_copy")(host_config().task)
    feeder = Feeder(task, [3], batch_size=4)
    try:
        feeder.prefetch(10, 2)
        assert feeder._next is not None
        got = feeder.get(10, 2)
        assert feeder._next is None  # the prefetched chunk was used
        want = stack_chunk(task, [3], 10, 2, 4)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(g), w)
        other = feeder.get(0, 1)  # not prefetched: loaded on demand
        np.testing.assert_array_equal(np.asarray(other.inputs), stack_chunk(task, [3], 0, 1, 4)[0])
    finally:
        feeder.close()


def _rows(run):
    rows = read_metrics(run / "metrics.jsonl")[0]
    return sorted(
        tuple(sorted((k, v) for k, v in r.items() if k not in ("time", "elapsed"))) for r in rows
    )


def test_host_fed_run_resumed_matches_uninterrupted_device_run(tmp_path):
    fields = {"train.seeds": 2, "train.steps": 40}
    train(small_config(**fields), tmp_path / "device", progress=False)
    # Host-fed and resumed: 20 steps, then the same run extended to 40 (constant schedule).
    train(host_config(**{**fields, "train.steps": 20}), tmp_path / "host", progress=False)
    summary = train(host_config(**fields), tmp_path / "host", progress=False)
    assert summary["status"] == "completed" and summary["step"] == 40
    host, device = _rows(tmp_path / "host"), _rows(tmp_path / "device")
    assert len(host) == len(device) == 2 * (3 + 2)  # eval at 0, 20, 40; train at 20, 40
    for h, d in zip(host, device, strict=True):
        h, d = dict(h), dict(d)
        assert h.keys() == d.keys()
        for k in h:
            assert h[k] == (d[k] if isinstance(d[k], str) else pytest.approx(d[k], rel=1e-5)), k
    recorded = json.loads((tmp_path / "host" / "summary.json").read_text())
    assert recorded["task"]["name"] == "host_copy"
    assert recorded["throughput"]["tokens_per_s"] > 0
