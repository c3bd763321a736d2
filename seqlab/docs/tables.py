"""What every document block shares: Markdown tables, mean ± CI cells, counts, and the
provenance line under a study's tables."""

from __future__ import annotations

import math

from seqlab.docs.studies import Studies
from seqlab.results.aggregate import mean_ci


def md_table(header: list[str], rows: list[list[str]]) -> str:
    from seqlab.results.command import _markdown

    return _markdown(header, rows)


def mean_ci_cell(values, fmt: str = ".3g") -> str:
    mean, half = mean_ci(list(values))
    if math.isnan(mean):
        return "–"
    return format(mean, fmt) if math.isnan(half) else f"{format(mean, fmt)} ± {half:.2g}"


def count(n: float) -> str:
    return f"{n:,.0f}"


def solved_cell(group) -> str:
    """ "solved seeds/seeds · median training sequences to solve", or the budget none solved
    within ("> N")."""
    solved = group[group["solved"].astype(bool)]["solved_sequences"]
    head = f"{len(solved)}/{len(group)}"
    if len(solved):
        return f"{head} · {count(solved.median())}"
    return f"{head} · > {count(group['budget_sequences'].max())}"


def finished_seeds(studies: Studies, study: str):
    """The seeds of a study's finished programs: a study exported while its sweep runs also
    holds programs stopped part-way, whose last evaluation is not a result."""
    seeds = studies.seeds(study)
    return seeds[seeds["run_status"] == "completed"].copy()


def sweep_provenance(studies: Studies, study: str) -> str:
    """`provenance` of a study run by its sweep file, two programs at a time."""
    command = f"seqlab sweep experiments/{study}.py --workdir runs/{study} --jobs 2"
    return provenance(studies, study, command)


def provenance(studies: Studies, study: str, command: str) -> str:
    meta = studies.meta(study)
    seeds = studies.seeds(study)
    machines = "; ".join(meta.get("machine") or ["unrecorded"])
    return (
        f"*Study `{study}`: {meta['runs']} programs, {len(seeds)} seeds, trained on {machines}; "
        f"exported {meta['written']} at seqlab commit `{meta.get('seqlab_commit') or '?'}`. "
        f"Reproduce: `{command}`, then `seqlab export runs/{study} -o "
        f"experiments/results/{study}.json` and `seqlab docs`.*"
    )


def over_training(studies: Studies, study: str, keys: list[str], metric: str):
    """A study's evaluations over training, per group of `keys` (columns of its seeds, e.g.
    task and model, or seed): `metric` at the training lengths (the `eval` split) and beyond them
    (the mean over the evaluated lengths above the training length), each a Series indexed by
    (*keys, step); with the evaluation steps and those lengths. A program still training
    contributes the evaluations it has made."""
    seeds, curves = studies.seeds(study), studies.curves(study)
    trained = int(seeds["length"].max())
    by = [*keys, "step"]
    inside = curves[curves["split"] == "eval"].groupby(by)[metric].mean()
    beyond = curves[(curves["split"] == "eval_length") & (curves["eval_length"] > trained)]
    lengths = sorted(int(n) for n in beyond["eval_length"].unique())
    beyond = beyond.groupby(by)[metric].mean()
    steps = sorted(int(s) for s in beyond.index.get_level_values("step").unique())
    return inside, beyond, steps, lengths


def step_cells(values, key: tuple, steps: list[int], cell) -> list[str]:
    """`cell(value)` at each step of `over_training`'s Series for group `key`; "–" where that
    group was not evaluated at the step (yet)."""
    return [cell(values[(*key, s)]) if (*key, s) in values else "–" for s in steps]
