"""Orbax checkpoints of the TrainState in `<run>/checkpoints/<step>/`.

The state is saved as a flat dict {pytree path: array}, keys as `jax.random.key_data`, and
restored into the structure of a freshly initialised state of the same config, so any
optimiser state or model pytree round-trips. A checkpoint that fails to restore (damaged,
half-deleted) is skipped with a warning in favour of the previous one; one of another layout
(another seqlab version's optimiser state, say) stops the run with a one-line error.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from seqlab.config import ConfigError
from seqlab.train.state import LATER_FIELDS, TrainState


def _flatten(state: TrainState) -> dict[str, np.ndarray]:
    state = state.replace(key=jax.random.key_data(state.key))
    leaves, _ = jax.tree_util.tree_flatten_with_path(state)
    return {jax.tree_util.keystr(path): np.asarray(x) for path, x in leaves}


def _unflatten(flat: dict[str, np.ndarray], like: TrainState) -> TrainState:
    raw = like.replace(key=jax.random.key_data(like.key))
    paths, treedef = jax.tree_util.tree_flatten_with_path(raw)
    leaves = [flat[jax.tree_util.keystr(path)] for path, _ in paths]
    restored = jax.tree_util.tree_unflatten(treedef, leaves)
    return restored.replace(
        key=jax.random.wrap_key_data(restored.key, impl=jax.random.key_impl(like.key))
    )


def load_params(run_dir: Path, like: TrainState) -> Any:
    """The parameters of `run_dir`'s latest checkpoint, in the structure of `like`'s."""
    if not (Path(run_dir) / "checkpoints").is_dir():
        raise ConfigError(f"train.init_from {str(run_dir)!r} holds no checkpoints")
    checkpointer = Checkpointer(Path(run_dir) / "checkpoints", keep=1_000_000)
    try:
        restored = checkpointer.restore_latest(like, delete_damaged=False, part="params")
    finally:
        checkpointer.close()
    if restored is None:
        raise ConfigError(f"train.init_from {str(run_dir)!r} has no checkpoint that restores")
    return restored[0].params


def _check_layout(stored: dict[str, np.ndarray], expected: dict[str, Any], where: str) -> None:
    """ConfigError unless `stored` holds every expected array with its shape and dtype."""
    missing = sorted(expected.keys() - stored.keys())
    if missing:
        unexpected = sorted(stored.keys() - expected.keys())
        raise ConfigError(
            f"{where} stores a training state laid out differently from this version of "
            f"seqlab's (missing {', '.join(missing[:2])}; has {', '.join(unexpected[:2])}): "
            "resume it with the seqlab version that wrote it, or train in a new workdir"
        )
    for k, want in expected.items():
        got = stored[k]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise ConfigError(
                f"{where} stores {k} as {got.dtype}{list(got.shape)}, this config builds "
                f"{want.dtype}{list(want.shape)}: it was written for another model"
            )


class Checkpointer:
    def __init__(self, directory: Path, keep: int):
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        self.manager = ocp.CheckpointManager(
            Path(directory).absolute(), options=options, item_names=("state", "meta")
        )
        self.directory = Path(directory)

    def save(self, state: TrainState, meta: dict) -> None:
        step = int(jax.device_get(state.step).reshape(-1)[0])
        self.manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(_flatten(state)), meta=ocp.args.JsonSave(meta)
            ),
            force=True,
        )
        self.manager.wait_until_finished()

    def restore_latest(
        self, like: TrainState, delete_damaged: bool = True, part: str = ""
    ) -> tuple[TrainState, dict] | None:
        """The newest checkpoint that restores, or None when there is none.

        A checkpoint that cannot be read is deleted (unless `delete_damaged` is False), so that
        training can save that step again. One that reads but holds a state of another layout
        or shapes (written by another seqlab version, or for another model) is a ConfigError,
        and is kept. `part` ("params"): only that field of the state is checked and restored,
        the rest of `like` is returned as it is.
        """
        self.manager.reload()
        template = _flatten(like)
        expected = {k: v for k, v in template.items() if k.startswith(f".{part}")}
        for step in sorted(self.manager.all_steps(), reverse=True):
            try:
                restored = self.manager.restore(
                    step,
                    args=ocp.args.Composite(
                        state=ocp.args.StandardRestore(), meta=ocp.args.JsonRestore()
                    ),
                )
            except Exception as e:
                warnings.warn(
                    f"checkpoint at step {step} could not be restored ({type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else ''}); deleting it and falling back "
                    "to an earlier one",
                    stacklevel=2,
                )
                if delete_damaged:
                    self.manager.delete(step)
                continue
            stored = restored["state"]
            # fields seqlab added later keep their initial value in an older checkpoint
            expected = {
                k: v
                for k, v in expected.items()
                if k in stored or k.lstrip(".") not in LATER_FIELDS
            }
            _check_layout(stored, expected, f"the checkpoint at step {step} in {self.directory}")
            flat = {k: stored[k] if k in expected else v for k, v in template.items()}
            return _unflatten(flat, like), dict(restored["meta"])
        return None

    def close(self) -> None:
        self.manager.close()
