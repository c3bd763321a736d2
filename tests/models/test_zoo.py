"""Every model in the zoo, through the same checks: builds from a config, shapes and finite
outputs with and without jit, streaming step == whole sequence, causality via gradients,
parameter budgets and state sizes. Training: tests/models/test_zoo_training.py.

A new model must be added to ZOO in tests/models/zoo.py (a test checks the registry against it).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

from seqlab import config as config_lib
from seqlab.models.sizing import count_params, resolve
from seqlab.registry import MODELS, TASKS, split_name
from tests.conftest import small_config
from tests.models.common import apply, sample, stream
from tests.models.zoo import ZOO, config, is_causal, model_and_task


def test_zoo_covers_every_registered_model():
    assert {split_name(n)[0] for n in ZOO} == set(MODELS.names())


@pytest.mark.parametrize("name", ZOO)
def test_shapes_finite_and_jit_equals_eager(name):
    for task_name in ("copy", "adding") if is_causal(name) else ("adding",):
        model, task = model_and_task(name, task_name)
        batch = sample(task, 0, 3)
        eager = model(batch.inputs, batch.lengths)
        jitted = apply(model, batch.inputs, batch.lengths)
        spec = task.spec
        want = (spec.seq_len, 3, spec.out_features) if spec.scored == "every" else (3, 1)
        assert eager.shape == want
        assert np.isfinite(np.asarray(eager)).all()
        np.testing.assert_allclose(jitted, eager, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", ZOO)
def test_streaming_step_equals_whole_sequence(name):
    model, task = model_and_task(name, "copy" if is_causal(name) else "adding")
    batch = sample(task, 1, 2)
    try:
        model.initial_state(2)
    except NotImplementedError as e:
        assert not is_causal(name) or name == "transformer", e
        pytest.skip(str(e))
    np.testing.assert_allclose(stream(model, batch.inputs), apply(model, batch.inputs), atol=2e-5)


@pytest.mark.parametrize("name", [n for n in ZOO if is_causal(n)])
def test_causal_models_do_not_see_the_future(name):
    model, task = model_and_task(name, "copy")
    emb_TBD = model.encode(sample(task, 2, 2).inputs)
    graphdef, weights = nnx.split(model)

    def per_step(weights, e):
        m = nnx.merge(graphdef, weights)
        return m.readout(m.backbone(e)).sum(axis=(1, 2))

    jac_TTBD = jax.jit(jax.jacrev(per_step, argnums=1))(weights, emb_TBD)
    influence_TT = np.abs(np.asarray(jac_TTBD)).sum(axis=(2, 3))
    assert np.all(np.triu(influence_TT, k=1) == 0)  # output t never depends on input s > t
    assert np.all(np.diag(influence_TT) > 0)
    assert influence_TT[-1, 0] > 0  # ... and does depend on the distant past


@pytest.mark.parametrize("name", [n for n in ZOO if not is_causal(n)])
def test_non_causal_models_are_refused_on_per_step_tasks(name):
    with pytest.raises(config_lib.ConfigError, match="needs a causal model"):
        config(name, "copy", 8)


@pytest.mark.parametrize("name", ZOO)
def test_param_budget_within_five_percent(name):
    cfg = config(name, "adding", 8, **{"model.param_budget": 30_000})
    spec = TASKS.get("adding")(cfg.task).spec
    built = resolve(cfg.model, spec)
    assert abs(count_params(built, spec) - 30_000) <= 0.05 * 30_000
    assert built.hidden != cfg.model.hidden  # the budget, not the config's width, chose it


@pytest.mark.parametrize(
    ("name", "overrides", "expected"),
    [
        ("lstm", {}, 2 * 16),  # c and h
        ("gru", {}, 16),
        ("slstm", {"model.heads": 2}, 4 * 16),  # c, n, m, h
        ("lstm1997", {"model.hidden": 4, "model.heads": 2}, 4 + 8),  # cells; cells and gates
        # one layer's key and value cache at the task's 28 steps (copy T=8)
        ("transformer", {"model.heads": 2, "model.positions": "rotary"}, 2 * 28 * 16),
        ("bilstm", {"task.name": "adding"}, None),  # no streaming state
    ],
)
def test_state_size_is_the_carry(name, overrides, expected):
    from seqlab.models.sizing import state_size

    cfg = small_config(**{"model.name": name, **overrides})
    spec = TASKS.get(cfg.task.name)(cfg.task).spec
    assert state_size(cfg.model, spec) == expected
