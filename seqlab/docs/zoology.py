"""The blocks of REPRODUCTIONS.md's Zoology section (experiments/zoology2023.py): MQAR accuracy
against model width, each point the best over the learning-rate grid as their Fig. 2 plots it
(beside the mean ± CI over seeds at the best learning rate), and the attention diagnosis runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqlab.docs import figures, papers
from seqlab.docs.studies import Studies
from seqlab.docs.tables import (
    finished_seeds,
    md_table,
    mean_ci_cell,
    solved_cell,
    sweep_provenance,
)
from seqlab.results.protocols import best_over

if TYPE_CHECKING:
    import pandas as pd

STUDY = "zoology2023"
ATTENTION = "transformer"


def _seeds(studies: Studies) -> pd.DataFrame:
    seeds = finished_seeds(studies, STUDY)
    seeds["width"] = seeds["built.hidden"].astype(int)
    seeds["lr"] = seeds["cfg.optim.lr"].astype(float)
    pairs = zip(seeds["length"], seeds["cfg.task.pairs"], strict=True)
    seeds["point"] = [_point(n, p) for n, p in pairs]
    return seeds


def _point(length, pairs) -> str:
    """Zoology's (sequence length, key-value pairs); task.pairs left at 0 means the task's
    default, length // 16."""
    from seqlab.tasks.mqar import PAIRS_PER_STEP

    pairs = int(pairs) or int(length) // PAIRS_PER_STEP
    return f"({int(length)}, {pairs})"


def _in_grid(seeds: pd.DataFrame) -> pd.Series:
    """Whether a seed is the grid's: every model at the study's common budget with learned
    positions (the diagnosis runs differ in one of the two)."""
    steps = seeds["cfg.train.steps"].mode().iloc[0]
    return (seeds["cfg.train.steps"] == steps) & (seeds["cfg.model.positions"] == "learned")


def _grid(seeds: pd.DataFrame) -> pd.DataFrame:
    return seeds[_in_grid(seeds)]


def _budget(seeds: pd.DataFrame) -> str:
    steps = int(seeds["cfg.train.steps"].max()) if len(seeds) else 0
    batch = int(seeds["cfg.train.batch_size"].max()) if len(seeds) else 0
    return f"at most {steps:,} steps of batch {batch} ({steps * batch:,} sequences)"


def width_table(studies: Studies) -> str:
    """Per (length, pairs) point, model and width: how many of the grid's learning rates have
    finished, Zoology's number (the best final accuracy of any seed at any of them), where it
    was reached, and the mean ± CI over seeds at the best learning rate with its seeds solved."""
    grid = _grid(_seeds(studies))
    keys = ["point", "model", "width"]
    best = best_over(grid, "optim.lr", metric="accuracy", by=keys)
    header = [
        "(T, pairs)",
        "model",
        "width",
        "lrs run",
        "best over the grid (Zoology's number)",
        "where",
    ]
    header += ["best lr: mean ± CI", "solved · sequences", "paper (Fig. 2)"]
    rows = []
    for _, row in best.iterrows():
        at_best = grid[
            (grid[keys] == row[keys]).all(axis=1) & (grid["lr"] == float(row["cfg.optim.lr"]))
        ]
        rows.append(
            [
                row["point"],
                row["model"],
                str(int(row["width"])),
                f"{int(row['grid_points'])} of {grid['lr'].nunique()}",
                f"{row['best_single']:.3f}",
                row["best_single_at"],
                mean_ci_cell(at_best["final.accuracy"], ".3f"),
                solved_cell(at_best),
                papers.ZOOLOGY_2023_FIGURE_2.get(row["model"], "– (not in Fig. 2)"),
            ]
        )
    return md_table(header, rows) + (
        f"\n\n*seqlab: MQAR at (T, pairs) {', '.join(_points(grid))}, vocabulary "
        f"{_vocabulary(grid)}, {_budget(grid)}, learning rates "
        f"{_lr_text(grid)}, {grid['seed'].nunique()} seeds each. Paper: "
        f"{papers.ZOOLOGY_2023_SOURCE}.*"
    )


def _points(seeds: pd.DataFrame) -> list[str]:
    """The study's points in the order of their lengths."""
    return list(dict.fromkeys(seeds.sort_values("length")["point"]))


def _vocabulary(seeds: pd.DataFrame) -> str:
    from seqlab.tasks.mqar import DEFAULT_VOCAB

    sizes = sorted({int(v) or DEFAULT_VOCAB for v in seeds["cfg.task.vocab_size"]})
    return ", ".join(str(v) for v in sizes)


def _lr_text(seeds: pd.DataFrame) -> str:
    return ", ".join(f"{lr:.2g}" for lr in sorted(seeds["lr"].unique()))


def width_figure(studies: Studies) -> str:
    grid = _grid(_seeds(studies))
    return studies.figure(f"{STUDY}_widths", lambda: _draw_widths(grid))


def _draw_widths(grid: pd.DataFrame):
    """One panel per (length, pairs) point, as Zoology's Fig. 2: per model, the best accuracy
    over the grid against width."""
    plt = figures.pyplot()
    points = _points(grid)
    fig, axes = plt.subplots(
        1, len(points), figsize=(1.5 + 3.2 * len(points), 3.6), sharey=True, squeeze=False
    )
    best = best_over(grid, "optim.lr", metric="accuracy", by=["point", "model", "width"])
    models = list(dict.fromkeys(best["model"]))
    palette = figures.colours(models)
    widths = sorted(best["width"].unique())
    for ax, point in zip(axes[0], points, strict=True):
        for model in models:
            curve = best[(best["point"] == point) & (best["model"] == model)]
            if curve.empty:
                continue
            curve = curve.sort_values("width")
            ax.plot(
                curve["width"],
                curve["best_single"],
                marker="o",
                color=palette[model],
                label="attention (Zoology's block)" if model == ATTENTION else model,
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(widths, [str(int(w)) for w in widths])
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("model width")
        ax.set_title(f"MQAR {point}", fontsize=10)
    axes[0][0].set_ylabel("MQAR accuracy (best over lr, seeds)")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
    fig.legend(
        handles.values(), handles.keys(), fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5)
    )
    fig.tight_layout()
    return fig


def diagnosis_table(studies: Studies) -> str:
    """Attention at the diagnosis runs' width and learning rate: the grid's own run beside the
    same run trained longer and with rotary positions."""
    seeds = _seeds(studies)
    attention = seeds[seeds["model"] == ATTENTION]
    variants = attention[~_in_grid(seeds)[attention.index]]
    if variants.empty:
        return "*No diagnosis runs in the study yet.*"
    first = variants.iloc[0]
    width, lr, length = first["width"], first["lr"], first["length"]
    same = attention[
        (attention["width"] == width) & (attention["lr"] == lr) & (attention["length"] == length)
    ]
    header = ["positions", "steps", "seeds", "final accuracy", "best accuracy"]
    header += ["solved · sequences"]
    rows = []
    keys = ["cfg.model.positions", "cfg.train.steps"]
    for (positions, steps), group in same.groupby(keys, sort=True):
        rows.append(
            [
                str(positions),
                f"{int(steps):,}",
                str(len(group)),
                mean_ci_cell(group["final.accuracy"], ".3f"),
                mean_ci_cell(group["best.accuracy"], ".3f"),
                solved_cell(group),
            ]
        )
    return md_table(header, rows) + (
        f"\n\n*Attention (Zoology's block, one head) on MQAR {first['point']} at width "
        f"{int(width)} and lr {lr:.2g}, "
        f"batch {int(same['cfg.train.batch_size'].iloc[0])}, cosine schedule over each run's "
        "steps.*"
    )


BLOCKS = {
    f"{STUDY}.table": width_table,
    f"{STUDY}.figure": width_figure,
    f"{STUDY}.diagnosis": diagnosis_table,
    f"{STUDY}.provenance": lambda s: sweep_provenance(s, STUDY),
}
