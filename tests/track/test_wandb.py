"""WandbWriter against the real wandb package, offline, read back from its transaction logs."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import ml_collections
import pytest

from seqlab.track.wandb import WandbWriter, resolve_mode, run_id


@pytest.fixture
def wandb_env(tmp_path, monkeypatch):
    """Isolates wandb from the user's account and files, so nothing can reach the network."""
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NETRC", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/.netrc, no ~/.config/wandb
    for name in ("DIR", "CONFIG_DIR", "CACHE_DIR", "DATA_DIR"):
        path = tmp_path / f"wandb_{name.lower()}"
        path.mkdir()
        monkeypatch.setenv(f"WANDB_{name}", str(path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    monkeypatch.setenv("WANDB_DISABLE_CODE", "true")
    yield home
    import wandb

    # wandb caches the environment in a process-wide singleton; drop it (and its service
    # process) so later tests see their own environment.
    wandb.teardown()


def test_resolve_mode(wandb_env, monkeypatch):
    from wandb.sdk.lib import urls

    assert resolve_mode("auto") == "offline"
    for mode in ("online", "offline", "disabled"):
        assert resolve_mode(mode) == mode

    monkeypatch.setenv("WANDB_API_KEY", "fake-" + "k" * 40)
    assert resolve_mode("auto") == "online"
    assert resolve_mode("offline") == "offline"  # an explicit mode is not overridden
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_mode("auto") == "disabled"
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert resolve_mode("auto") == "offline"
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.delenv("WANDB_API_KEY")

    # A key stored by `wandb login` counts, but only for the host wandb would talk to.
    def login(host: str) -> None:
        netrc = wandb_env / ".netrc"
        netrc.write_text(f"machine {host}\n  login user\n  password {'k' * 40}\n")
        netrc.chmod(0o600)

    login("elsewhere.example")
    assert resolve_mode("auto") == "offline"
    login(urlsplit(urls.DEFAULT_BASE_URL).netloc)
    assert resolve_mode("auto") == "online"
    login("localhost:8080")
    assert resolve_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_BASE_URL", "http://localhost:8080")
    assert resolve_mode("auto") == "online"
    monkeypatch.delenv("WANDB_BASE_URL")
    # `wandb login --host=...` saves the host in wandb's settings file.
    settings = Path(os.environ["WANDB_CONFIG_DIR"]) / "settings"
    settings.write_text("[default]\nbase_url = http://localhost:8080\n")
    assert resolve_mode("auto") == "online"


def read_records(path: Path) -> list:
    """Parses a .wandb transaction log: wandb's header, then the leveldb log format.

    wandb 0.31 has no Python reader (its Go core writes and syncs these files), so this follows
    https://github.com/google/leveldb/blob/main/doc/log_format.md with wandb's crc32 checksums.
    """
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:7] == b":W&B" + struct.pack("<HB", 0xBEE1, 0)
    block, header = 32768, 7
    records, pending, pos = [], b"", 7
    while pos + header <= len(data):
        if block - pos % block < header:  # too small for a header: zero trailer
            pos += block - pos % block
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos : pos + header])
        chunk = data[pos + header : pos + header + length]
        pos += header + length
        if kind == 0:  # zero padding at the end of a block
            continue
        assert crc == zlib.crc32(chunk, zlib.crc32(bytes([kind]))), f"bad checksum at {pos}"
        pending += chunk
        if kind in (1, 4):  # FULL or LAST: a whole record
            records.append(wandb_internal_pb2.Record.FromString(pending))
            pending = b""
    assert not pending, "truncated record"
    return records


def _name(item) -> str:
    return item.key or "/".join(item.nested_key)


def load_run(path: Path) -> dict:
    """The run, config, history (step -> values), summary and exit code of one .wandb file."""
    run = {"path": path, "history": {}, "summary": {}, "config": {}, "exit_code": None}
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run["run"] = record.run
            run["config"].update(
                {_name(u): json.loads(u.value_json) for u in record.run.config.update}
            )
        elif kind == "config":
            run["config"].update({_name(u): json.loads(u.value_json) for u in record.config.update})
        elif kind == "history":
            values = {_name(i): json.loads(i.value_json) for i in record.history.item}
            run["history"].setdefault(record.history.step.num, {}).update(values)
        elif kind == "summary":
            run["summary"].update(
                {_name(u): json.loads(u.value_json) for u in record.summary.update}
            )
        elif kind == "exit":
            run["exit_code"] = record.exit.exit_code
    return run


def test_writer_offline_runs(wandb_env, tmp_path):
    workdir = tmp_path / "runs" / "lstm_copy"
    track = ml_collections.ConfigDict(
        dict(wandb=True, project="seqlab-test", entity="", group="", tags=("copy", "lstm"),
             mode="auto", dir="")
    )  # fmt: skip
    config = {"model": {"name": "lstm", "width": 64}, "train": {"steps": 300}}
    writer = WandbWriter(track, run_name="lstm_copy", workdir=workdir, seeds=[0, 1], config=config)

    def row(step, seed, split, **metrics):
        return {"step": step, "seed": seed, "split": split, "elapsed": step / 100, "time": 1.7e9,
                **metrics}  # fmt: skip

    for seed in (0, 1):
        writer.write([row(100, seed, "train", loss=1.0 + seed, accuracy=None)])
        writer.write([row(100, seed, "eval", loss=1.5 + seed, accuracy=0.25 + seed / 10)])
        writer.write([row(200, seed, "train", loss=0.5 + seed, accuracy=0.5)])
        writer.write([row(150, seed, "train", loss=99.0, accuracy=99.0)])  # stale: dropped
        writer.write([row(300, seed, "train", loss=0.1 + seed, accuracy=0.9)])
    seed_records = [
        {"seed": 0, "status": "solved", "final": {"loss": 0.1}, "best": {"accuracy": 0.9},
         "solved_at": 300, "diverged_at": None},
        {"seed": 1, "status": "completed", "final": {"loss": 1.1}, "best": {"accuracy": 0.9},
         "solved_at": None, "diverged_at": None},
    ]  # fmt: skip
    writer.summary(
        {"status": "completed", "params": 1234, "seeds": seed_records,
         "throughput": {"tokens_per_s": 5e5, "compile_s": {"train": 2.5}}}
    )  # fmt: skip
    writer.close()
    writer.close()  # idempotent
    import wandb

    # finish() returns before wandb's service process has flushed the transaction logs;
    # stopping the service (as happens at process exit) waits for them.
    wandb.teardown()

    files = sorted((workdir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 2
    runs = {run["config"]["seed"]: run for run in map(load_run, files)}
    assert sorted(runs) == [0, 1]

    for seed, run in runs.items():
        assert run["run"].run_id == run_id(workdir, seed)
        assert run["run"].display_name == f"lstm_copy/seed{seed}"
        assert run["run"].run_group == "lstm_copy"
        assert list(run["run"].tags) == ["copy", "lstm"]
        assert run["run"].project == "seqlab-test"
        assert run["config"]["model"] == {"name": "lstm", "width": 64}
        assert run["config"]["train"] == {"steps": 300}

        history = run["history"]
        assert sorted(history) == [100, 200, 300]  # the stale step 150 never landed
        assert history[100]["train/loss"] == 1.0 + seed
        assert "train/accuracy" not in history[100]  # None is skipped, not logged
        assert history[100]["eval/loss"] == 1.5 + seed  # train and eval of a step both land
        assert history[100]["eval/accuracy"] == 0.25 + seed / 10
        assert history[100]["train/elapsed"] == 1.0
        assert history[200]["train/loss"] == 0.5 + seed
        assert history[300]["train/accuracy"] == 0.9
        assert not {
            f"{s}/{k}" for s in ("train", "eval") for k in ("step", "seed", "split", "time")
        } & set(history[100])
        assert 99.0 not in [v for values in history.values() for v in values.values()]

        summary = run["summary"]
        assert summary["status"] == seed_records[seed]["status"]
        assert summary["final/loss"] == seed_records[seed]["final"]["loss"]
        assert summary["best/accuracy"] == 0.9
        assert summary["params"] == 1234
        assert summary["throughput/tokens_per_s"] == 5e5
        assert summary["throughput/compile_s/train"] == 2.5
        assert "diverged_at" not in summary
        assert run["exit_code"] == 0
        # wandb drops a lower step itself, but with a warning in its log: the writer must not.
        log = run["path"].parent / "logs" / "debug-internal.log"
        levels = [json.loads(line)["level"] for line in log.read_text().splitlines()]
        assert not {"WARN", "ERROR"} & set(levels), log.read_text()
    assert runs[0]["summary"]["solved_at"] == 300
    assert "solved_at" not in runs[1]["summary"]


def test_training_run_with_wandb_writes_one_offline_run_per_seed(wandb_env, tmp_path):
    import wandb

    from seqlab.train.run import train
    from tests.conftest import small_config

    overrides = {"track.wandb": True, "track.tags": ["smoke"], "track.dir": str(tmp_path)}
    cfg = small_config(**overrides, **{"train.seeds": 2, "train.steps": 20, "eval.every": 20})
    summary = train(cfg, tmp_path / "run", progress=False)
    wandb.teardown()  # flushes the offline files (see test_writer_offline_runs)
    files = sorted(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 2
    runs = {run["run"].display_name: run for run in map(load_run, files)}
    assert sorted(runs) == ["run/seed0", "run/seed1"]
    for seed in (0, 1):
        run = runs[f"run/seed{seed}"]
        assert run["run"].run_group == "run" and list(run["run"].tags) == ["smoke"]
        assert run["config"]["seed"] == seed
        assert run["config"]["model"]["hidden"] == 16
        assert run["summary"]["status"] == "completed"
        final = summary["seeds"][seed]["final"]["loss"]
        assert run["summary"]["final/loss"] == pytest.approx(final)
