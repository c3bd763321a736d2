"""Every model in the zoo trains: a bounded run on copy and adding (T=50) whose held-out loss
falls well below its value at initialisation. Apart from tests/models/test_zoo.py so that the
two spread over pytest-xdist's workers (make test distributes by file).
"""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.train import loop
from tests.models.zoo import ZOO, config, is_causal
from tests.train.test_engine import setup as engine_setup


@pytest.mark.parametrize("task_name", ["copy", "adding"])
@pytest.mark.parametrize("name", ZOO)
def test_trains_at_length_50(name, task_name):
    """100 Adam steps: the held-out loss falls well below its value at initialisation."""
    if task_name == "copy" and not is_causal(name):
        pytest.skip("refused on copy by design (test_non_causal_models_are_refused...)")
    cfg = config(
        name,
        task_name,
        50,
        **{"train.batch_size": 16, "optim.lr": 3e-3, "eval.batches": 1, "eval.batch_size": 64},
    )
    engine, state = engine_setup(cfg)
    batches = loop.eval_batches(engine.task, cfg.eval)
    evaluate = loop.compile_eval(engine, state, batches, 1)
    before = float(evaluate(state.params, batches)["loss"][0])
    chunk = loop.compile_chunk(engine, state, 50, 1)
    for _ in range(2):
        state, metrics = chunk(state)
        assert np.isfinite(np.asarray(metrics["loss"])).all()
    after = float(evaluate(state.params, batches)["loss"][0])
    assert int(state.diverged_at[0]) == 0
    assert np.isfinite(after) and after < 0.6 * before, (before, after)
