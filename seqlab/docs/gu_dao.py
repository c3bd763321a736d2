"""The blocks of REPRODUCTIONS.md's Gu & Dao 2023 section (experiments/gu_dao2023.py): the
zoo's selective and time-invariant recurrences on selective copying beside the paper's Table 1,
and induction heads trained short and tested long beside its Table 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqlab.docs import papers
from seqlab.docs.studies import Studies
from seqlab.docs.tables import count, md_table, mean_ci_cell, solved_cell, sweep_provenance
from seqlab.results.aggregate import eval_lengths

if TYPE_CHECKING:
    import pandas as pd

STUDY = "gu_dao2023"


def _task(studies: Studies, task: str) -> pd.DataFrame:
    seeds = studies.seeds(STUDY)
    return seeds[seeds["task"] == task]


def copying_table(studies: Studies) -> str:
    """Per model: seeds solved and the median training sequences to solve (or the budget), the
    final held-out accuracy, and the paper's number for the layer that stands where it does."""
    seeds = _task(studies, "selective_copy")
    header = ["model (width)", "params", "state", "solved · sequences", "final accuracy"]
    header += ["paper (%)"]
    rows = []
    for model, group in seeds.groupby("model", sort=False):
        rows.append(
            [
                f"{model} ({int(group['built.hidden'].iloc[0])})",
                count(group["params"].mean()),
                count(group["state_size"].iloc[0]),
                solved_cell(group),
                mean_ci_cell(group["final.accuracy"], ".3f"),
                papers.GU_DAO_2023_TABLE_1.get(model, "–"),
            ]
        )
    length = int(seeds["length"].iloc[0]) if len(seeds) else "?"
    return md_table(header, rows) + (
        f"\n\n*seqlab: length {length}, {seeds['seed'].nunique()} seeds a model; paper: "
        f"{papers.GU_DAO_2023_TABLE_1_SOURCE}.*"
    )


def induction_table(studies: Studies) -> str:
    """Per model: held-out accuracy at the training length and at each longer test length
    (mean ± CI over seeds), and the paper's outcome."""
    seeds = _task(studies, "induction_heads")
    lengths = eval_lengths(seeds, "accuracy")
    trained = int(seeds["length"].iloc[0]) if len(seeds) else 0
    header = ["model (width)", f"T={trained} (trained)", *(f"{n}" for n in lengths), "paper"]
    rows = []
    for model, group in seeds.groupby("model", sort=False):
        rows.append(
            [
                f"{model} ({int(group['built.hidden'].iloc[0])})",
                mean_ci_cell(group["final.accuracy"], ".3f"),
                *(mean_ci_cell(group[f"final@{n}.accuracy"], ".3f") for n in lengths),
                papers.GU_DAO_2023_TABLE_2.get(model, "–"),
            ]
        )
    return md_table(header, rows) + f"\n\n*Paper: {papers.GU_DAO_2023_TABLE_2_SOURCE}.*"


BLOCKS = {
    f"{STUDY}.copying": copying_table,
    f"{STUDY}.induction": induction_table,
    f"{STUDY}.provenance": lambda s: sweep_provenance(s, STUDY),
}
