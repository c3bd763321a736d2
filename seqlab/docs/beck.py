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
CONFIGS_STUDY = "beck2024_configs"
METRIC = "score"


def _seeds(studies: Studies, study: str = STUDY) -> tuple[pd.DataFrame, list[int]]:
    seeds = finished_seeds(studies, study)
    seeds["beyond"] = deletang_score(seeds, METRIC)
    return seeds, deletang_lengths(seeds, METRIC)


def _final_cells(group: pd.DataFrame) -> list[str]:
    """A finished program's seeds: the score beyond the training lengths (mean ± CI, best seed)
    and at them."""
    beyond = group["beyond"]
    return [
        mean_ci_cell(beyond, ".2f"),
        f"{beyond.max():.2f}",
        mean_ci_cell(group[f"final.{METRIC}"], ".2f"),
    ]


def formal_table(studies: Studies) -> str:
    """Per task and model: the paper's outcome, the score beyond the training lengths (mean ±
    CI over seeds, and the best seed), and the score at the training lengths."""
    seeds, lengths = _seeds(studies)
    header = ["task", "model", "paper (Fig. 4)", "score beyond: mean ± CI", "best seed"]
    header += ["score at training lengths"]
    rows = []
    for (task, model), group in seeds.groupby(["task", "model"], sort=False):
        paper = papers.BECK_2024_FIGURE_4.get((task, model), "–")
        rows.append([task, model, paper, *_final_cells(group)])
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


def configs_table(studies: Studies) -> str:
    """Per task and model under the configs' own schedule (its first steps): the paper's
    outcome, the score beyond the training lengths at each evaluation (mean over seeds; a
    program still training shows the evaluations it has made), and, once a program has
    finished, its final score beyond (mean ± CI, best seed) and at the training lengths."""
    keys = ["task", "model"]
    _, beyond, steps, lengths = over_training(studies, CONFIGS_STUDY, keys, METRIC)
    steps = [s for s in steps if s > 0]
    seeds = studies.seeds(CONFIGS_STUDY)
    done, _ = _seeds(studies, CONFIGS_STUDY)
    header = [*keys, "paper (Fig. 4)", *[f"beyond at {s:,}" for s in steps]]
    header += ["final beyond: mean ± CI", "best seed", "at training lengths"]
    rows, two = [], "{:.2f}".format
    for key in seeds[keys].drop_duplicates().sort_values(keys).itertuples(index=False):
        task, model = key
        group = done[(done["task"] == task) & (done["model"] == model)]
        at_steps = step_cells(beyond, tuple(key), steps, two)
        if not len(group) and set(at_steps) <= {"–"}:
            continue  # started, not evaluated yet
        final = _final_cells(group) if len(group) else ["–"] * 3
        paper = papers.BECK_2024_FIGURE_4.get((task, model), "–")
        rows.append([task, model, paper, *at_steps, *final])
    first = seeds.iloc[0]
    trained, schedule = int(first["cfg.train.steps"]), int(first["cfg.optim.schedule_steps"])
    return md_table(header, rows) + (
        f"\n\n*seqlab: the first {trained:,} steps of the configs' {schedule:,}-step schedule "
        f"({int(first['cfg.optim.warmup_steps']):,} warm-up steps to lr "
        f"{float(first['cfg.optim.lr']):g}, then the cosine; batch "
        f"{int(first['cfg.train.batch_size'])}), trained on lengths "
        f"{int(seeds['min_length'].min())}..{int(seeds['length'].max())}, "
        f"{seeds['seed'].nunique()} seeds. Score: chance 0, "
        f"perfect 1, averaged over lengths {lengths_text(lengths)} (512 sequences each); "
        f"'beyond at' columns are means over seeds at each evaluation. "
        f"Paper: {papers.BECK_2024_SOURCE}.*"
    )


BLOCKS = {
    f"{STUDY}.table": formal_table,
    f"{STUDY}.provenance": lambda s: sweep_provenance(s, STUDY),
    f"{LONGER_STUDY}.table": longer_table,
    f"{LONGER_STUDY}.provenance": lambda s: sweep_provenance(s, LONGER_STUDY),
    f"{CONFIGS_STUDY}.table": configs_table,
    f"{CONFIGS_STUDY}.provenance": lambda s: sweep_provenance(s, CONFIGS_STUDY),
}
