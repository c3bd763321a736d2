"""From a sweep file to the runs to train: expand, validate, group seeds, name.

A sweep file is Python with `sweep() -> list[dict]` of config overrides (see spec.py),
`CONFIG = "configs/<file>.py[:arg]"` (the base every entry starts from; an entry may name its
own with the key "config") and optionally `SLURM = dict(...)`. Every entry is resolved and
validated before anything is written, so a bad key, model or task refuses the whole sweep,
naming the entry.

Entries that differ only in their seeds become one program (`train.seed`, `train.seeds`: the
engine trains the seeds together, vmapped, and records each seed apart), one per contiguous
range of seeds. A run's id is the SHA-256 of its resolved config without the `track`
section; its directory under the sweep workdir is `<task><length>_<model>_<id[:8]>`.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import ml_collections

from seqlab import config as config_lib
from seqlab.config import ConfigError
from seqlab.results.load import config_id

MANIFEST = "sweep.json"


@dataclass(frozen=True)
class PlannedRun:
    id: str
    dir: str  # directory name under the sweep workdir
    config: dict  # the resolved config, JSON form (what config.json holds)
    entries: tuple[int, ...]  # indices of the sweep entries this program trains
    seeds: tuple[int, ...]
    base: str  # the config file it starts from (CONFIG or the entry's "config"), as resolved


def load_sweep_file(path: str | Path) -> ModuleType:
    return config_lib.load_python_file(path, "sweep", "sweep")


def _base_path(spec: str, sweep_path: Path) -> str:
    """A config path as given, else relative to the project (the sweep file's folder's parent)."""
    path, colon, arg = spec.partition(":")
    if Path(path).is_file():
        return spec
    beside = sweep_path.resolve().parent.parent / path
    return f"{beside}{colon}{arg}" if beside.is_file() else spec


def _describe(entry: dict) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in entry.items()) + "}"


def entry_base(index: int, entry: dict, module: ModuleType) -> str:
    """The config file an entry starts from, as a path that loads from the current directory."""
    base = entry.get("config", getattr(module, "CONFIG", None))
    if not isinstance(base, str):
        where = f"sweep entry {index} {_describe(entry)}"
        raise ConfigError(f"{where}: no base config (set CONFIG in the sweep file or 'config')")
    return _base_path(base, Path(module.__file__))


def resolve_entry(
    index: int, entry: dict, module: ModuleType, cache: dict | None = None
) -> ml_collections.ConfigDict:
    """The entry's validated config. `cache` (one per sweep) keeps each base file loaded once,
    and validates once the entries that differ only in `train.seed` (a sweep's seeds)."""
    cache = {} if cache is None else cache
    base = entry_base(index, entry, module)
    entry = {k: v for k, v in entry.items() if k != "config"}
    where = f"sweep entry {index} {_describe(entry)}"
    try:
        if base not in cache:
            cache[base] = config_lib.load(base).to_dict()
        cfg = ml_collections.ConfigDict(copy.deepcopy(cache[base]))
        cfg.lock()
        for key, value in entry.items():
            config_lib.apply_value(cfg, key, tuple(value) if isinstance(value, list) else value)
        seedless = json.loads(config_lib.to_json(cfg))
        seedless["train"].pop("seed")
        key = json.dumps(seedless, sort_keys=True)
        if cfg.train.seed < 0 or key not in cache:
            config_lib.validate(cfg)
            cache[key] = True
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    return cfg


def expand(module: ModuleType) -> list[tuple[str, ml_collections.ConfigDict]]:
    """(base config path, resolved config) of every entry."""
    try:
        entries = module.sweep()
    except (ValueError, TypeError) as e:  # product() or zip() of parts that do not fit, say
        raise ConfigError(f"sweep file {module.__file__!r}: sweep() failed: {e}") from None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"sweep file {module.__file__!r}: sweep() must return a non-empty list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"sweep entry {i} is {entry!r}, not a dict of overrides")
    cache: dict = {}
    return [
        (entry_base(i, e, module), resolve_entry(i, e, module, cache))
        for i, e in enumerate(entries)
    ]


def _with_seeds(cfg_dict: dict, first: int, count: int) -> dict:
    d = json.loads(json.dumps(cfg_dict))
    d["train"]["seed"], d["train"]["seeds"] = first, count
    return d


def _ranges(seeds: list[int]) -> list[tuple[int, int]]:
    """Sorted distinct seeds -> contiguous (first, count) ranges."""
    out: list[tuple[int, int]] = []
    for s in seeds:
        if out and out[-1][0] + out[-1][1] == s:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((s, 1))
    return out


def run_dir_name(cfg_dict: dict, run_id: str) -> str:
    model = re.sub(r"[^A-Za-z0-9_-]+", "-", cfg_dict["model"]["name"]).strip("-")
    return f"{cfg_dict['task']['name']}{cfg_dict['task']['length']}_{model}_{run_id[:8]}"


def plan(module: ModuleType, *, group_seeds: bool = True) -> list[PlannedRun]:
    """The programs to train, in the order of the sweep's first entry for each."""
    groups: dict[str, dict[str, Any]] = {}
    for i, (base, cfg) in enumerate(expand(module)):
        d = json.loads(config_lib.to_json(cfg))
        seeds = range(d["train"]["seed"], d["train"]["seed"] + d["train"]["seeds"])
        key = config_id(_with_seeds(d, 0, 1)) if group_seeds else config_id(d)
        group = groups.setdefault(key, {"config": d, "seeds": {}, "base": base})
        for s in seeds:
            group["seeds"].setdefault(s, []).append(i)
    runs = []
    for group in groups.values():
        seed_map = group["seeds"]
        if group_seeds:
            ranges = _ranges(sorted(seed_map))
        else:
            t = group["config"]["train"]
            ranges = [(t["seed"], t["seeds"])]
        for first, count in ranges:
            d = _with_seeds(group["config"], first, count)
            run_id = config_id(d)
            seeds = tuple(range(first, first + count))
            entries = tuple(sorted({i for s in seeds for i in seed_map[s]}))
            name = run_dir_name(d, run_id)
            runs.append(PlannedRun(run_id, name, d, entries, seeds, group["base"]))
    return runs


def base_configs(runs: list[PlannedRun]) -> dict[str, dict]:
    """The resolved base config (JSON form) of every config file the runs start from."""
    return {b: json.loads(config_lib.to_json(config_lib.load(b))) for b in {r.base for r in runs}}
