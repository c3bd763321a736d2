"""Config files, command-line overrides and validation.

A config file is Python with `get_config(arg=None) -> ConfigDict` (ml_collections), loaded by
path, optionally as `path.py:arg`. Overrides are `--config.section.key=value`; the config is
locked, so a misspelt key is an error that names the valid keys. Every problem raises
`ConfigError` with a one-line message.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import ml_collections

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine")
WANDB_MODES = ("auto", "online", "offline", "disabled")


class ConfigError(ValueError):
    """Bad configuration or command-line input: one line, exit status 2."""


def base_config() -> ml_collections.ConfigDict:
    """The defaults every config file starts from (configs/base.py returns exactly this)."""
    c = ml_collections.ConfigDict()
    # A task reads `length` and the fields its registry entry lists in `task_fields` (`seqlab
    # tasks` shows them); the others must keep these defaults. 0 / "" mean the task's default.
    c.task = dict(
        name="copy",
        length=100,
        min_length=0,  # variable-length tasks: the shortest training sequence
        vocab_size=0,  # tasks with a vocabulary: its size
        memorize=0,  # selective_copy: data tokens to recall
        pairs=0,  # mqar: key-value pairs per sequence
        modulus=0,  # modular_arithmetic: the modulus; cycle_navigation: the cycle's length
        data_dir="",  # dataset tasks: the tensorflow-datasets data directory
        permutation="",  # psmnist: which fixed pixel permutation
    )
    c.model = dict(
        name="lstm",
        hidden=128,
        layers=1,
        embed_dim=16,  # embedding width for tokens, linear-encoder width for reals; cell
        # models: 0 = no encoder (tokens one-hot, reals as they are), as Arjovsky et al. 2016
        residual=False,  # x + mixer(norm(x)) around each layer
        norm="none",  # none | layer | rms (only with residual)
        forget_bias=1.0,
        chrono_tmax=0,  # >= 3: chrono init of the gate biases (Tallec & Ollivier 2018); 0 = off
        unroll=1,
        remat=False,
        hoist_input=False,  # input projection for all steps before the scan
        checkpoint_every=0,  # > 0: cells keep their carry every K steps, recompute the rest
        backward="autodiff",  # autodiff | hand: lstm/bilstm's hand-written backward pass
        size="",  # a registered size variant (`seqlab models` lists them): sets hidden, layers
        param_budget=0,  # > 0: choose hidden so the parameter count is within 5% of this
        bidirectional=False,  # recurrent models: each layer runs forward and in reverse
        merge="concat",  # concat | sum: how a bidirectional layer joins its two directions
        heads=4,  # slstm, mlstm, xlstm, transformer, hawk; mamba2: heads; s5: HiPPO init blocks
        irnn=False,  # rnn: ReLU with identity recurrent init (Le, Jaitly & Hinton 2015)
        forget_gate="sigmoid",  # slstm: sigmoid | exponential
        mlstm_form="parallel",  # mlstm, xlstm: recurrent | parallel | chunkwise
        chunk_size=64,  # mlstm chunkwise form; linear recurrences' chunked form; mamba2's ssd
        scan_form="auto",  # linear recurrences (lru, mingru, minlstm, hawk, s5, mamba, mamba2):
        # auto (the backend's fastest measured: seqlab.models.scan_defaults) | scan |
        # associative | chunked (model.chunk_size steps a chunk) | log (mingru, minlstm: log
        # space) | ssd (mamba2: its chunked SSD algorithm)
        state_dim=0,  # lru: N; hawk: RG-LRU width (0: model.hidden); s5: P (0: model.hidden
        # rounded up to 2·heads); mamba: N (0: 16); mamba2: N (0: 64)
        r_min=0.0,  # lru ring init: λ uniform (by area) on the ring r_min <= |λ| <= r_max
        r_max=1.0,
        max_phase=6.28,  # lru ring init: arg λ uniform in [0, max_phase] (the paper code's 6.28)
        proj_factor=2.0,  # mLSTM block up-projection factor; mamba, mamba2: expansion E
        ffn_factor=1.3,  # sLSTM block feed-forward (post-up-projection) factor
        conv_kernel=4,  # causal depthwise conv in the xLSTM, Hawk, Mamba and Mamba-2 blocks
        causal=True,  # transformer: causal decoder (true) or bidirectional encoder (false)
        positions="learned",  # transformer: learned | sinusoidal | rotary | alibi | none
        mlp_ratio=4,  # transformer feed-forward width / hidden
        attention_block="seqlab",  # transformer: seqlab (pre-LN blocks, attention + MLP) |
        # zoology (Arora et al. 2023's attention baseline: x + Attn(LN(x)), then x + LN(x) --
        # their Identity state mixer -- no MLP; GPT-2 init; embedding tied to the readout)
        init="default",  # cell models: default (flax's) | glorot_uniform (every weight matrix)
        learn_initial_state=False,  # cell models: the initial carry is a learned parameter
        output_peephole="none",  # lstm: none | full (o also sees c_t through a matrix)
    )
    c.train = dict(
        steps=2000,
        batch_size=64,
        chunk=100,
        seed=0,
        seeds=1,
        init_from="",  # a run directory: start from its latest parameters (fresh optimiser)
        fast_compile=False,  # CPU: compile the training chunk faster, run it up to 8% slower
        seed_strategy="auto",  # auto | vmap | map | devices | devices-vmap (train.loop.over_seeds)
        stop_when_solved=False,  # a seed stops (freezes) once solved; the run ends when all have
        solved_streak=0,  # > 0: also solved once this many training sequences in a row meet
        # the task's criterion (Hochreiter & Schmidhuber 1997's stopping rule: 2000)
        train_set=0,  # > 0: batches drawn from a fixed set of this many sequences per seed
    )
    c.optim = dict(
        name="adam",
        lr=1e-3,
        schedule="constant",
        warmup_steps=0,
        final_lr_fraction=0.0,  # cosine decays to lr * final_lr_fraction
        schedule_steps=0,  # the schedule's length (0: train.steps); longer: train its first steps
        clip_norm=1.0,  # 0 disables clipping by global norm
        clip_value=0.0,  # 0 disables clipping by value
        weight_decay=0.0,
        b1=0.9,
        b2=0.999,
        eps=1e-8,
        decay=0.9,  # rmsprop
        momentum=0.0,  # sgd, rmsprop
        initial_scale=0.0,  # rmsprop: the accumulator's initial value (torch 0, TF1 1)
    )
    c.eval = dict(
        every=500,
        batches=4,
        batch_size=256,
        seed=2**31 - 1,
        lengths=(),  # also evaluate at these task lengths (length generalisation)
        check_every=0,  # > 0: check the solved criterion this often on eval.check_batches
        # held-out batches; where it holds, the full evaluation runs and decides
        check_batches=1,
    )
    c.checkpoint = dict(every=1000, keep=3, minutes=10.0)  # also save when this much time passed
    c.track = dict(wandb=False, project="seqlab", entity="", group="", tags=(), mode="auto", dir="")
    return c


def load(spec: str, overrides: list[tuple[str, str]] = ()) -> ml_collections.ConfigDict:
    """Loads `path.py[:arg]`, applies `(dotted_key, value_string)` overrides, validates."""
    path_str, _, arg = spec.partition(":")
    module = load_python_file(path_str, "config", "get_config")
    cfg = module.get_config(arg) if arg else module.get_config()
    cfg = ml_collections.ConfigDict(cfg.to_dict())  # fresh, so the file's object stays its own
    cfg.lock()
    return override_and_validate(cfg, overrides)


def load_python_file(path: str | Path, kind: str, function: str) -> ModuleType:
    """Imports a config or sweep file by path; ConfigError if it is missing, fails to load
    or defines no callable `function`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{kind} file {str(path)!r} does not exist")
    module_spec = importlib.util.spec_from_file_location(f"seqlab_{kind}_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        raise ConfigError(f"{kind} file {str(path)!r} failed to load: {e}") from e
    if not callable(getattr(module, function, None)):
        raise ConfigError(f"{kind} file {str(path)!r} defines no {function}()")
    module.__file__ = str(path)
    return module


def override_and_validate(
    cfg: ml_collections.ConfigDict, overrides: list[tuple[str, str]] = ()
) -> ml_collections.ConfigDict:
    """Applies `(dotted_key, value_string)` overrides to a locked config, then validates it."""
    for key, value in overrides:
        apply_override(cfg, key, value)
    validate(cfg)
    return cfg


def from_dict(d: dict) -> ml_collections.ConfigDict:
    """A config from its JSON form (config.json), checked against the current defaults."""
    cfg = base_config()
    cfg.lock()
    for key, value in flatten(d).items():
        apply_value(cfg, key, tuple(value) if isinstance(value, list) else value)
    validate(cfg)
    return cfg


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def with_defaults(stored: dict) -> dict:
    """A stored config (config.json's content) with every field it lacks set to its default.

    A field seqlab added after the run was written counts as its default, so the run keeps
    its identity (`config_id`) and resumes: a new option's default is the behaviour from before
    the option existed."""

    def merge(default, value):
        if isinstance(default, dict) and isinstance(value, dict):
            return {**default, **{k: merge(default.get(k), v) for k, v in value.items()}}
        return value

    return merge(base_config().to_dict(), stored)


def to_json(cfg: ml_collections.ConfigDict) -> str:
    return json.dumps(cfg.to_dict(), indent=2, sort_keys=True, default=list)


def _parent(cfg: ml_collections.ConfigDict, dotted: str) -> tuple[ml_collections.ConfigDict, str]:
    node, parts = cfg, dotted.split(".")
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the config"
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            valid = (
                ", ".join(sorted(node.keys()))
                if isinstance(node, ml_collections.ConfigDict)
                else ""
            )
            raise ConfigError(f"unknown config key {dotted!r}; valid keys in {where}: {valid}")
        if depth < len(parts) - 1:
            node = node[part]
    if isinstance(node[parts[-1]], ml_collections.ConfigDict):
        raise ConfigError(f"config key {dotted!r} is a section; set one of its keys instead")
    return node, parts[-1]


def apply_override(cfg: ml_collections.ConfigDict, dotted: str, text: str) -> None:
    """Sets `dotted` from a command-line string, parsed to the type of the current value."""
    node, leaf = _parent(cfg, dotted)
    apply_value(cfg, dotted, parse_value(text, node[leaf], dotted))


def apply_value(cfg: ml_collections.ConfigDict, dotted: str, value: Any) -> None:
    node, leaf = _parent(cfg, dotted)
    current = node[leaf]
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(current) is not type(value) and current is not None:
        raise ConfigError(
            f"config key {dotted!r} expects {type(current).__name__}, got {value!r} "
            f"({type(value).__name__})"
        )
    node[leaf] = value


def parse_value(text: str, current: Any, dotted: str) -> Any:
    if isinstance(current, bool):
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConfigError(f"config key {dotted!r} expects a bool (true or false), got {text!r}")
    if isinstance(current, str):
        return text
    if isinstance(current, tuple):
        if text.strip() in ("", "()", "[]"):
            return ()
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = [t.strip() for t in text.split(",")]
        return tuple(parsed) if isinstance(parsed, list | tuple) else (parsed,)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        kind = type(current).__name__
        raise ConfigError(f"config key {dotted!r} expects {kind}, got {text!r}") from None


_POSITIVE_INTS = (
    "task.length",
    "model.hidden",
    "model.layers",
    "model.unroll",
    "model.heads",
    "model.chunk_size",
    "model.conv_kernel",
    "model.mlp_ratio",
    "train.steps",
    "train.batch_size",
    "train.chunk",
    "train.seeds",
    "eval.every",
    "eval.batches",
    "eval.batch_size",
    "eval.check_batches",
    "checkpoint.every",
    "checkpoint.keep",
)
MERGES = ("concat", "sum")
FORGET_GATES = ("sigmoid", "exponential")
MLSTM_FORMS = ("recurrent", "parallel", "chunkwise")
INITS = ("default", "glorot_uniform")
# seqlab.models.linear_recurrence.FORMS, and mamba2's "ssd"
SCAN_FORMS = ("auto", "scan", "associative", "chunked", "log", "ssd")
OUTPUT_PEEPHOLES = ("none", "full")
POSITIONS = ("learned", "sinusoidal", "rotary", "alibi", "relative", "none")
ATTENTION_BLOCKS = ("seqlab", "zoology")  # seqlab.models.transformer
SEED_STRATEGIES = ("auto", "vmap", "map", "devices", "devices-vmap")  # seqlab.train.loop.over_seeds

_CHOICES = {
    "model.merge": MERGES,
    "model.forget_gate": FORGET_GATES,
    "model.mlstm_form": MLSTM_FORMS,
    "model.positions": POSITIONS,
    "model.attention_block": ATTENTION_BLOCKS,
    "model.init": INITS,
    "model.scan_form": SCAN_FORMS,
    "model.output_peephole": OUTPUT_PEEPHOLES,
    "train.seed_strategy": SEED_STRATEGIES,
    "optim.name": OPTIMIZERS,
    "optim.schedule": SCHEDULES,
    "track.mode": WANDB_MODES,
}


def schedule_steps(cfg) -> int:
    """The learning-rate schedule's length: `optim.schedule_steps`, or (0) the run's
    `train.steps`. A run shorter than its schedule trains the schedule's first steps, with the
    learning rates the whole schedule has there (NX-AI's 20,000-step cosine stopped at 6,000)."""
    return cfg.optim.schedule_steps or cfg.train.steps


def validate(cfg: ml_collections.ConfigDict) -> None:
    """Checks names, ranges and choices; raises ConfigError naming the key and valid values."""
    from seqlab.models.recurrence import BACKWARDS
    from seqlab.models.sequence import NORMS
    from seqlab.registry import MODELS, TASKS, UnknownNameError

    for key in _POSITIVE_INTS:
        node, leaf = _parent(cfg, key)
        value = node[leaf]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    for key, choices in {**_CHOICES, "model.norm": NORMS, "model.backward": BACKWARDS}.items():
        node, leaf = _parent(cfg, key)
        if node[leaf] not in choices:
            raise ConfigError(f"{key} is {node[leaf]!r}; valid choices: {', '.join(choices)}")
    o = cfg.optim
    if not (math.isfinite(o.lr) and o.lr > 0):
        raise ConfigError(f"optim.lr must be a positive number, got {o.lr!r}")
    for key in ("clip_norm", "clip_value", "weight_decay", "momentum", "final_lr_fraction"):
        if not o[key] >= 0:
            raise ConfigError(f"optim.{key} must be >= 0, got {o[key]!r}")
    if not (isinstance(o.schedule_steps, int) and o.schedule_steps >= 0):
        raise ConfigError(
            "optim.schedule_steps must be an integer >= 0 (0: train.steps), "
            f"got {o.schedule_steps!r}"
        )
    if 0 < o.schedule_steps < cfg.train.steps:
        raise ConfigError(
            f"optim.schedule_steps must be 0 (train.steps) or >= train.steps={cfg.train.steps}, "
            f"got {o.schedule_steps}"
        )
    length = schedule_steps(cfg)
    if not 0 <= o.warmup_steps < length:
        raise ConfigError(
            f"optim.warmup_steps must be in [0, {length}) (the schedule's length: "
            f"optim.schedule_steps, or train.steps), got {o.warmup_steps}"
        )
    if cfg.model.chrono_tmax < 0 or cfg.model.chrono_tmax in (1, 2):
        raise ConfigError(f"model.chrono_tmax must be 0 (off) or >= 3, got {cfg.model.chrono_tmax}")
    if not (math.isfinite(cfg.checkpoint.minutes) and cfg.checkpoint.minutes >= 0):
        raise ConfigError(
            f"checkpoint.minutes must be >= 0 (0 = only every checkpoint.every steps), "
            f"got {cfg.checkpoint.minutes!r}"
        )
    if cfg.train.seed < 0:
        raise ConfigError(f"train.seed must be >= 0, got {cfg.train.seed}")
    try:
        entry = MODELS.entry(cfg.model.name)
        task_entry = TASKS.entry(cfg.task.name)
    except UnknownNameError as e:
        raise ConfigError(str(e)) from None
    validate_task_fields(cfg.task, task_entry)
    try:
        task = task_entry.factory(cfg.task)  # task factories check their own fields
    except ValueError as e:
        raise ConfigError(str(e)) from None
    spec = task.spec
    validate_protocol(cfg, task)
    if not cfg.model.residual and cfg.model.norm != "none":
        raise ConfigError("model.norm applies only with model.residual=true; set model.norm=none")
    validate_model(cfg.model, entry, spec)
    validate_eval_lengths(cfg, entry, task_entry, spec)


def validate_protocol(cfg: ml_collections.ConfigDict, task) -> None:
    """The training protocol's options: stopping when solved, a fixed training set, and the
    optimiser's paper-specific settings."""
    from seqlab.tasks.base import host_fed

    for key in ("train.solved_streak", "train.train_set", "eval.check_every"):
        node, leaf = _parent(cfg, key)
        if not isinstance(node[leaf], int) or isinstance(node[leaf], bool) or node[leaf] < 0:
            raise ConfigError(f"{key} must be an integer >= 0 (0 = off), got {node[leaf]!r}")
    if cfg.train.train_set and host_fed(task):
        raise ConfigError(
            f"train.train_set applies to generated tasks; {cfg.task.name!r} reads its training "
            "set from a dataset: set train.train_set=0"
        )
    o = cfg.optim
    if not (math.isfinite(o.initial_scale) and o.initial_scale >= 0):
        raise ConfigError(f"optim.initial_scale must be >= 0, got {o.initial_scale!r}")
    if o.initial_scale and o.name != "rmsprop":
        raise ConfigError(
            f"optim.initial_scale applies to optim.name=rmsprop, not {o.name!r}; set it to 0"
        )
    if not (math.isfinite(o.eps) and o.eps >= 0):
        raise ConfigError(f"optim.eps must be >= 0, got {o.eps!r}")
    if o.name == "rmsprop" and o.eps == 0 and o.initial_scale == 0:
        raise ConfigError(
            "optim.eps=0 with optim.initial_scale=0 divides by zero in RMSProp's first step; "
            "give one of them a positive value"
        )


def validate_task_fields(task: ml_collections.ConfigDict, task_entry) -> None:
    """A task field the task does not read must keep its default (a typo would do nothing)."""
    defaults = base_config().task
    reads = ("name", "length", *task_entry.task_fields)
    for key in task:
        if key not in reads and task[key] != defaults[key]:
            uses = ", ".join(f"task.{f}" for f in reads[1:])
            raise ConfigError(f"task.{key} does not apply to task {task.name!r}; it reads {uses}")


def task_at_length(task: ml_collections.ConfigDict, length: int) -> ml_collections.ConfigDict:
    """The task config evaluated at `length`: every sequence exactly that long."""
    from seqlab.registry import TASKS

    at = ml_collections.ConfigDict(task.to_dict())
    at.length = length
    if "min_length" in TASKS.entry(task.name).task_fields:
        at.min_length = length
    return at


def validate_eval_lengths(cfg, entry, task_entry, spec) -> None:
    lengths = cfg.eval.lengths
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in lengths):
        raise ConfigError(f"eval.lengths must be positive integers, got {list(lengths)}")
    if len(set(lengths)) != len(lengths):
        raise ConfigError(f"eval.lengths has repeated lengths: {list(lengths)}")
    limit = entry.step_limit(cfg.model, spec)
    for length in lengths:
        try:
            steps = task_entry.factory(task_at_length(cfg.task, length)).spec.seq_len
        except ValueError as e:
            raise ConfigError(f"eval.lengths: at length {length}: {e}") from None
        if limit is not None and steps > limit[0]:
            raise ConfigError(
                f"eval.lengths: length {length} gives {steps} steps, but model "
                f"{cfg.model.name!r} runs at most {limit[0]}: {limit[1]}"
            )


def validate_model(m: ml_collections.ConfigDict, entry, spec) -> None:
    """Checks the model fields against its family's traits, then builds it abstractly."""
    from seqlab.models.sizing import resolve
    from seqlab.registry import MODELS

    name = m.name
    if entry.blocks and (m.residual or m.norm != "none"):
        raise ConfigError(
            f"model {name!r} is built of residual blocks with their own norms; "
            "model.residual and model.norm apply to cell models only"
        )
    if m.bidirectional and not entry.recurrent:
        raise ConfigError(
            f"model.bidirectional applies to recurrent models, not {name!r}"
            + (" (use model.causal=false for an encoder)" if name == "transformer" else "")
        )
    if m.size and m.size not in entry.sizes:
        raise ConfigError(
            f"model.size is {m.size!r}; valid choices for {name!r}: {', '.join(entry.sizes)}"
        )
    if not isinstance(m.embed_dim, int) or isinstance(m.embed_dim, bool) or m.embed_dim < 0:
        raise ConfigError(f"model.embed_dim must be an integer >= 0, got {m.embed_dim!r}")
    if m.embed_dim == 0 and entry.blocks:
        raise ConfigError(
            f"model.embed_dim=0 (no encoder) applies to cell models; {name!r} is built of "
            "residual blocks whose stream is model.hidden wide"
        )
    if m.init not in entry.inits:
        raise ConfigError(
            f"model.init={m.init} does not apply to {name!r}; valid choices for it: "
            f"{', '.join(entry.inits)}"
        )
    if m.learn_initial_state and not entry.learns_initial_state:
        learners = ", ".join(n for n in MODELS.names() if MODELS.entry(n).learns_initial_state)
        raise ConfigError(
            f"model.learn_initial_state applies to {learners or 'no model'}, not {name!r}"
        )
    if m.output_peephole not in entry.output_peepholes:
        raise ConfigError(
            f"model.output_peephole={m.output_peephole} does not apply to {name!r}; valid "
            f"choices for it: {', '.join(entry.output_peepholes)}"
        )
    if m.scan_form != "auto" and m.scan_form not in entry.scan_forms:
        raise ConfigError(
            f"model.scan_form={m.scan_form} does not apply to {name!r}; valid choices for it: "
            f"auto, {', '.join(entry.scan_forms)}"
        )
    if not (
        isinstance(m.state_dim, int) and not isinstance(m.state_dim, bool) and m.state_dim >= 0
    ):
        raise ConfigError(
            "model.state_dim must be an integer >= 0 (0 = the family's default), "
            f"got {m.state_dim!r}"
        )
    if not 0.0 <= m.r_min < m.r_max <= 1.0:
        raise ConfigError(
            f"model.r_min and model.r_max must satisfy 0 <= r_min < r_max <= 1, got "
            f"{m.r_min} and {m.r_max}"
        )
    if not m.max_phase > 0:
        raise ConfigError(f"model.max_phase must be > 0, got {m.max_phase}")
    if m.param_budget < 0:
        raise ConfigError(f"model.param_budget must be >= 0 (0 = off), got {m.param_budget}")
    if m.checkpoint_every < 0:
        raise ConfigError(
            f"model.checkpoint_every must be >= 0 (0 = off), got {m.checkpoint_every}"
        )
    if m.backward == "hand" and not entry.hand_backward:
        hand = ", ".join(n for n in MODELS.names() if MODELS.entry(n).hand_backward)
        raise ConfigError(
            f"model.backward=hand applies to models with a hand-written backward pass ({hand}), "
            f"not {name!r}; use model.backward=autodiff"
        )
    if spec.causal and not entry.causal(m):
        raise ConfigError(
            f"model {name!r} as configured sees future inputs, but task {spec.name!r} scores "
            "an output at every step and needs a causal model; use a unidirectional model "
            "(model.bidirectional=false, model.causal=true) or a task scored at the last step"
        )
    try:
        resolve(m, spec)  # sizes, the parameter budget, and the family's own checks
    except ValueError as e:
        raise ConfigError(str(e)) from None
