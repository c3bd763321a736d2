"""SIGTERM (what Slurm sends at a time limit or a preemption, and `kill` by default) asks a
run to stop at its next chunk boundary after saving a checkpoint there, so the time since the
last checkpoint is not lost; resuming then continues from exactly that step."""

from __future__ import annotations

import signal
import threading


class Stopped(BaseException):
    """Raised by the training loop after it saved a checkpoint because a stop was asked."""

    def __init__(self, signum: int, step: int):
        self.signum, self.step = signum, step
        super().__init__(
            f"stopped by {signal.Signals(signum).name} at step {step}; its checkpoint is saved, "
            "run the same command again to resume"
        )

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # what a shell reports for a process this signal ended


class StopOnSigterm:
    """Between `listen()` and `close()` (in the main thread; elsewhere it does nothing),
    SIGTERM sets `signum` instead of ending the process; a second SIGTERM ends it at once."""

    def __init__(self):
        self.signum: int | None = None
        self._previous = None

    def _handle(self, signum, frame):
        if self.signum is not None:  # asked twice: do what the signal would have done
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        self.signum = signum

    def listen(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)

    def close(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
