"""The zoo the model tests run every model through: small sizes per model, and how a test
builds one (tests/models/test_zoo.py, test_zoo_training.py).

A new model must be added to ZOO (a test checks the registry against it).
"""

from __future__ import annotations

import jax

from seqlab.registry import MODELS, TASKS
from seqlab.train.state import build_model
from tests.conftest import small_config
from tests.models.common import model_cfg

# Small sizes per model (overrides of tests.conftest.small_config's model section).
ZOO = {
    "rnn": {},
    "lstm": {},
    "lstm1997": {"heads": 2},
    "peephole_lstm": {},
    "gru": {},
    "bilstm": {},
    "bigru": {},
    "slstm": {"heads": 2},
    "mlstm": {"layers": 1, "heads": 2},
    "xlstm[1:1]": {"layers": 2, "heads": 2},
    "transformer": {"layers": 2, "heads": 2},
    "lru": {},
    "mingru": {"scan_form": "log"},
    "minlstm": {"scan_form": "associative"},
    "hawk": {"layers": 2, "heads": 2, "scan_form": "chunked", "chunk_size": 16},
    "s5": {"layers": 2, "heads": 2, "scan_form": "associative"},
    "mamba": {"layers": 2, "state_dim": 4, "scan_form": "scan"},
    "mamba2": {"layers": 2, "heads": 2, "state_dim": 8, "scan_form": "chunked", "chunk_size": 16},
}


def config(name: str, task_name: str, length: int, **overrides):
    fields = {"model.name": name, "task.name": task_name, "task.length": length}
    fields.update({f"model.{k}": v for k, v in ZOO[name].items()})
    fields.update(overrides)
    return small_config(**fields)


def is_causal(name: str) -> bool:
    return MODELS.entry(name).causal(model_cfg(name, **ZOO[name]))


def model_and_task(name: str, task_name: str, length: int = 6):
    cfg = config(name, task_name, length)
    task = TASKS.get(task_name)(cfg.task)
    return build_model(cfg.model, task.spec, jax.random.key(0)), task
