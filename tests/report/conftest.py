"""A tiny real sweep, trained once per test session, for the report, browser and notebook tests.

Two models (lstm, rnn) on copy at T=4 and T=6, two seeds each, trained as 4 two-seed programs
by `seqlab sweep` (about 30 s on 2 cores). Tests that change a sweep copy it first
(`sweep_copy`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from seqlab import cli

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "tools" / "install_chromium.sh"
CHROMIUM = Path("/usr/bin/chromium")
NOT_ROOT, APT_FAILED = 2, 3  # install_chromium.sh's exit statuses
TINY = {
    "task.name": "copy",
    "model.hidden": 8,
    "model.embed_dim": 4,
    "train.steps": 30,
    "train.batch_size": 8,
    "train.chunk": 10,
    "eval.every": 10,
    "eval.batches": 1,
    "eval.batch_size": 16,
    "checkpoint.every": 30,
    "train.seed": [0, 1],
}


def write_sweep_file(path: Path) -> Path:
    path.write_text(
        textwrap.dedent(
            f'''
            """The report tests' sweep."""
            from seqlab.sweep import product

            CONFIG = "{ROOT / "configs" / "base.py"}"


            def sweep():
                return product({{"model.name": ["lstm", "rnn"], "task.length": [4, 6]}}, {TINY!r})
            '''
        )
    )
    return path


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory, worker_id) -> Path:
    """The workdir of the trained tiny sweep (read-only: copy it to change it). Under
    pytest-xdist the workers share one: the first to need it trains it in the session's common
    temporary folder while the others wait on its lock (training it twice cost ~50 s)."""
    if worker_id == "master":  # not distributed
        base = tmp_path_factory.mktemp("report_sweep")
    else:
        base = tmp_path_factory.getbasetemp().parent / "report_sweep"  # this session's, shared
        base.mkdir(exist_ok=True)
    workdir = base / "tiny"
    with open(base / "train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "trained").exists():
            sweep = write_sweep_file(base / "tiny_sweep.py")
            status = cli.main(["sweep", str(sweep), "--workdir", str(workdir), "--jobs", "2"])
            assert status == 0
            (base / "trained").touch()
    return workdir


@pytest.fixture
def sweep_copy(tiny_sweep, tmp_path) -> Path:
    """A copy of the tiny sweep that a test may change."""
    target = tmp_path / "tiny"
    shutil.copytree(tiny_sweep, target, ignore=shutil.ignore_patterns("checkpoints", ".lock*"))
    return target


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory) -> Path:
    """A synthetic sweep shaped like `make demo`'s (tests/report/synthetic.py; read-only)."""
    from tests.report.synthetic import demo_sweep

    return demo_sweep(tmp_path_factory.mktemp("synthetic") / "demo")


@pytest.fixture(scope="session")
def study_runs(tmp_path_factory) -> Path:
    """A synthetic study with every comparison: lengths, a learning-rate grid, evaluation at
    other lengths (tests/report/synthetic.py; read-only)."""
    from tests.report.synthetic import study_sweep

    return study_sweep(tmp_path_factory.mktemp("synthetic") / "study")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed by tools/install_chromium.sh when missing.

    The tests that need it skip only where the install cannot work: not root, or apt-get
    failing outside CI; on CI (`CI` set) a failed install fails.
    """
    if CHROMIUM.exists():
        return CHROMIUM
    # One install at a time: pytest-xdist may run two files that need it in two workers.
    with open(Path(tempfile.gettempdir()) / "seqlab-install-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return CHROMIUM
        proc = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=1200)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode == 0 and CHROMIUM.exists():
        return CHROMIUM
    why = f"tools/install_chromium.sh failed (status {proc.returncode}):\n{output}"
    if proc.returncode in (NOT_ROOT, APT_FAILED) and not os.environ.get("CI"):
        pytest.skip(why)
    pytest.fail(why)
