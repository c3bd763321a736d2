"""`seqlab data prepare NAME --data-dir DIR`: build a dataset in tfds' array_record layout.

    seqlab data prepare listops --data-dir ~/tensorflow_datasets
    seqlab data prepare listops --data-dir /tmp/tiny --train 40 --val 8 --test 8 \\
        --min-length 10 --max-length 200
    seqlab data prepare mnist --data-dir DIR [--source FOLDER_WITH_THE_4_GZ_FILES]

listops is generated locally (LRA's settings unless overridden); mnist is downloaded by tfds
(or read from --source) and written without TensorFlow. Tasks find the data through
task.data_dir (default: $SEQLAB_DATA_DIR, else ~/tensorflow_datasets).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from seqlab.config import ConfigError

DATASETS = ("listops", "mnist")


def add_parser(sub) -> argparse.ArgumentParser:
    """Registers `data` (with its `prepare` subcommand) on the CLI's subparsers."""
    p = sub.add_parser("data", help="prepare datasets for the dataset tasks")
    actions = p.add_subparsers(
        dest="data_command", metavar="prepare", required=True, parser_class=type(p)
    )
    q = actions.add_parser("prepare", help=f"build a dataset: {', '.join(DATASETS)}")
    q.add_argument("name", help=f"one of {', '.join(DATASETS)}")
    q.add_argument("--data-dir", help="tfds data directory (default $SEQLAB_DATA_DIR, else ~)")
    q.add_argument("--overwrite", action="store_true", help="listops: replace another build")
    q.add_argument("--source", help="mnist: folder with the four original .gz files")
    for name, default in (("train", 96_000), ("val", 2_000), ("test", 2_000)):
        q.add_argument(f"--{name}", type=int, default=default, help=f"listops (default {default})")
    q.add_argument("--min-length", type=int, default=500, help="listops: kept if longer")
    q.add_argument("--max-length", type=int, default=2000, help="listops: kept if shorter")
    q.add_argument("--seed", type=int, default=0, help="listops generator seed (default 0)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(run=run)
    return p


def run(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    if args.name not in DATASETS:
        raise ConfigError(f"unknown dataset {args.name!r}; valid choices: {', '.join(DATASETS)}")
    from seqlab.data import open_dataset, prepared_version, resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir or "").absolute()
    existed = prepared_version(data_dir, args.name)
    start = time.perf_counter()
    if args.name == "listops":
        if args.source:
            raise ConfigError("--source applies to mnist only")
        from seqlab.data import listops

        settings = listops.ListOpsSettings(
            train=args.train,
            val=args.val,
            test=args.test,
            min_length=args.min_length,
            max_length=args.max_length,
            seed=args.seed,
        )
        where = listops.prepare(data_dir, settings, args.overwrite, progress=not args.quiet)
    else:
        from seqlab.data import DataError, mnist

        source = Path(args.source).expanduser() if args.source else None
        try:
            where = mnist.prepare(data_dir, source)
        except DataError:
            raise
        except Exception as e:  # the download: no network, a proxy, a changed server
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataError(f"preparing mnist failed: {first}") from e
    sizes = ", ".join(
        f"{split} {len(s):,}" for split, s in open_dataset(args.name, data_dir).items()
    )
    how = (
        "already prepared" if existed == where else f"built in {time.perf_counter() - start:.1f} s"
    )
    print(
        f"{args.name} ({sizes}) is in {where} ({how}); tasks read it with "
        f"--config.task.data_dir={data_dir}"
    )
    return 0
