"""Sweeps: sweep files (`sweep()` -> override dicts), plans, executors (local, Slurm)."""

from seqlab.sweep.spec import product, zip

__all__ = ["product", "zip"]
