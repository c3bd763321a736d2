"""The progress line of a training run: step, steps/s, loss, eval, ETA."""

from __future__ import annotations

import sys


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    """One line per chunk, on stderr; steps/s excludes compilation (compiled ahead of time)."""

    def __init__(self, total_steps: int, enabled: bool = True, stream=None):
        self.total, self.enabled, self.stream = total_steps, enabled, stream

    def update(
        self, step: int, steps_per_s: float, loss: float | None, eval_text: str = ""
    ) -> None:
        if not self.enabled:
            return
        parts = [
            f"step {step}/{self.total}",
            f"{steps_per_s:.1f} steps/s",
            f"loss {loss:.4g}" if loss is not None else "loss n/a (diverged)",
        ]
        if eval_text:
            parts.append(eval_text)
        parts.append(f"ETA {format_duration((self.total - step) / steps_per_s)}")
        print(" | ".join(parts), file=self.stream or sys.stderr, flush=True)
