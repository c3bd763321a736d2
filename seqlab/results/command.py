"""`seqlab results PATH`: the seed-aggregated results of every run below PATH.

    seqlab results runs/zoo_copy
    seqlab results runs/lr_sensitivity --format markdown --metric accuracy
    seqlab results runs/lr_sensitivity --best-over optim.lr

`table` and `markdown` print one table per (task, length), a row per model and varied
hyper-parameter; `csv` and `json` print one document holding every group, unrounded.
`--best-over FIELD` (repeatable, or comma-separated: a joint grid) prints instead one row per
configuration without FIELD: the best grid value by mean final metric, that setting's mean ±
95% CI and solved seeds, and the best single seed over the grid (seqlab.results.protocols).
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
    p.add_argument(
        "--best-over",
        action="append",
        default=None,
        metavar="FIELD",
        help="report the best over a grid of this config field (e.g. optim.lr) per "
        "configuration: the best setting's mean ± 95%% CI, and the best single seed over the "
        "grid (Zoology Fig. 2); repeat it, or separate fields by commas, for a joint grid",
    )
    p.set_defaults(run=run)


def run(args, extra: list[str]) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    fields = [f.strip() for arg in getattr(args, "best_over", None) or () for f in arg.split(",")]
    if getattr(args, "best_over", None) is not None and not any(fields):
        raise ConfigError("--best-over needs a config field, e.g. --best-over optim.lr")
    print_tables(args.path, args.format, args.metric, best_over=[f for f in fields if f] or None)
    return 0


def print_tables(
    path, fmt: str = "table", metric: str | None = None, file=None, best_over=None
) -> None:
    """Prints the results below `path` in format `fmt` (to `file`, default stdout); with
    `best_over` (config fields), the best over that grid per configuration instead.

    Bad input (no such path, no runs, unknown metric, format or grid field) raises ConfigError.
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
    if best_over:
        from seqlab.results.protocols import best_over as best_of_grid
        from seqlab.results.protocols import grid_columns

        agg = best_of_grid(df, best_over, metric)
        if fmt in ("table", "markdown"):
            file.write(render_best(agg, df, grid_columns(df, best_over), fmt == "markdown"))
            return
    else:
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
            out.append((length_title(group, task, trained[task, length]),
                        *length_rows(group, trained[task, length])))  # fmt: skip
    return out


def _deletang(group) -> bool:
    return "deletang_mean" in group and group["deletang_mean"].notna().any()


def length_title(group, task: str, trained: str) -> str:
    """The length table's title: what its numbers are, and the Delétang score's lengths."""
    metric = group["metric"].iloc[0]
    text = f"{task}, trained at {trained}: final {metric} at other lengths"
    if metric == "score":
        text += " (score: accuracy rescaled so chance is 0)"
    if _deletang(group):
        lengths = " / ".join(sorted(set(group["deletang_lengths"].dropna()) - {""}))
        text += (
            f"; Delétang et al.'s score: plain accuracy averaged over T={lengths} (above "
            "the training lengths), mean ± 95% CI and max over seeds"
        )
    return text


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
    deletang = _deletang(group)
    if deletang:
        header += ["Delétang score", "Delétang score (max)"]
    rows = []
    for r in group.to_dict("records"):
        cells = [str(r["model"]), *(_key(r, k) for k in keys), str(r["seeds"])]
        cells.append(_pm(r["final_mean"], r["final_ci"]))
        cells += [_pm(r.get(f"final@{n}_mean"), r.get(f"final@{n}_ci")) for n in lengths]
        if deletang:
            cells += [_pm(r["deletang_mean"], r["deletang_ci"]), _number(r["deletang_max"], ".4g")]
        rows.append(cells)
    return header, rows


# ---- best over a grid (--best-over) ---------------------------------------------------------


def _at(value, where: str) -> str:
    return "–" if _missing(value) else f"{value:.4g} ({where})"


def best_rows(group, grid: list[str]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of one (task, length) table of `best_over`'s frame."""
    from seqlab.results.labels import short

    keys = [c for c in group.columns if c.startswith(KEY_PREFIXES) and c not in grid]
    metric = group["metric"].iloc[0]
    header = ["model", *(k.split(".", 1)[1] for k in keys)]
    header += [f"best {short(c, grid)}" for c in grid]
    header += ["grid", "seeds", f"final {metric} at best", "solved at best",
               f"best single final {metric}"]  # fmt: skip
    deletang = _deletang(group)
    if deletang:
        header += ["Delétang score at best (max)", "Delétang score, best"]
    rows = []
    for r in group.to_dict("records"):
        cells = [str(r["model"]), *(_key(r, k) for k in keys)]
        cells += [_key(r, c) for c in grid]
        text = str(r["grid_values"])
        cells.append(text if len(text) <= 40 else f"{r['grid_points']} values")
        cells.append(str(r["seeds"]))
        cells.append(_pm(r.get("final_mean"), r.get("final_ci")))
        solved = r.get("solved_seeds")
        cells.append("–" if _missing(solved) else f"{int(solved)}/{r['seeds']}")
        cells.append(_at(r.get("best_single"), r.get("best_single_at")))
        if deletang:
            at_best = _pm(r.get("deletang_mean"), r.get("deletang_ci"))
            top = r.get("deletang_max")
            cells.append(at_best if _missing(top) else f"{at_best} ({top:.4g})")
            cells.append(_at(r.get("deletang_best"), r.get("deletang_best_at")))
        rows.append(cells)
    return header, rows


def best_tables(best, df, grid: list[str]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """(title, header, rows, note) of each (task, length) table of `best_over`'s frame."""
    from seqlab.results.labels import short

    criteria = _criteria(df)
    names = ", ".join(c.removeprefix("cfg.") for c in grid)
    which = " and ".join(short(c, grid) for c in grid)
    out = []
    for (task, length), group in best.groupby(["task", "length"], sort=False, dropna=False):
        varying = [c for c in group.columns if c.startswith(KEY_PREFIXES) and c not in grid]
        group = group.drop(columns=[c for c in varying if group[c].nunique(dropna=False) <= 1])
        title = f"{task}, T={length}"
        if (task, length) in criteria:
            title += f" (solved: {criteria[task, length]})"
        title += f": best over {names}"
        metric = group["metric"].iloc[0]
        note = (
            f"best {which}: the grid value with the best mean final {metric} over seeds, "
            f"shown with that setting's mean ± 95% CI and seeds solved; best single: the best "
            f"final {metric} of any seed at any grid value (what Zoology's Fig. 2 plots)."
        )
        if _deletang(group):
            note += (
                " Delétang score: plain accuracy averaged over the evaluated lengths above the "
                "training lengths, per seed; at best: mean ± 95% CI (max over seeds) at the "
                f"best {which}; best: over the grid and the seeds, as Delétang et al. report."
            )
        out.append((title, *best_rows(group, grid), note))
    return out


def render_best(best, df, grid: list[str], markdown: bool = False) -> str:
    """Text of the best-over-grid tables (`best_tables`), plain or markdown."""
    parts = []
    for text, header, rows, note in best_tables(best, df, grid):
        if markdown:
            parts.append(f"### {text}\n\n{_markdown(header, rows)}\n{note}\n")
        else:
            parts.append(f"{text}\n{_plain(header, rows)}{note}\n")
    return "\n".join(parts)


def best_frames(df, fields, metric: str | None = None) -> list[tuple[str, object]]:
    """The best-over-grid tables for a `load` frame, as (title, DataFrame of text)."""
    import pandas as pd

    from seqlab.results.protocols import best_over, grid_columns

    grid = grid_columns(df, fields)
    return [
        (title, pd.DataFrame(rows, columns=header))
        for title, header, rows, _ in best_tables(best_over(df, fields, metric), df, grid)
    ]
