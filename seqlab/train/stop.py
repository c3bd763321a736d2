"""SIGTERM (what Slurm sends at a time limit or a preemption, and `kill` by default) asks a
run to stop at its next chunk boundary after saving a checkpoint there, so the time since the
last checkpoint is not lost; resuming then continues from exactly that step."""

from __future__ import annotations

import signal
import threading


class Stopped(BaseException):
    """Raised after a stop was asked and what was done is saved (a run's checkpoint; a sweep's
    jobs stopped the same way); `where` says where it stopped."""

    def __init__(self, signum: int, where: str):
        self.signum = signum
        super().__init__(
            f"stopped by {signal.Signals(signum).name} {where}; "
            "run the same command again to resume"
        )

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # what a shell reports for a process this signal ended


class StopOnSigterm:
    """Between `listen()` and `close()` (in the main thread; elsewhere it does nothing),
    SIGTERM sets `signum` instead of ending the process. A second one changes nothing: Slurm
    signals every process of a job, so a sweep's job may get it both from Slurm and passed on
    by the sweep; SIGKILL is the way to end a process at once."""

    def __init__(self):
        self.signum: int | None = None
        self._previous = None

    def _handle(self, signum, frame):
        self.signum = signum

    def listen(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)

    def close(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
