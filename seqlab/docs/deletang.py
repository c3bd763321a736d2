"""The blocks of REPRODUCTIONS.md's Delétang et al. 2023 section: their regular tasks with their
three architectures beside their Table 2 (experiments/deletang2023.py), accuracy against test
length, and the zoo on parity beside what Grazzi et al.'s theorem predicts
(experiments/grazzi2024.py, the same protocol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqlab.docs import figures, papers
from seqlab.docs.studies import Studies
from seqlab.docs.tables import (
    count,
    finished_seeds,
    md_table,
    mean_ci_cell,
    over_training,
    step_cells,
    sweep_provenance,
)
from seqlab.results.aggregate import eval_lengths
from seqlab.results.protocols import deletang_lengths, deletang_score, lengths_text

if TYPE_CHECKING:
    import pandas as pd

STUDY = "deletang2023"
BUDGET_STUDY = "deletang2023_budget"
POSITIONS_STUDY = "deletang2023_positions"
POSITIONS = {
    "sinusoidal": "sin/cos",
    "rotary": "RoPE",
    "alibi": "ALiBi",
    "relative": "relative (Transformer-XL)",
    "none": "none (NoPE)",
}
PARITY_STUDY = "grazzi2024"
TASKS = tuple(papers.DELETANG_2023_TABLE_2)
PAPER_MODELS = ("rnn", "lstm", "transformer")


def _seeds(studies: Studies, study: str = STUDY) -> pd.DataFrame:
    seeds = finished_seeds(studies, study)
    seeds["deletang"] = deletang_score(seeds)
    seeds["lr"] = seeds["cfg.optim.lr"].astype(float)
    return seeds


def _percent(x: float) -> str:
    return f"{100 * x:.1f}"


def _two(x: float) -> str:
    return f"{x:.2f}"


def _best_lr(group: pd.DataFrame) -> float:
    """The learning rate whose mean Delétang score over seeds is highest."""
    return group.groupby("lr")["deletang"].mean().idxmax()


def _budget(group: pd.DataFrame) -> str:
    steps = sorted(group["final_step"].dropna().astype(int).unique()) or ["?"]
    lrs = ", ".join(f"{lr:g}" for lr in sorted(group["lr"].unique()))
    return f"{'/'.join(str(s) for s in steps)} steps · lr {lrs} · {len(group)} seeds"


def paper_table(studies: Studies) -> str:
    """Per task and architecture: the paper's score, seqlab's by the same protocol (max over
    seeds and learning rates), the mean ± CI over seeds at the best learning rate, the accuracy
    at the training lengths, and the budget that produced it."""
    seeds = _seeds(studies)
    header = ["task", "model", "paper (%)", "seqlab (%)", "best lr: mean ± CI (%)"]
    header += ["accuracy at 1..40", "budget"]
    rows = []
    for task in TASKS:
        for model in PAPER_MODELS:
            group = seeds[(seeds["task"] == task) & (seeds["model"] == model)]
            if group.empty:
                continue
            rows.append([task, model, *_score_cells(group, task, model)])
    return md_table(header, rows) + f"\n\n*Paper: {papers.DELETANG_2023_SOURCE}. {_scored(seeds)}*"


def _score_cells(group: pd.DataFrame, task: str, model: str) -> list[str]:
    """The paper's score; seqlab's (max over seeds and learning rates); the mean ± CI over
    seeds at the best learning rate, and their accuracy at the training lengths; the budget."""
    best = group[group["lr"] == _best_lr(group)]
    return [
        _paper_cell(task, model),
        _percent(group["deletang"].max()),
        mean_ci_cell(100 * best["deletang"], ".1f"),
        mean_ci_cell(best["final.accuracy"], ".3f"),
        _budget(group),
    ]


def _paper_cell(task: str, model: str) -> str:
    cell = f"{papers.DELETANG_2023_TABLE_2[task][model]:.1f}"
    return f"{cell} (unchecked)" if (task, model) in papers.DELETANG_2023_UNCHECKED else cell


def _scored(seeds: pd.DataFrame) -> str:
    return (
        f"seqlab's score averages the accuracy at lengths {lengths_text(deletang_lengths(seeds))}"
        " (512 sequences each) of the final parameters; theirs at every length 41..500."
    )


def parity_zoo_table(studies: Studies) -> str:
    """Every model on parity: its accuracy at the training lengths and beyond, and what
    Grazzi et al.'s theorem predicts for it."""
    seeds = _seeds(studies, PARITY_STUDY)
    header = ["model (width)", "params", "accuracy at 1..40", "at 100", "at 500"]
    header += ["score (max, %)", "Grazzi et al. predict"]
    rows = []
    for model, group in seeds.groupby("model", sort=False):
        width = int(group["built.hidden"].iloc[0])
        rows.append(
            [
                f"{model} ({width})",
                count(group["params"].mean()),
                mean_ci_cell(group["final.accuracy"], ".3f"),
                mean_ci_cell(group["final@100.accuracy"], ".3f"),
                mean_ci_cell(group["final@500.accuracy"], ".3f"),
                _percent(group["deletang"].max()),
                papers.GRAZZI_2024_PARITY.get(model, "–"),
            ]
        )
    rows.sort(key=lambda r: -float(r[5]))
    return md_table(header, rows) + (
        f"\n\n*Accuracies: mean ± 95% CI over every seed and learning rate the model ran "
        f"({_budget(seeds)} in all). Prediction: {papers.GRAZZI_2024_SOURCE}.*"
    )


def budget_table(studies: Studies) -> str:
    """The runs trained longer: at each evaluation, the accuracy at the training lengths and
    Delétang's score beyond them (the mean over the test lengths), per task and model. Every
    evaluation is a measurement, so a program still training shows its steps so far."""
    seeds = studies.seeds(BUDGET_STUDY)
    keys = ["task", "model"]
    inside, beyond, steps, lengths = over_training(studies, BUDGET_STUDY, keys, "accuracy")
    trained = int(seeds["length"].max())
    header = [*keys, "measure"] + [f"{s:,}" for s in steps]
    rows = []
    for key in seeds[keys].drop_duplicates().itertuples(index=False):
        rows.append([*key, f"accuracy at 1..{trained}", *step_cells(inside, key, steps, _two)])
        rows.append([*key, "score beyond (%)", *step_cells(beyond, key, steps, _percent)])
    batch = int(seeds["cfg.train.batch_size"].iloc[0])
    lr = float(seeds["cfg.optim.lr"].iloc[0])
    return md_table(header, rows) + (
        f"\n\n*Columns: training steps (batch {batch}: {batch:,} sequences a step); one seed per "
        f"program, lr {lr:g}, the protocol of the table above; chance is 0.2 on both tasks "
        f"(modulus 5). The score averages the accuracy at lengths {lengths_text(lengths)} (512 "
        "sequences each) at each evaluation.*"
    )


def positions_table(studies: Studies) -> str:
    """Their Transformer on the tasks of the positions study, once per positional encoding
    (sin/cos from the main study, the others from experiments/deletang2023_positions.py), beside
    their number, the best over five encodings."""
    import pandas as pd

    seeds = _seeds(studies, POSITIONS_STUDY)
    main = _seeds(studies)
    main = main[(main["model"] == "transformer") & main["task"].isin(seeds["task"].unique())]
    runs = pd.concat([main, seeds], ignore_index=True)
    header = ["task", "positions", "paper: best of 5 (%)", "seqlab (%)", "best lr: mean ± CI (%)"]
    header += ["accuracy at 1..40", "budget"]
    rows = []
    for task in TASKS:
        for code, name in POSITIONS.items():
            group = runs[(runs["task"] == task) & (runs["cfg.model.positions"] == code)]
            if group.empty:
                continue
            rows.append([task, name, *_score_cells(group, task, "transformer")])
    return md_table(header, rows) + (
        f"\n\n*Paper: {papers.DELETANG_2023_SOURCE}; their number is the best of five encodings "
        "(none, sin/cos, RoPE, ALiBi, Transformer-XL's relative), which one is not stated in "
        f"the text. {_scored(seeds)}*"
    )


def lengths_figure(studies: Studies) -> str:
    seeds = _seeds(studies)
    return studies.figure(f"{STUDY}_lengths", lambda: _draw_lengths(seeds))


def _draw_lengths(seeds: pd.DataFrame):
    plt = figures.pyplot()
    fig, axes = plt.subplots(1, len(TASKS), figsize=(4 * len(TASKS), 3.4), sharey=True)
    columns = [(n, f"final@{n}.accuracy") for n in eval_lengths(seeds, "accuracy")]
    palette = figures.colours(PAPER_MODELS)
    for ax, task in zip(axes, TASKS, strict=True):
        for model in PAPER_MODELS:
            group = seeds[(seeds["task"] == task) & (seeds["model"] == model)]
            if group.empty:
                continue
            best = group.loc[group["deletang"].idxmax()]
            ax.plot(
                [length for length, _ in columns],
                [best[c] for _, c in columns],
                marker="o",
                markersize=3,
                color=palette[model],
                label=model,
            )
        ax.axvspan(1, 40, color="0.9", label="training lengths")
        ax.set_title(task.replace("_", " "), fontsize=10)
        ax.set_xlabel("test length")
    axes[0].set_ylabel("accuracy (best seed and lr)")
    axes[-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


BLOCKS = {
    f"{STUDY}.table": paper_table,
    f"{STUDY}.figure": lengths_figure,
    f"{STUDY}.provenance": lambda s: sweep_provenance(s, STUDY),
    f"{BUDGET_STUDY}.table": budget_table,
    f"{BUDGET_STUDY}.provenance": lambda s: sweep_provenance(s, BUDGET_STUDY),
    f"{POSITIONS_STUDY}.table": positions_table,
    f"{POSITIONS_STUDY}.provenance": lambda s: sweep_provenance(s, POSITIONS_STUDY),
    f"{PARITY_STUDY}.table": parity_zoo_table,
    f"{PARITY_STUDY}.provenance": lambda s: sweep_provenance(s, PARITY_STUDY),
}
