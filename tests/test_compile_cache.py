"""The `seqlab` command's persistent compilation cache: where it lives, that a second process
loads the programs the first compiled, and that the numbers do not change."""

import json
import os
import subprocess
import sys
from pathlib import Path

from seqlab.compile_cache import cache_dir, machine_key

ROOT = Path(__file__).resolve().parents[1]


def test_cache_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_COMPILATION_CACHE", "off")
    assert cache_dir() is None
    monkeypatch.setenv("SEQLAB_COMPILATION_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / machine_key()
    monkeypatch.delenv("SEQLAB_COMPILATION_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "seqlab" / "jax" / machine_key()


def test_machine_key_names_jaxlib_and_the_cpu():
    import jaxlib.version

    key = machine_key()
    assert key.startswith(f"jaxlib-{jaxlib.version.__version__}-cpu-") and key == machine_key()


def train(workdir: Path, cache: Path) -> list[dict]:
    env = {**os.environ, "SEQLAB_COMPILATION_CACHE": str(cache)}
    command = [sys.executable, "-m", "seqlab", "train", "--config", "configs/copy.py:fast"]
    command += ["--config.task.length=6", "--config.model.hidden=16", "--config.train.steps=20"]
    command += ["--config.eval.every=10", "--workdir", str(workdir), "--quiet"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("elapsed", "time")} for r in rows]


def test_second_process_loads_the_compiled_programs(tmp_path):
    cache = tmp_path / "cache" / machine_key()

    def entries() -> dict[str, int]:  # name -> last write; a recompiled program is rewritten
        return {p.name: p.stat().st_mtime_ns for p in cache.iterdir() if p.name.endswith("-cache")}

    first = train(tmp_path / "a", cache.parent)
    written = entries()
    assert any(name.startswith("jit_single") for name in written), written  # the train chunk
    second = train(tmp_path / "b", cache.parent)
    after = entries()  # a program near the 0.2 s threshold may be added the second time
    assert {name: after.get(name) for name in written} == written  # loaded, not rewritten
    assert second == first
