"""A checkpoint of another layout (another seqlab version's optimiser state, another model)
stops the run with a one-line error and is kept; train.init_from reads only the parameters."""

import jax
import optax
import pytest

from seqlab.config import ConfigError
from seqlab.registry import TASKS
from seqlab.train.checkpoint import Checkpointer, load_params
from seqlab.train.optim import make_optimizer
from seqlab.train.state import init_state
from tests.conftest import small_config


def saved(tmp_path, cfg, tx):
    task = TASKS.get(cfg.task.name)(cfg.task)
    _, state = init_state(cfg.model, task, tx, [0])
    ckpt = Checkpointer(tmp_path / "checkpoints", keep=2)
    ckpt.save(state, {"step": 0, "elapsed": 0.0})
    return ckpt, task


def test_checkpoint_of_another_optimizer_layout_is_an_error_and_kept(tmp_path):
    cfg = small_config()
    per_array = optax.adam(1e-3)  # the optimiser state laid out per parameter array
    ckpt, task = saved(tmp_path, cfg, per_array)
    _, like = init_state(cfg.model, task, make_optimizer(cfg.optim, 10), [0])
    with pytest.raises(ConfigError, match=r"laid out differently.*new workdir"):
        ckpt.restore_latest(like)
    assert ckpt.manager.all_steps() == [0]  # not deleted as damaged
    ckpt.close()


def test_checkpoint_of_another_width_is_an_error(tmp_path):
    cfg = small_config()
    ckpt, task = saved(tmp_path, cfg, make_optimizer(cfg.optim, 10))
    wider = small_config(**{"model.hidden": cfg.model.hidden + 1})
    _, like = init_state(wider.model, task, make_optimizer(wider.optim, 10), [0])
    with pytest.raises(ConfigError, match="another model"):
        ckpt.restore_latest(like)
    ckpt.close()


def test_init_from_reads_parameters_of_any_optimizer_layout(tmp_path):
    cfg = small_config()
    ckpt, task = saved(tmp_path, cfg, optax.adam(1e-3))
    ckpt.close()
    _, like = init_state(cfg.model, task, make_optimizer(cfg.optim, 10), [0])
    _, stored = init_state(cfg.model, task, optax.adam(1e-3), [0])
    params = load_params(tmp_path, like)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(stored.params), strict=True):
        assert (a == b).all()
