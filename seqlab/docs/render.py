"""`seqlab docs`: regenerate the numbers, tables and figures of the project's documents from
the committed study results (`experiments/results/*.json`, written by `seqlab export`).

    seqlab docs              # rewrite every generated block, and its figures
    seqlab docs --check      # exit 1, naming them, if any block differs from its results

A generated block in a Markdown file sits between two HTML comments,

    <!-- generated: arjovsky2016.copy -->
    ... (replaced on every render) ...
    <!-- end: arjovsky2016.copy -->

and is the output of the function of that name in `seqlab.docs.blocks.BLOCKS`; prose outside
the blocks is left as written. A block whose study has no committed results yet says so (and
how to produce them) instead of failing.
"""

from __future__ import annotations

import re
from pathlib import Path

from seqlab.config import ConfigError

DEFAULT_FILES = ("REPRODUCTIONS.md", "experiments/*.md")
_BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[\w.\-]+) -->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "docs", help="regenerate the documents' result tables and figures from committed results"
    )
    p.add_argument("files", nargs="*", help=f"Markdown files (default: {', '.join(DEFAULT_FILES)})")
    p.add_argument("--results", default="experiments/results", help="the study JSON folder")
    p.add_argument("--figures", default="docs/figures", help="where figures are written")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    p.set_defaults(run=run)


def run(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    files = [Path(f) for f in args.files] or _default_files()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"no such document: {', '.join(missing)}")
    from seqlab.docs.studies import Studies

    studies = Studies(Path(args.results), Path(args.figures), write_figures=not args.check)
    stale = []
    for path in files:
        text = path.read_text()
        studies.document_dir = path.parent
        new = render(text, studies, where=str(path))
        if new != text:
            stale.append(str(path))
            if not args.check:
                path.write_text(new)
    if args.check:
        if stale:
            print(f"seqlab docs: out of date: {', '.join(stale)} (run `seqlab docs`)")
            return 1
        print(f"seqlab docs: {len(files)} documents up to date")
        return 0
    print(f"seqlab docs: rewrote {len(stale)} of {len(files)} documents" + (
        f" ({', '.join(stale)})" if stale else ""))  # fmt: skip
    return 0


def render(text: str, studies, where: str = "document") -> str:
    """`text` with every generated block replaced by its block function's output."""
    from seqlab.docs.blocks import BLOCKS
    from seqlab.docs.studies import MissingStudy

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in BLOCKS:
            valid = ", ".join(sorted(BLOCKS))
            raise ConfigError(f"{where}: unknown generated block {name!r}; valid: {valid}")
        try:
            body = BLOCKS[name](studies)
        except MissingStudy as e:
            body = str(e)
        body = body.strip("\n") + "\n"
        return f"{match.group(1)}{body}{match.group(4)}"

    return _BLOCK.sub(replace, text)


def _default_files() -> list[Path]:
    out = []
    for pattern in DEFAULT_FILES:
        out += sorted(Path().glob(pattern))
    return out
