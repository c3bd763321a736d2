"""`model.scan_form=auto` (the default): the form each linear recurrence runs on each backend,
chosen from benchmarks/linear_forms.py's measurements (BENCHMARKS.md, "Linear recurrences: scan
forms"). Every form computes the same function (tests/models/test_linear_recurrence.py and the
families' tests), so the choice changes speed and memory, never the model; a config that names
a form runs that form.

CPU: the fastest form of each family at T = 1,000 and 10,000 in the 2026-12-07 measurement
(2-core AMD EPYC, ~100k parameters, batch 4; `seqlab bench linear`).
GPU: not yet measured by seqlab; until benchmarks/linear_forms.py runs on one, the parallel
forms the models were designed for there (Mamba-2's SSD, associative scans elsewhere).
"""

from __future__ import annotations

AUTO = "auto"
CPU = {  # the fastest at both T = 1,000 and 10,000
    "lru": "chunked",  # associative within 4%
    "mingru": "scan",
    "minlstm": "scan",
    "hawk": "associative",
    "s5": "associative",
    "mamba": "scan",
    "mamba2": "ssd",  # 3.6x its scan at 1,000, 2.9x at 10,000; its chunked form OOMs at 10,000
}
GPU = {
    "lru": "associative",
    "mingru": "associative",
    "minlstm": "associative",
    "hawk": "associative",
    "s5": "associative",
    "mamba": "associative",
    "mamba2": "ssd",
}
FAMILIES = frozenset(CPU)  # the models with more than one form (tests check the registry)
DEFAULTS = {"cpu": CPU, "gpu": GPU, "cuda": GPU, "rocm": GPU, "tpu": GPU}


def default_scan_form(family: str, backend: str | None = None) -> str:
    """The form `family` runs under model.scan_form=auto on `backend` (default: JAX's)."""
    if backend is None:
        import jax

        backend = jax.default_backend()
    return DEFAULTS.get(backend, CPU).get(family, "scan")


def scan_form(cfg) -> str:
    """The form a model config runs: its model.scan_form, with auto resolved for its family."""
    if cfg.scan_form != AUTO:
        return cfg.scan_form
    from seqlab.registry import split_name

    return default_scan_form(split_name(cfg.name)[0])
