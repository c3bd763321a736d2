"""The named blocks `seqlab docs` renders: each a function of the committed studies that
returns Markdown (a table, a figure link, a provenance line). Add a block by defining a
function and listing it in BLOCKS; reference it from a document with

    <!-- generated: <name> -->
    <!-- end: <name> -->
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

from seqlab.docs import figures, papers
from seqlab.docs.beck import BLOCKS as BECK_BLOCKS
from seqlab.docs.deletang import BLOCKS as DELETANG_BLOCKS
from seqlab.docs.gu_dao import BLOCKS as GU_DAO_BLOCKS
from seqlab.docs.studies import Studies
from seqlab.docs.tables import (
    count,
    md_table,
    mean_ci_cell,
    provenance,
    solved_cell,
    sweep_provenance,
)
from seqlab.docs.zoology import BLOCKS as ZOOLOGY_BLOCKS

# -- Arjovsky, Shah & Bengio 2016 -------------------------------------------------------------


def _arjovsky_label(seeds):
    irnn = seeds.get("cfg.model.irnn")
    return [
        "irnn" if irnn is not None and bool(irnn.iloc[i]) else str(m)
        for i, m in enumerate(seeds["model"])
    ]


def _arjovsky(studies: Studies, task: str):
    seeds = studies.seeds("arjovsky2016")
    seeds = seeds[seeds["task"] == task].copy()
    seeds["label"] = _arjovsky_label(seeds)
    return seeds


def _arjovsky_table(studies: Studies, task: str, metric: str, claims: dict) -> str:
    """A row per model and T: the final and best held-out metric over the seeds that did not
    diverge (a diverged seed's last value is no result), with the diverged seeds counted."""
    seeds = _arjovsky(studies, task)
    figure = "Fig. 1" if task == "copy" else "Fig. 2"
    header = ["model", "T", "seeds", f"final held-out {metric}", "baseline", "final / baseline",
              f"best {metric}", "solved", "diverged", f"paper ({figure})"]  # fmt: skip
    if task == "copy":
        header.insert(6, "recall accuracy")
    rows = []
    for (label, length), group in seeds.groupby(["label", "length"], sort=True):
        baseline = float(group["baseline"].iloc[0])
        finite = group[group["status"] != "diverged"]
        final = finite[f"final.{metric}"]
        row = [label, str(length), str(len(group)), mean_ci_cell(final), f"{baseline:.3g}",
               mean_ci_cell(final / baseline, ".2f")]  # fmt: skip
        if task == "copy":
            row.append(mean_ci_cell(finite["final.recall_accuracy"], ".2f"))
        row += [mean_ci_cell(finite[f"best.{metric}"]),
                f"{int(group['solved'].sum())}/{len(group)}",
                f"{len(group) - len(finite)}/{len(group)}", claims[label]]  # fmt: skip
        rows.append(row)
    return md_table(header, rows)


def arjovsky_copy(studies: Studies) -> str:
    return _arjovsky_table(studies, "copy", "loss", papers.ARJOVSKY_2016_COPY)


def arjovsky_adding(studies: Studies) -> str:
    return _arjovsky_table(studies, "adding", "mse", papers.ARJOVSKY_2016_ADDING)


def _arjovsky_figure(studies: Studies, task: str) -> str:
    seeds = _arjovsky(studies, task)
    labels = dict(zip(seeds["run"], seeds["label"], strict=True))
    curves = studies.curves("arjovsky2016")
    curves = curves[curves["run"].isin(labels)].copy()
    curves["label"] = curves["run"].map(labels)
    diverged = seeds.loc[seeds["status"] == "diverged", ["run", "seed"]]
    diverged_pairs = list(diverged.itertuples(index=False, name=None))
    diverged_rows = curves.set_index(["run", "seed"]).index.isin(diverged_pairs)
    curves = curves[~diverged_rows]
    baselines = seeds.groupby("length")["baseline"].first().to_dict()
    metric, ylabel = ("loss", "cross-entropy") if task == "copy" else ("mse", "MSE")
    title = (
        f"Arjovsky et al. 2016 {task} protocol in seqlab: held-out {ylabel}, mean and 95% CI "
        "over 3 seeds (diverged seeds left out: see the table)"
    )
    return studies.figure(
        f"arjovsky2016_{task}",
        lambda: figures.curve_panels(curves, metric, baselines.get, title, ylabel, log_y=True),
    )


def arjovsky_copy_figure(studies: Studies) -> str:
    return _arjovsky_figure(studies, "copy")


def arjovsky_adding_figure(studies: Studies) -> str:
    return _arjovsky_figure(studies, "adding")


def arjovsky_provenance(studies: Studies) -> str:
    return provenance(
        studies, "arjovsky2016", "seqlab sweep experiments/arjovsky2016.py --workdir "
        "runs/arjovsky2016 --jobs 2"
    )  # fmt: skip


def arjovsky_longer_table(studies: Studies) -> str:
    """The adding runs continued past the study's 10,000 iterations: per seed, the held-out
    MSE at 10,000 iterations, the lowest after it, and the final one, against the baseline."""
    seeds = studies.seeds("arjovsky2016_longer")
    curves = studies.curves("arjovsky2016_longer")
    curves = curves[curves["split"] == "eval"]
    header = ["model", "T", "seed", "iterations", "MSE at 10,000", "lowest MSE after 10,000",
              "final MSE", "baseline"]  # fmt: skip
    rows = []
    for _, seed in seeds.sort_values(["length", "seed"]).iterrows():
        mine = curves[(curves["run"] == seed["run"]) & (curves["seed"] == seed["seed"])]
        at = mine.set_index("step")["mse"]
        after = at[at.index > 10_000]
        rows.append([
            str(seed["model"]), str(seed["length"]), str(seed["seed"]), count(seed["step"]),
            f"{at.get(10_000, math.nan):.4f}", f"{after.min():.4f}" if len(after) else "–",
            f"{seed['final.mse']:.4f}", f"{seed['baseline']:.3f}",
        ])  # fmt: skip
    return md_table(header, rows)


# -- Hochreiter & Schmidhuber 1997 -----------------------------------------------------------


def _hochreiter_seeds(studies: Studies):
    """The study's seeds, each unsolved seed's budget the sequences it trained: its ceiling if
    its run ended, fewer if the run was stopped before (`step`, the step it reached)."""
    seeds = studies.seeds("hochreiter1997").copy()
    trained = seeds["step"] * seeds["cfg.train.batch_size"]
    seeds["budget_sequences"] = trained.where(
        ~seeds["solved"].astype(bool), seeds["budget_sequences"]
    )
    return seeds


def hochreiter_table(studies: Studies) -> str:
    seeds = _hochreiter_seeds(studies)
    header = ["T", "paper: sequences to success (Table 7)", "seqlab: seeds that met the rule",
              "sequences to success, mean ± 95% CI (median)", "trained, seeds not yet solved",
              "seqlab / paper", "left the baseline: seeds · median sequences",
              "held-out sequences wrong, final (of 2048)"]  # fmt: skip
    left = _left_the_baseline(studies)
    rows = []
    for length, group in seeds.groupby("length", sort=True):
        paper = papers.HOCHREITER_1997_TABLE_7.get(int(length), {})
        solved = group[group["solved"].astype(bool)]["solved_sequences"]
        ratio = solved.mean() / paper["sequences"] if len(solved) and paper else math.nan
        wrong = (1 - group["final.accuracy"]) * 2048
        rows.append([
            str(length),
            count(paper["sequences"]) if paper else "–",
            f"{len(solved)}/{len(group)}",
            f"{mean_ci_cell(solved, ',.0f')} ({count(solved.median())})" if len(solved) else "none",
            _trained(group),
            "–" if math.isnan(ratio) else f"{ratio:.2f}",
            _left_cell(group, left),
            mean_ci_cell(wrong, ".1f"),
        ])  # fmt: skip
    return md_table(header, rows)


LEFT_BASELINE_ACCURACY = 0.5  # held-out fraction correct; predicting 0.5 gets about 0.15


def _left_the_baseline(studies: Studies) -> dict:
    """{(run, seed): the first evaluated step whose held-out accuracy reached 0.5}."""
    curves = studies.curves("hochreiter1997")
    if curves.empty:
        return {}
    curves = curves[(curves["split"] == "eval") & (curves["accuracy"] >= LEFT_BASELINE_ACCURACY)]
    return curves.groupby(["run", "seed"])["step"].min().to_dict()


def _left_cell(group, left: dict) -> str:
    steps = [
        left[(r, s)] for r, s in zip(group["run"], group["seed"], strict=True) if (r, s) in left
    ]
    batch = int(group["cfg.train.batch_size"].iloc[0])
    if not steps:
        return f"0/{len(group)}"
    median = statistics.median(steps)
    return f"{len(steps)}/{len(group)} · {count(median * batch)}"


def _trained(group) -> str:
    """Sequences the unsolved seeds trained, against the ceiling where the run was stopped
    before reaching it."""
    unsolved = group[~group["solved"].astype(bool)]
    if unsolved.empty:
        return "–"
    trained = unsolved["budget_sequences"].max()
    ceiling = (unsolved["steps"] * unsolved["cfg.train.batch_size"]).max()
    if trained < ceiling:
        return f"{count(trained)} (stopped; ceiling {count(ceiling)})"
    return f"{count(trained)} (the ceiling)"


def hochreiter_figure(studies: Studies) -> str:
    seeds = _hochreiter_seeds(studies)
    seeds["label"] = "seqlab lstm1997"
    reference = {
        "Hochreiter & Schmidhuber 1997 (Table 7)": {
            t: v["sequences"] for t, v in papers.HOCHREITER_1997_TABLE_7.items()
        }
    }
    return studies.figure(
        "hochreiter1997_adding",
        lambda: figures.sequences_to_solve(
            seeds, "Adding (1997 variant): training sequences until the paper's rule", reference
        ),
    )


HOCHREITER_ERRORS_COMMAND = (
    "python experiments/analysis/hochreiter1997_errors.py runs/hochreiter1997/<the T=100 run> "
    "-o experiments/results/hochreiter1997_errors.json"
)


def hochreiter_errors_table(studies: Studies) -> str:
    """The trained seeds' wrong answers on fresh sequences, by where the marked values sit."""
    record = studies.record("hochreiter1997_errors", HOCHREITER_ERRORS_COMMAND)
    seeds = record["seeds"]
    header = ["sequences", f"how many (of {count(record['sequences'])})",
              f"wrong, all {len(seeds)} seeds", "wrong per seed (min – max)"]  # fmt: skip
    rows = []
    for case in seeds[0]["cases"]:
        counts = [s["cases"][case] for s in seeds]
        wrong = [c["wrong"] for c in counts]
        rows.append([case, count(counts[0]["sequences"]),
                     f"{sum(wrong):,} of {sum(c['sequences'] for c in counts):,}",
                     f"{min(wrong):,} – {max(wrong):,}"])  # fmt: skip
    total = [s["wrong"] for s in seeds]
    rows.append(["all", count(record["sequences"]),
                 f"{sum(total):,} of {record['sequences'] * len(seeds):,}",
                 f"{min(total):,} – {max(total):,}"])  # fmt: skip
    return md_table(header, rows)


def hochreiter_provenance(studies: Studies) -> str:
    return provenance(
        studies, "hochreiter1997", "seqlab sweep experiments/hochreiter1997.py --workdir "
        "runs/hochreiter1997 --jobs 2"
    )  # fmt: skip


# -- The zoo across T ---------------------------------------------------------------------------


def _zoo(studies: Studies, study: str):
    seeds = studies.seeds(study).copy()
    width = seeds["built.hidden"].astype("Int64").astype(str)
    seeds["label"] = seeds["model"] + " (" + width + ")"
    return seeds


def zoo_table(studies: Studies, study: str) -> str:
    """Per model (width built) and T: seeds solved, the median training sequences to solve
    (or the budget none solved within), and the final held-out metric."""
    seeds = _zoo(studies, study)
    metric = seeds["criterion"].iloc[0]
    lengths = sorted(seeds["length"].unique())
    header = ["model (width)", "params", "state"]
    header += [f"T={t}: solved · sequences" for t in lengths]
    header += [f"T={t}: final {metric}" for t in lengths]
    rows = []
    for label, group in seeds.groupby("label", sort=True):
        by_t = {t: g for t, g in group.groupby("length")}
        row = [label, count(group["params"].mean()), _state(group)]
        row += [solved_cell(by_t[t]) if t in by_t else "–" for t in lengths]
        row += [
            mean_ci_cell(by_t[t][f"final.{metric}"], ".3g") if t in by_t else "–" for t in lengths
        ]
        rows.append(row)
    return md_table(header, rows)


def _state(group) -> str:
    """The floats a model carries from step to step (summary.json's state_size), one number,
    or one per T where it grows with T (the Transformer's KV cache)."""
    sizes = group.groupby("length")["state_size"].first().dropna()
    if sizes.empty:
        return "–"
    if sizes.nunique() == 1:
        return count(sizes.iloc[0])
    return " / ".join(f"{count(v)} (T={t})" for t, v in sizes.items())


def zoo_figure(studies: Studies, study: str, task: str) -> str:
    seeds = _zoo(studies, study)
    return studies.figure(
        study,
        lambda: figures.sequences_to_solve(
            seeds, f"{task}: training sequences to solve (~20k parameters, 3 seeds)"
        ),
    )


# -- Anomalies -------------------------------------------------------------------------------


def rnn_adding_table(studies: Studies) -> str:
    """The zoo table's single-seed, single-evaluation MSE at step 1,000, against eight seeds
    evaluated every 10 steps."""
    seeds = studies.seeds("rnn_adding_anomaly")
    curves = studies.curves("rnn_adding_anomaly")
    header = ["model", "seeds", "MSE at step 1,000: mean ± CI", "min", "max",
              "evaluations in steps 500-1,000 above 0.3", "highest after step 100"]  # fmt: skip
    rows = []
    for model, group in seeds.groupby("model", sort=False):
        final = group["final.mse"]
        late = curves[(curves["model"] == model) & (curves["split"] == "eval")]
        window = late[(late["step"] >= 500) & (late["step"] <= 1000)]["mse"]
        above = f"{int((window > 0.3).sum())} of {len(window)}"
        rows.append([model, str(len(group)), mean_ci_cell(final), f"{final.min():.3g}",
                     f"{final.max():.3g}", above,
                     f"{late[late['step'] > 100]['mse'].max():.3g}"])  # fmt: skip
    return md_table(header, rows)


def rnn_adding_figure(studies: Studies) -> str:
    curves = studies.curves("rnn_adding_anomaly")
    curves = curves[curves["split"] == "eval"]

    def draw():
        plt = figures.pyplot()
        models = list(dict.fromkeys(curves["model"]))
        fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.4), sharey=True)
        for ax, model in zip(axes, models, strict=True):
            for seed, c in curves[curves["model"] == model].groupby("seed"):
                ax.plot(c["step"], c["mse"], lw=0.9, alpha=0.8, label=f"seed {seed}")
            ax.axhline(1 / 6, color="black", ls=":", lw=1, label="always 1 (1/6)")
            ax.set_yscale("log")
            ax.set_title(f"{model}, adding T=100 (configs/zoo.py)")
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("held-out MSE, every 10 steps")
        axes[-1].legend(fontsize=7, ncol=2)
        fig.tight_layout()
        return fig

    return studies.figure("rnn_adding_anomaly", draw)


BLOCKS: dict[str, Callable[[Studies], str]] = {
    "arjovsky2016.provenance": arjovsky_provenance,
    "arjovsky2016.copy": arjovsky_copy,
    "arjovsky2016.copy_figure": arjovsky_copy_figure,
    "arjovsky2016.adding": arjovsky_adding,
    "arjovsky2016.adding_figure": arjovsky_adding_figure,
    "arjovsky2016_longer.table": arjovsky_longer_table,
    "arjovsky2016_longer.provenance": lambda s: provenance(
        s,
        "arjovsky2016_longer",
        "seqlab sweep experiments/arjovsky2016_longer.py --workdir runs/arjovsky2016_longer",
    ),
    "hochreiter1997.provenance": hochreiter_provenance,
    "hochreiter1997.table": hochreiter_table,
    "hochreiter1997.figure": hochreiter_figure,
    "hochreiter1997.errors": hochreiter_errors_table,
    "zoo_copy.provenance": lambda s: sweep_provenance(s, "zoo_copy"),
    "zoo_copy.table": lambda s: zoo_table(s, "zoo_copy"),
    "zoo_copy.figure": lambda s: zoo_figure(s, "zoo_copy", "copy"),
    "zoo_adding.provenance": lambda s: sweep_provenance(s, "zoo_adding"),
    "zoo_adding.table": lambda s: zoo_table(s, "zoo_adding"),
    "zoo_adding.figure": lambda s: zoo_figure(s, "zoo_adding", "adding"),
    "rnn_adding_anomaly.table": rnn_adding_table,
    "rnn_adding_anomaly.figure": rnn_adding_figure,
    "rnn_adding_anomaly.provenance": lambda s: provenance(
        s,
        "rnn_adding_anomaly",
        "seqlab sweep experiments/rnn_adding_anomaly.py --workdir runs/rnn_adding_anomaly",
    ),
    **DELETANG_BLOCKS,
    **GU_DAO_BLOCKS,
    **ZOOLOGY_BLOCKS,
    **BECK_BLOCKS,
}
