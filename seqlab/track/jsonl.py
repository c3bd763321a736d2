"""metrics.jsonl (appended and fsynced after each write) and summary.json (atomic)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from seqlab.train.rundir import METRICS, SUMMARY, finite_or_none, write_json_atomic


class JsonlWriter:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.file = open(self.workdir / METRICS, "a")  # noqa: SIM115 -- open for the run's life

    def write(self, rows: list[dict]) -> None:
        for row in rows:
            clean = {k: finite_or_none(v) for k, v in row.items()}
            self.file.write(json.dumps(clean, allow_nan=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def summary(self, summary: dict) -> None:
        write_json_atomic(self.workdir / SUMMARY, summary)

    def close(self) -> None:
        self.file.close()
