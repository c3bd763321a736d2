"""Weights & Biases tracking: one W&B run per seed, mirroring metrics.jsonl and summary.json.

The default mode, 'auto', is offline unless an API key is configured, so a machine without
network access or a W&B account never blocks or fails on tracking. Offline runs are written to
`<dir>/wandb/offline-run-*` (`dir` defaults to the run directory); upload them later with

    wandb sync <workdir>/wandb/offline-run-*

Seeds are separate W&B runs grouped under the run name, so the W&B UI can aggregate them. A
run's id is derived from its run directory and seed, so resuming a run directory resumes the
same W&B runs instead of starting new ones.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# Row keys that are coordinates, not metrics: `step` and `seed` pick the run and step, `split`
# prefixes the names, and wall-clock `time` is already recorded by W&B itself.
_NOT_METRICS = frozenset({"step", "seed", "split", "time"})
# wandb still accepts these legacy spellings in WANDB_MODE.
_LEGACY_MODES = {"dryrun": "offline", "run": "online"}


def resolve_mode(mode: str) -> str:
    """Maps 'auto' to 'online' if W&B credentials are configured, else 'offline'.

    An explicit WANDB_MODE in the environment wins over 'auto'; explicit modes pass through.
    """
    if mode != "auto":
        return mode
    if env_mode := os.environ.get("WANDB_MODE"):
        return _LEGACY_MODES.get(env_mode, env_mode)
    return "online" if _has_credentials() else "offline"


def _has_credentials() -> bool:
    """Whether wandb would find credentials, judged from the environment and files only.

    Looks where wandb itself does, without asking the server whether the key is valid: the
    WANDB_API_KEY / WANDB_IDENTITY_TOKEN_FILE variables, then the netrc entry that
    `wandb login` writes for the configured host.
    """
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True

    from wandb.errors import AuthenticationError
    from wandb.sdk.lib import wbauth
    from wandb.sdk.wandb_settings import Settings

    # A fresh Settings rather than wandb's global one: loading the global settings would freeze
    # the environment that wandb.init sees later in this process.
    config_dir = os.environ.get("WANDB_CONFIG_DIR") or "~/.config/wandb"
    settings = Settings(silent=True, settings_system=str(Path(config_dir) / "settings"))
    try:
        settings.update_from_system_settings()  # `wandb login --host=...` saves base_url here
        settings.update_from_env_vars(dict(os.environ))
        return bool(settings.api_key or wbauth.read_netrc_auth(host=settings.base_url))
    except (AuthenticationError, ValueError):
        return False  # a malformed key or settings file: offline is the safe choice


def run_id(workdir: Path, seed: int) -> str:
    """A W&B run id that is stable for a run directory and seed (hex is always a valid id)."""
    return hashlib.sha1(f"{Path(workdir).resolve()}:{seed}".encode()).hexdigest()[:16]


def _flatten(prefix: str, d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(f"{prefix}/{k}", v))
        else:
            out[f"{prefix}/{k}"] = v
    return out


class WandbWriter:
    def __init__(self, track_cfg, *, run_name: str, workdir: Path, seeds: list[int], config: dict):
        import wandb  # slow to import: only runs that track with W&B pay for it

        workdir = Path(workdir)
        root = Path(track_cfg.dir or workdir)
        root.mkdir(parents=True, exist_ok=True)
        # Quiet and local: seqlab prints its own progress, and the run directory already holds
        # the config and code version, so W&B need not capture the console, git or system stats.
        settings = wandb.Settings(
            silent=True,
            console="off",
            x_disable_stats=True,
            x_disable_meta=True,
            disable_git=True,
            save_code=False,
        )
        self.runs = {}
        self.last_step = {}
        for seed in seeds:
            run = wandb.init(
                project=track_cfg.project,
                entity=track_cfg.entity or None,
                group=track_cfg.group or run_name,
                tags=list(track_cfg.tags),
                name=f"{run_name}/seed{seed}",
                id=run_id(workdir, seed),
                resume="allow",
                config={**config, "seed": seed},
                dir=str(root),
                mode=resolve_mode(track_cfg.mode),
                reinit="create_new",  # one live run per seed in this process
                settings=settings,
            )
            self.runs[seed] = run
            # A resumed run continues after its last logged step, and W&B rejects lower steps.
            self.last_step[seed] = run.starting_step

    def write(self, rows: list[dict]) -> None:
        for row in rows:
            seed, step = row["seed"], row["step"]
            # Rows replayed after a resume that W&B already has; logging them would only warn.
            if step < self.last_step[seed]:
                continue
            self.last_step[seed] = step
            split = row["split"]
            metrics = {
                f"{split}/{k}": v for k, v in row.items() if k not in _NOT_METRICS and v is not None
            }
            # No commit: train and eval rows of the same step merge into one history row.
            self.runs[seed].log(metrics, step=step)

    def summary(self, summary: dict) -> None:
        shared = {"params": summary.get("params")}
        shared.update(_flatten("throughput", summary.get("throughput") or {}))
        for record in summary.get("seeds", []):
            run = self.runs.get(record["seed"])
            if run is None:
                continue
            values = {
                **shared,
                "status": record.get("status"),
                "solved_at": record.get("solved_at"),
                "diverged_at": record.get("diverged_at"),
                **_flatten("final", record.get("final") or {}),
                **_flatten("best", record.get("best") or {}),
            }
            run.summary.update({k: v for k, v in values.items() if v is not None})

    def close(self) -> None:
        # finish() hands each run to wandb's service process, which completes the offline files
        # shortly after, at the latest when this process exits: sync them after that.
        runs, self.runs = self.runs, {}
        for run in runs.values():
            run.finish(exit_code=0)
