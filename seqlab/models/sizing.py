"""Model sizes: named size variants and `model.param_budget` (equal-budget comparisons).

`resolve(model_cfg, spec)` returns the model config that is actually built: the size
variant's fields applied, then, with a budget, `model.hidden` chosen (in steps of the
family's `width_multiple`) so the parameter count is the closest to the budget, which must
come within 5% of it. Counting builds the model abstractly (`nnx.eval_shape`): no arrays.
"""

from __future__ import annotations

import functools
import json

import jax
import ml_collections
from flax import nnx

from seqlab.registry import MODELS
from seqlab.tasks.base import TaskSpec

BUDGET_TOLERANCE = 0.05

# Size variants: the fields each sets (`model.size=small`).
CELL_SIZES = {
    "tiny": {"hidden": 32, "layers": 1},
    "small": {"hidden": 128, "layers": 1},
    "base": {"hidden": 256, "layers": 2},
}
BLOCK_SIZES = {
    "tiny": {"hidden": 64, "layers": 2, "heads": 4},
    "small": {"hidden": 128, "layers": 4, "heads": 4},
    "base": {"hidden": 256, "layers": 8, "heads": 4},
}


def count_params(model_cfg, spec: TaskSpec) -> int:
    """Parameters of the model `model_cfg` describes, as built (no size/budget applied)."""
    return _count(json.dumps(model_cfg.to_dict(), sort_keys=True), spec)


@functools.lru_cache(maxsize=1024)
def _count(cfg_json: str, spec: TaskSpec) -> int:
    cfg = ml_collections.ConfigDict(json.loads(cfg_json))
    factory = MODELS.get(cfg.name)
    model = nnx.eval_shape(lambda: factory(cfg, spec, nnx.Rngs(params=jax.random.key(0))))
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def resolve(model_cfg, spec: TaskSpec) -> ml_collections.ConfigDict:
    """The model config to build: size variant, then parameter budget. Raises ValueError."""
    cfg = ml_collections.ConfigDict(model_cfg.to_dict())
    entry = MODELS.entry(cfg.name)
    if cfg.size:
        for key, value in entry.sizes[cfg.size].items():
            cfg[key] = value
    if cfg.param_budget:
        cfg.hidden = fit_width(cfg, spec, cfg.param_budget, entry.width_multiple(cfg))
    multiple = entry.width_multiple(cfg)
    if cfg.hidden % multiple:
        raise ValueError(
            f"model.hidden={cfg.hidden} must be a multiple of {multiple} for {cfg.name!r}"
        )
    count_params(cfg, spec)  # builds it: the family's own checks raise ValueError here
    cfg.lock()
    return cfg


def fit_width(cfg, spec: TaskSpec, budget: int, multiple: int) -> int:
    """The hidden width (a multiple of `multiple`) whose parameter count is closest to budget."""

    def params(k: int) -> int:
        trial = ml_collections.ConfigDict(cfg.to_dict())
        trial.hidden = k * multiple
        return count_params(trial, spec)

    hi = 1
    while params(hi) < budget and hi < 2**16:  # counts grow with width: bracket, then bisect
        hi *= 2
    lo = max(1, hi // 2)
    while lo < hi:
        mid = (lo + hi) // 2
        if params(mid) < budget:
            lo = mid + 1
        else:
            hi = mid
    best = min({max(1, lo - 1), lo}, key=lambda k: abs(params(k) - budget))
    got = params(best)
    if abs(got - budget) > BUDGET_TOLERANCE * budget:
        raise ValueError(
            f"model.param_budget={budget}: the closest {cfg.name!r} has {got} parameters "
            f"(model.hidden={best * multiple}), not within 5%; change the budget or the "
            "other size fields (layers, embed_dim, heads)"
        )
    return best * multiple


def built_size(model_cfg, spec: TaskSpec) -> dict:
    """The width and depth actually built (what summary.json records beside the count), and
    the model's own `size_fields` (heads, positions) where the registry names them, and the
    scan form a linear recurrence runs."""
    from seqlab.models.scan_defaults import scan_form
    from seqlab.registry import MODELS

    r = resolve(model_cfg, spec)
    entry = MODELS.entry(r.name)
    size = {"hidden": r.hidden, "layers": r.layers, "embed_dim": r.embed_dim}
    if len(entry.scan_forms) > 1:  # the form that ran, model.scan_form=auto resolved
        size["scan_form"] = scan_form(r)
    return size | {name: getattr(r, name) for name in entry.size_fields}


def state_size(model_cfg, spec: TaskSpec) -> int | None:
    """Numbers the model carries from one step to the next for one sequence: the floating leaves
    of its streaming state (`initial_state(1)`: every layer's carry, a Transformer's key/value
    cache at the task's length), complex numbers counting two; integer step counters are not
    state. Derived from the carry itself, never from a formula, so it stays true to the code.
    None for a model that has no streaming state (a bidirectional one reads the whole sequence)."""
    import jax.numpy as jnp

    r = resolve(model_cfg, spec)
    factory = MODELS.get(r.name)
    # built and asked for its carry inside one trace: shapes only, nothing computed
    try:
        carry = jax.eval_shape(
            lambda: factory(r, spec, nnx.Rngs(params=jax.random.key(0))).initial_state(1)
        )
    except NotImplementedError:
        return None
    total = 0
    for leaf in jax.tree.leaves(carry):
        if jnp.issubdtype(leaf.dtype, jnp.complexfloating):
            total += 2 * leaf.size
        elif jnp.issubdtype(leaf.dtype, jnp.floating):
            total += leaf.size
    return total
