"""Static figures for the documents (matplotlib, drawn off-screen into PNG files).

Every function takes frames read from committed study results (seqlab.results.export) and
returns a matplotlib Figure; `Studies.figure` saves it. Colours are fixed per model, so a
model keeps its colour across figures.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939")  # fmt: skip


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # off-screen: no display on the machines this runs on
    import matplotlib.pyplot as plt

    return plt


def colours(labels) -> dict[str, str]:
    return {label: _PALETTE[i % len(_PALETTE)] for i, label in enumerate(labels)}


def mean_band(curves: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, 95% Student-t half-width) over the seeds of `curves` at each step that
    every seed evaluated."""
    from seqlab.results.aggregate import t_quantile

    table = curves.pivot_table(index="step", columns="seed", values=metric).dropna()
    n = table.shape[1]
    mean = table.mean(axis=1).to_numpy()
    half = (
        t_quantile(n - 1) * table.std(axis=1, ddof=1).to_numpy() / math.sqrt(n)
        if n > 1
        else np.zeros_like(mean)
    )
    return table.index.to_numpy(), mean, half


def curve_panels(
    curves: pd.DataFrame, metric: str, baseline_of, title: str, ylabel: str, log_y: bool = False
):
    """One panel per task length: the held-out `metric` against training iterations, a line
    (mean over seeds) and a 95% band per `label` (a column of `curves`), the memoryless
    baseline (`baseline_of(T)`) dotted."""
    plt = pyplot()
    lengths = sorted(curves["length"].unique())
    fig, axes = plt.subplots(1, len(lengths), figsize=(4.2 * len(lengths), 3.4), squeeze=False)
    palette = colours(sorted(curves["label"].unique()))
    for ax, length in zip(axes[0], lengths, strict=True):
        at = curves[(curves["length"] == length) & (curves["split"] == "eval")]
        for _, group in at.groupby("run"):
            label = group["label"].iloc[0]
            steps, mean, half = mean_band(group, metric)
            ax.plot(steps, mean, color=palette[label], label=label, lw=1.4)
            ax.fill_between(steps, mean - half, mean + half, color=palette[label], alpha=0.18)
        baseline = baseline_of(length)
        if baseline is not None:
            ax.axhline(baseline, color="black", ls=":", lw=1, label="baseline")
        ax.set_title(f"T = {length}")
        ax.set_xlabel("training iterations")
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    handles, names = axes[0][0].get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="upper center", ncol=len(unique),
               bbox_to_anchor=(0.5, 1.08), frameon=False)  # fmt: skip
    fig.suptitle(title, y=1.14)
    fig.tight_layout()
    return fig


def sequences_to_solve(
    seeds: pd.DataFrame, title: str, reference: dict[str, dict[int, float]] | None = None
):
    """Training sequences to solve against T, log-log: each solved seed a dot, the mean a
    line per `label` (a column of `seeds`), each unsolved seed a hollow triangle at its
    budget (it had not solved by then); `reference`: published {name: {T: sequences}} drawn
    as black squares."""
    if seeds["length"].nunique() == 1 and not reference:
        return _sequences_to_solve_per_model(seeds, title)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.4, 4.6))
    labels = sorted(seeds["label"].unique())
    palette = colours(labels)
    for index, label in enumerate(labels):
        mine = seeds[seeds["label"] == label]
        solved = mine[mine["solved"].astype(bool)]
        unsolved = mine[~mine["solved"].astype(bool)]
        ax.scatter(solved["length"], solved["solved_sequences"], color=palette[label], s=14,
                   alpha=0.6)  # fmt: skip
        ax.scatter(unsolved["length"], unsolved["budget_sequences"], facecolors="none",
                   edgecolors=palette[label], marker="^", s=40)  # fmt: skip
        means = solved.groupby("length")["solved_sequences"].mean()
        style = ("-", "--", ":")[index // len(_PALETTE) % 3]  # the palette repeats: dash it
        ax.plot(means.index, means.to_numpy(), color=palette[label], label=label, lw=1.5, ls=style)
    for name, points in (reference or {}).items():
        xs = sorted(points)
        ax.plot(xs, [points[x] for x in xs], "ks--", ms=6, lw=1, label=name)
    ax.scatter([], [], facecolors="none", edgecolors="grey", marker="^",
               label="not solved within its budget (drawn at the budget)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T (sequence length)")
    ax.set_ylabel("training sequences to solve")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _sequences_to_solve_per_model(seeds: pd.DataFrame, title: str):
    """One length: a column per `label` instead of an axis of T, each solved seed a dot, the
    median a bar, each unsolved seed a hollow triangle at its budget; log y."""
    plt = pyplot()
    labels = sorted(seeds["label"].unique())
    palette = colours(labels)
    fig, ax = plt.subplots(figsize=(max(6.4, 0.55 * len(labels) + 2), 4.2))
    for x, label in enumerate(labels):
        mine = seeds[seeds["label"] == label]
        solved = mine[mine["solved"].astype(bool)]["solved_sequences"]
        unsolved = mine[~mine["solved"].astype(bool)]["budget_sequences"]
        offsets = [0.12 * (i - (len(mine) - 1) / 2) for i in range(len(mine))]
        if len(solved):
            ax.hlines(solved.median(), x - 0.3, x + 0.3, color=palette[label], lw=2)
            ax.scatter([x + o for o in offsets[: len(solved)]], solved, color=palette[label],
                       s=16)  # fmt: skip
        ax.scatter([x + o for o in offsets[len(solved) :]], unsolved, facecolors="none",
                   edgecolors=palette[label], marker="^", s=40)  # fmt: skip
    ax.scatter([], [], facecolors="none", edgecolors="grey", marker="^",
               label="not solved within its budget (drawn at the budget)")  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("training sequences to solve")
    ax.set_title(f"{title}, T = {int(seeds['length'].iloc[0])}")
    ax.grid(alpha=0.3, axis="y", which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig
