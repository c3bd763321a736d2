"""A real single-node Slurm cluster on localhost (tools/local_slurm.sh), for the executor tests.

The fixture installs Debian's slurm-wlm and munge on first use (apt-get), starts munged,
slurmctld and slurmd, and stops them again at the end of the session (unless they were
already running before it). It skips only where it cannot work: not root, or apt-get failing
outside CI (no network); on CI (`CI` set) a cluster that does not come up fails the test.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "local_slurm.sh"
APT_FAILED = 3  # local_slurm.sh's exit status when apt-get fails


@dataclasses.dataclass(frozen=True)
class SlurmCluster:
    state: Path  # the script's state dir: slurm.conf, daemon logs and pid files
    conf: Path


def _script(action: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), action], capture_output=True, text=True, env=env, timeout=1200
    )


@pytest.fixture(scope="session")
def slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip("a local Slurm cluster needs root (tools/local_slurm.sh up installs/starts it)")
    state = Path(os.environ.get("SEQLAB_SLURM_DIR", "/tmp/seqlab-slurm"))
    env = {**os.environ, "SEQLAB_SLURM_DIR": str(state)}
    was_up = "slurmctld running (pid" in _script("status", env).stdout
    up = _script("up", env)
    output = (up.stdout + up.stderr).strip()
    if up.returncode == APT_FAILED and not os.environ.get("CI"):
        pytest.skip(f"could not install slurm-wlm/munge: {output.splitlines()[-1]}")
    if up.returncode != 0:
        pytest.fail(f"tools/local_slurm.sh up failed (status {up.returncode}):\n{output}")
    conf = state / "slurm.conf"
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)  # sbatch/squeue/scontrol here, srun in the jobs
    try:
        yield SlurmCluster(state=state, conf=conf)
    finally:
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
        if not was_up:
            _script("down", env)
