"""One sweep job: train (or resume) a run directory whose config.json is already written.

Executors (local process pool, Slurm through submitit) call only `train_run_dir`, so a job is
the same wherever it runs; the run directory is the whole hand-over.
"""

from __future__ import annotations

import json
from pathlib import Path


def train_run_dir(path: str, progress: bool = False) -> str:
    """Trains the run at `path` to its configured steps (resuming if it has checkpoints);
    returns the run's final status (completed / diverged)."""
    import seqlab.models
    import seqlab.tasks  # noqa: F401  (registration)
    from seqlab import config as config_lib
    from seqlab.train.run import train
    from seqlab.train.rundir import CONFIG

    cfg = config_lib.from_dict(json.loads((Path(path) / CONFIG).read_text()))
    return train(cfg, path, progress=progress)["status"]
