"""The writer interface: everything a run records goes through these three calls."""

from __future__ import annotations

from typing import Protocol


class Writer(Protocol):
    def write(self, rows: list[dict]) -> None:
        """Rows of metrics: {'step', 'seed', 'split', 'elapsed', 'time', <metric>: value}."""

    def summary(self, summary: dict) -> None:
        """The run summary (as in summary.json), at the end and at each evaluation."""

    def close(self) -> None: ...


class Multiplexer:
    """Sends every call to each writer in turn."""

    def __init__(self, writers: list[Writer]):
        self.writers = writers

    def write(self, rows: list[dict]) -> None:
        for w in self.writers:
            w.write(rows)

    def summary(self, summary: dict) -> None:
        for w in self.writers:
            w.summary(summary)

    def close(self) -> None:
        for w in self.writers:
            w.close()
