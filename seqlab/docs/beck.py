"""The blocks of REPRODUCTIONS.md's xLSTM formal-language section (experiments/beck2024.py):
the xLSTM variants and the LSTM on the regular tasks, scored as the xLSTM paper's Fig. 4 scores
(accuracy rescaled so that chance is 0, on lengths beyond the training range), beside the
paper's outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqlab.docs import papers
from seqlab.docs.studies import Studies
from seqlab.docs.tables import (
    finished_seeds,
    md_table,
    mean_ci_cell,
    over_training,
    step_cells,
    sweep_provenance,
)
from seqlab.results.protocols import deletang_lengths, deletang_score, lengths_text

if TYPE_CHECKING:
    import pandas as pd

STUDY = "beck2024"
LONGER_STUDY = "beck2024_longer"
METRIC = "score"


def _seeds(studies: Studies) -> tuple[pd.DataFrame, list[int]]:
    seeds = finished_seeds(studies, STUDY)
    seeds["beyond"] = deletang_score(seeds, METRIC)
    return seeds, deletang_lengths(seeds, METRIC)


def formal_table(studies: Studies) -> str:
    """Per task and model: the paper's outcome, the score beyond the training lengths (mean ±
    CI over seeds, and the best seed), and the score at the training lengths."""
    seeds, lengths = _seeds(studies)
    header = ["task", "model", "paper (Fig. 4)", "score beyond: mean ± CI", "best seed"]
    header += ["score at training lengths"]
    rows = []
    for (task, model), group in seeds.groupby(["task", "model"], sort=False):
        rows.append(
            [
                task,
                model,
                papers.BECK_2024_FIGURE_4.get((task, model), "–"),
                mean_ci_cell(group["beyond"], ".2f"),
                f"{group['beyond'].max():.2f}",
                mean_ci_cell(group[f"final.{METRIC}"], ".2f"),
            ]
        )
    shortest = int(seeds["min_length"].min()) if len(seeds) else 0
    trained = int(seeds["length"].max()) if len(seeds) else 0
    steps = int(seeds["cfg.train.steps"].max()) if len(seeds) else 0
    return md_table(header, rows) + (
        f"\n\n*seqlab: trained on lengths {shortest}..{trained} for {steps:,} steps, "
        f"{seeds['seed'].nunique()} seeds; score (chance 0, perfect 1) of the final "
        f"parameters averaged over lengths {lengths_text(lengths)}, 512 sequences each. "
        f"Paper: {papers.BECK_2024_SOURCE}.*"
    )


def longer_table(studies: Studies) -> str:
    """The runs given the configs' whole schedule, per seed over training: accuracy at the
    training lengths and the score beyond them, at each evaluation (a program still training
    shows the evaluations it has made)."""
    seeds = studies.seeds(LONGER_STUDY)
    keys = ["task", "model", "seed"]
    inside, _, _, _ = over_training(studies, LONGER_STUDY, keys, "accuracy")
    _, beyond, steps, lengths = over_training(studies, LONGER_STUDY, keys, METRIC)
    shortest, trained = int(seeds["min_length"].min()), int(seeds["length"].max())
    header = [*keys, "measure"] + [f"{s:,}" for s in steps]
    rows, two = [], "{:.2f}".format
    for key in seeds[keys].drop_duplicates().sort_values(keys).itertuples(index=False):
        names = [str(k) for k in key]
        at = f"accuracy at {shortest}..{trained}"
        rows.append([*names, at, *step_cells(inside, key, steps, two)])
        rows.append([*names, "score beyond", *step_cells(beyond, key, steps, two)])
    first = seeds.iloc[0]
    planned, reached = int(first["cfg.train.steps"]), int(seeds["final_step"].max())
    stopped = f" The program stopped at step {reached:,}; it resumes." if reached < planned else ""
    return md_table(header, rows) + (
        f"\n\n*Columns: training steps of {planned:,} (batch "
        f"{int(first['cfg.train.batch_size'])}, lr {float(first['cfg.optim.lr']):g} after "
        f"{int(first['cfg.optim.warmup_steps']):,} warm-up steps, then the cosine). Accuracy: "
        f"chance 0.5; score: chance 0, perfect 1, averaged over lengths {lengths_text(lengths)} "
        f"(512 sequences each) at each evaluation.{stopped}*"
    )


BLOCKS = {
    f"{STUDY}.table": formal_table,
    f"{STUDY}.provenance": lambda s: sweep_provenance(s, STUDY),
    f"{LONGER_STUDY}.table": longer_table,
    f"{LONGER_STUDY}.provenance": lambda s: sweep_provenance(s, LONGER_STUDY),
}
