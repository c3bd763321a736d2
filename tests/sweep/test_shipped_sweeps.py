"""Every sweep file shipped in experiments/ plans: a docstring that names its command, at least
one run, distinct run directories, every entry a valid config (parameter budgets resolved).
Apart from tests/sweep/test_sweep.py so that make test's file distribution can spread them
(planning every shipped study builds each budgeted model several times: about 100 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqlab.sweep.plan import load_sweep_file, plan

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = sorted((ROOT / "experiments").glob("*.py"))


def test_the_studies_are_shipped():
    names = {p.stem for p in SWEEPS}
    assert {"zoo_quick", "zoo_copy", "zoo_adding", "arjovsky2016", "hochreiter1997"} <= names
    assert {"deletang2023", "grazzi2024", "gu_dao2023"} <= names


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_shipped_sweep_plans(path):
    text = path.read_text()
    assert text.lstrip().startswith('"""') and f"seqlab sweep experiments/{path.name}" in text
    runs = plan(load_sweep_file(path))
    assert runs and len({r.dir for r in runs}) == len(runs)
