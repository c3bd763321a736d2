"""`seqlab train | sweep | results | export | docs | report | dashboard | data | bench | models
| tasks`.

Bad input exits with status 2 and one line on stderr that names the problem and the valid
choices; nothing is written before the input has been checked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqlab.config import ConfigError

OVERRIDE_PREFIX = "--config."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too)
        raise ConfigError(message)


def _split_overrides(extra: list[str]) -> list[tuple[str, str]]:
    overrides, i = [], 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith(OVERRIDE_PREFIX):
            raise ConfigError(
                f"unrecognised argument {arg!r}; overrides look like --config.model.hidden=128"
            )
        key, eq, value = arg[len(OVERRIDE_PREFIX) :].partition("=")
        if not eq:
            if i + 1 >= len(extra):
                raise ConfigError(f"override {arg!r} has no value")
            value, i = extra[i + 1], i + 1
        overrides.append((key, value))
        i += 1
    return overrides


def _load_train_config(args, overrides):
    from seqlab import config as config_lib
    from seqlab.train.rundir import CONFIG, read_json

    if args.config:
        return config_lib.load(args.config, overrides)
    stored = Path(args.workdir) / CONFIG
    if not stored.exists():
        raise ConfigError(f"--config is required: {str(args.workdir)!r} holds no run to resume")
    return config_lib.override_and_validate(config_lib.from_dict(read_json(stored)), overrides)


def cmd_train(args, extra) -> int:
    import seqlab.models
    import seqlab.tasks  # noqa: F401
    from seqlab.train.run import train
    from seqlab.train.rundir import SUMMARY

    cfg = _load_train_config(args, _split_overrides(extra))
    summary = train(cfg, args.workdir, progress=not args.quiet)
    solved = summary["solved_seeds"]
    print(
        f"{summary['status']}: {cfg.model.name} on {cfg.task.name} T={cfg.task.length}, "
        f"{solved}/{len(summary['seeds'])} seeds solved ({summary['task']['solved']}); "
        f"run record in {args.workdir} ({SUMMARY}, metrics.jsonl)"
    )
    return 0


def cmd_list(registry_name: str):
    def run(args, extra) -> int:
        if extra:
            raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
        import seqlab.models
        import seqlab.tasks  # noqa: F401
        from seqlab import registry

        entries = getattr(registry, registry_name).describe()
        width = max(len(n) for n, _ in entries)
        for name, description in entries:
            print(f"{name:<{width}}  {description}")
        return 0

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seqlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("train", help="train one config; resumes a run directory that exists")
    p.add_argument("--config", help="config file, optionally path.py:arg")
    p.add_argument("--workdir", required=True, help="run directory (created, or resumed)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=cmd_train)
    from seqlab.bench import add_parser as add_bench
    from seqlab.data.command import add_parser as add_data
    from seqlab.docs.render import add_parser as add_docs
    from seqlab.report.command import add_parsers as add_report
    from seqlab.results.command import add_parser as add_results
    from seqlab.results.export import add_parser as add_export
    from seqlab.sweep.command import add_parser as add_sweep

    add_sweep(sub)
    add_results(sub)
    add_export(sub)
    add_docs(sub)
    add_report(sub)
    add_data(sub)
    add_bench(sub)
    sub.add_parser("models", help="list the registered models").set_defaults(run=cmd_list("MODELS"))
    sub.add_parser("tasks", help="list the registered tasks").set_defaults(run=cmd_list("TASKS"))
    return parser


def main(argv: list[str] | None = None) -> int:
    from seqlab.compile_cache import use_compilation_cache
    from seqlab.devices import use_cpu_cores
    from seqlab.train.rundir import RunLockedError
    from seqlab.train.stop import Stopped

    try:
        args, extra = build_parser().parse_known_args(argv)
        use_cpu_cores()
        use_compilation_cache()
        return args.run(args, extra)
    except (ConfigError, RunLockedError) as e:
        print(f"seqlab: error: {e}", file=sys.stderr)
        return 2
    except Stopped as e:
        print(f"seqlab: {e}", file=sys.stderr)
        return e.exit_status


if __name__ == "__main__":
    sys.exit(main())
