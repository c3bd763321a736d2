"""`seqlab results PATH`: the seed-aggregated results of every run below PATH.

    seqlab results runs/zoo_copy
    seqlab results runs/lr_sensitivity --format markdown --metric accuracy

`table` and `markdown` print one table per (task, length), a row per model and varied
hyper-parameter; `csv` and `json` print one document holding every group, unrounded.
"""

from __future__ import annotations

import math
import sys
import warnings

from seqlab.config import ConfigError

FORMATS = ("table", "markdown", "csv", "json")
KEY_PREFIXES = ("cfg.", "built.")  # group-key columns: config fields and the built size


def add_parser(subparsers) -> None:
    """Registers `results` on the CLI's subparsers (`seqlab.cli.build_parser`)."""
    p = subparsers.add_parser(
        "results",
        help="seed-aggregated results of the runs below a directory (a run, a sweep, a tree)",
    )
    p.add_argument("path", help="a run directory, a sweep workdir, or any folder of runs")
    p.add_argument(
        "--format", default="table", help=f"output format: {', '.join(FORMATS)} (default table)"
    )
    p.add_argument(
        "--metric",
        default=None,
        help="metric to summarise (default: each task's solved-criterion metric)",
    )
    p.set_defaults(run=run)


def run(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    print_tables(args.path, args.format, args.metric)
    return 0


def print_tables(path, fmt: str = "table", metric: str | None = None, file=None) -> None:
    """Prints the results below `path` in format `fmt` (to `file`, default stdout).

    Bad input (no such path, no runs, unknown metric or format) raises ConfigError.
    """
    file = file or sys.stdout
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; valid choices: {', '.join(FORMATS)}")
    from seqlab.results.load import check_directory

    check_directory(path)

    from seqlab.results.aggregate import aggregate
    from seqlab.results.load import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = load(path)
    for w in caught:  # an unreadable run is worth a line, not a traceback-styled warning
        print(f"seqlab: warning: {w.message}", file=sys.stderr)
    if df.empty:
        skipped = f" ({len(caught)} unreadable, skipped)" if caught else ""
        raise ConfigError(
            f"no runs found under {str(path)!r}{skipped}; a run directory holds "
            "summary.json and config.json (seqlab train / seqlab sweep write them)"
        )
    agg = aggregate(df, metric=metric)
    if fmt == "csv":
        file.write(agg.to_csv(index=False))
    elif fmt == "json":
        file.write(agg.to_json(orient="records", indent=2, double_precision=15) + "\n")
    else:
        file.write(render(agg, df, markdown=fmt == "markdown"))


def _pm(mean: float, ci: float) -> str:
    if _missing(mean):
        return "–"
    return f"{mean:.4g}" if _missing(ci) else f"{mean:.4g} ± {ci:.2g}"


def _key(r: dict, key: str) -> str:
    """A group key's cell: "–" where it does not apply to the row's model (built.heads of an
    LSTM, model.mlstm_form of anything but the mLSTM families); values written as a person
    writes them (a whole number read back as float, in a column with gaps, without ".0")."""
    from seqlab.results.labels import applies, format_value

    return format_value(r[key]) if applies(r["model"], key, r[key]) else "–"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _number(x, fmt: str) -> str:
    return "–" if _missing(x) else format(x, fmt)


def _criteria(df) -> dict:
    """(task, length) -> the solved criterion as text, from the per-seed frame."""
    out = {}
    for row in df.drop_duplicates(["task", "length"]).to_dict("records"):
        if row.get("criterion") and not _missing(row.get("criterion_threshold")):
            op = ">=" if row.get("criterion_mode") == "max" else "<="
            out[row["task"], row["length"]] = (
                f"{row['criterion']} {op} {row['criterion_threshold']:g}"
            )
    return out


def _trained_lengths(df) -> dict:
    """(task, length) -> the training lengths as text: "T=40", or "T=1..40" for a task that
    trains on every length up to T (the formal languages)."""
    out = {}
    for (task, length), group in df.groupby(["task", "length"], sort=False, dropna=False):
        shortest = group["min_length"].dropna()
        out[task, length] = f"T={int(min(shortest))}..{length}" if len(shortest) else f"T={length}"
    return out


def _to_solve(r: dict) -> str:
    """Median training sequences to solve over the solved seeds; with none solved, the budget
    they had ("> N"), so a model that did not solve is read as not solving within N."""
    if not _missing(r.get("sequences_to_solve")):
        return _number(r["sequences_to_solve"], ",.0f")
    budget = r.get("budget_sequences")
    return "–" if _missing(budget) else f"> {budget:,.0f}"


def table_rows(group) -> tuple[list[str], list[list[str]]]:
    """Header and text cells of one (task, length) table."""
    keys = [c for c in group.columns if c.startswith(KEY_PREFIXES)]
    metric = group["metric"].iloc[0]
    header = ["model", *(k.split(".", 1)[1] for k in keys), "seeds", f"final {metric}",
              f"best {metric}"]  # fmt: skip
    with_loss = metric != "loss"
    if with_loss:
        header.append("final loss")
    header += ["solved", "steps to solve", "sequences to solve", "params", "state", "tokens/s"]
    with_status = (group["status"] != "completed").any()
    if with_status:
        header.append("status")
    rows = []
    for r in group.to_dict("records"):
        cells = [str(r["model"]), *(_key(r, k) for k in keys), str(r["seeds"])]
        cells += [_pm(r["final_mean"], r["final_ci"]), _pm(r["best_mean"], r["best_ci"])]
        if with_loss:
            cells.append(_pm(r["final_loss_mean"], r["final_loss_ci"]))
        cells += [
            f"{round(r['solved'] * r['seeds'])}/{r['seeds']}",
            _number(r["steps_to_solve"], ".0f"),
            _to_solve(r),
            _number(r["params"], ",.0f"),
            _number(r.get("state_size"), ",.0f"),
            _number(r["tokens_per_s"], ",.0f"),
        ]
        if with_status:
            cells.append(str(r["status"]))
        rows.append(cells)
    return header, rows


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _plain(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    lines = [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def tables(agg, df) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table: one per (task, length) of the aggregated frame
    `agg`, and a length-generalisation table after it where runs evaluated other lengths."""
    criteria = _criteria(df)
    trained = _trained_lengths(df)
    out = []
    for (task, length), group in agg.groupby(["task", "length"], sort=False, dropna=False):
        varying = [c for c in group.columns if c.startswith(KEY_PREFIXES)]
        group = group.drop(columns=[c for c in varying if group[c].nunique(dropna=False) <= 1])
        title = f"{task}, T={length}"
        if (task, length) in criteria:
            title += f" (solved: {criteria[task, length]})"
        out.append((title, *table_rows(group)))
        if other_lengths(group):
            metric = group["metric"].iloc[0]
            text = f"{task}, trained at {trained[task, length]}: final {metric} at other lengths"
            out.append((text, *length_rows(group, trained[task, length])))
    return out


def render(agg, df, markdown: bool = False) -> str:
    """Text of the tables (`tables`), plain or markdown."""
    parts = []
    for text, header, rows in tables(agg, df):
        if markdown:
            parts.append(f"### {text}\n\n{_markdown(header, rows)}")
        else:
            parts.append(f"{text}\n{_plain(header, rows)}")
    return "\n".join(parts)


def frames(df, metric: str | None = None) -> list[tuple[str, object]]:
    """The tables `seqlab results` prints for a `load` frame, as (title, DataFrame of text):
    what a notebook displays, "–" where a value is missing or a setting does not apply."""
    import pandas as pd

    from seqlab.results.aggregate import aggregate

    return [
        (title, pd.DataFrame(rows, columns=header))
        for title, header, rows in tables(aggregate(df, metric=metric), df)
    ]


def other_lengths(group) -> list[int]:
    """The evaluated lengths with a value in this (task, length) group (final@<L>_mean)."""
    cols = [c for c in group.columns if c.startswith("final@") and c.endswith("_mean")]
    lengths = [int(c[len("final@") : -len("_mean")]) for c in cols if group[c].notna().any()]
    return sorted(lengths)


def length_rows(group, trained: str) -> tuple[list[str], list[list[str]]]:
    """Header and cells of a length-generalisation table: final metric per evaluated length;
    `trained` names the training lengths ("T=40", "T=1..40")."""
    keys = [c for c in group.columns if c.startswith(KEY_PREFIXES)]
    lengths = other_lengths(group)
    header = ["model", *(k.split(".", 1)[1] for k in keys), "seeds", f"{trained} (trained)"]
    header += [f"T={n}" for n in lengths]
    rows = []
    for r in group.to_dict("records"):
        cells = [str(r["model"]), *(_key(r, k) for k in keys), str(r["seeds"])]
        cells.append(_pm(r["final_mean"], r["final_ci"]))
        cells += [_pm(r.get(f"final@{n}_mean"), r.get(f"final@{n}_ci")) for n in lengths]
        rows.append(cells)
    return header, rows
