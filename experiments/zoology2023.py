"""Zoology (Arora, Eyuboglu et al. 2023, "Zoology: Measuring and Improving Recall in Efficient
Language Models"), Figure 2 at a reduced, stated scale: multi-query associative recall (MQAR),
accuracy against model width, each point the best over their learning-rate grid.

    seqlab sweep experiments/zoology2023.py --workdir runs/zoology2023 --jobs 2
    seqlab results runs/zoology2023 --best-over optim.lr
    seqlab export runs/zoology2023 -o experiments/results/zoology2023.json

Their protocol, from HazyResearch/zoology (zoology/experiments/paper_configs/
iclr24_zoology_figure2/configs.py, zoology/train.py; configs/mqar.py holds it at full scale):
MQAR with filler 0 (`random_non_queries=False`) at (length, pairs) = (64, 4), (128, 8),
(256, 16), vocabulary 8192; 2-layer models of width 64..512; AdamW with torch's defaults
(weight decay 0.01), no clipping, learning rate swept over logspace(-4, -2, 4) and
cosine-annealed to 0 over the epochs; 64 epochs of 100,000 training sequences at batch 512
(256 at length 256), stopping once valid accuracy exceeds 0.99; the plotted number is the best
over the learning rates. Their attention: one head, learned positions, no MLP (the state mixer
is the identity), GPT-2 initialisation, embedding tied to the readout
(`model.attention_block=zoology`, seqlab/models/transformer.py).

Here: their three points at widths 64 and 128, in the order (64, 4) (the issue's models at width
64, then at 128, then Hawk and the LRU), (128, 8), (256, 16) (the sweep resumes into each; on
the 2-core CPU (64, 4) alone takes of the order of 10 hours, the longer points are for a GPU);
attention (theirs), the mLSTM, xLSTM[1:1], sLSTM, Hawk (two blocks of two heads each), the LRU
(two residual layers with layer norm), the LSTM and the GRU (two layers); their learning-rate
grid; 2 seeds. Deviations, all stated in
REPRODUCTIONS.md: vocabulary 512, not 8192 (the tied 8192-way readout is most of a step's cost on
the CPU; keys and values come from 255 and 256 tokens instead of 4,095 and 4,096); batch 64 drawn
fresh each step at every point (theirs 512, and 256 at length 256); at most 6,000 steps (384,000
sequences, 6% of their 6.4 million), the cosine over those steps; no dropout (theirs 0.1 in
attention). Each seed stops once solved (accuracy >= 0.99 on 1,024 held-out sequences). Mamba is
not in the grid: at ~1 step/s on this CPU its programs alone would take more than the study's two
hours.

The budget is what the diagnosis (`diagnosis()`) found attention needs: at batch 64 it sits on
a plateau at 1/4 of the pairs for ~2,000 steps before the induction circuit forms; a
3,000-step grid, its cosine reaching 0 as the plateau ends, never leaves it.
"""

from seqlab.sweep import product

LEARNING_RATES = [1e-4, 10 ** (-10 / 3), 10 ** (-8 / 3), 1e-2]  # np.logspace(-4, -2, 4)
POINTS = [(64, 4), (128, 8), (256, 16)]  # (task.length, task.pairs): Fig. 2's three panels
WIDTHS = [64, 128]
ATTENTION = {
    "model.name": "transformer",
    "model.attention_block": "zoology",
    "model.heads": 1,
    "model.positions": "learned",
}
BLOCKS = ["xlstm[1:1]", "mlstm", "slstm"]  # two heads each
CELLS = ["lstm", "gru"]
PROTOCOL = {
    "config": "configs/mqar.py:paper",
    "task.vocab_size": 512,
    "model.size": "",
    "model.layers": 2,
    "train.steps": 6000,
    "train.batch_size": 64,
    "train.chunk": 100,
    "train.stop_when_solved": True,
    "eval.every": 250,
    "eval.batches": 4,
    "eval.batch_size": 256,
    "checkpoint.every": 1000,
    "train.seed": [0, 1],
}


def models():
    """The issue's models, the slowest first (no long program left alone at the end of a
    width)."""
    out = [dict(ATTENTION)]
    out += [{"model.name": m, "model.heads": 2} for m in BLOCKS]
    return out + [{"model.name": m} for m in CELLS]


def linear_recurrences():
    """Beyond the issue's list: Hawk's blocks and the LRU's residual layers."""
    hawk = {"model.name": "hawk", "model.heads": 2}
    return [hawk, {"model.name": "lru", "model.residual": True, "model.norm": "layer"}]


def diagnosis():
    """Why attention sat on the plateau at 1/4 of the pairs in a 3,000-step grid (REPRODUCTIONS.md
    §8): their block at width 64 and the grid's third learning rate, one seed, for 3,000 steps
    with learned and with rotary positions, and for their 12,500 steps (at batch 64: 1/8 of their
    sequences), each with the cosine over its own steps."""
    point = {"task.length": 64, "task.pairs": 4}
    base = {**PROTOCOL, **point, **ATTENTION, "model.hidden": 64, "optim.lr": LEARNING_RATES[2]}
    short = dict(base, **{"train.seed": 0, "train.steps": 3000})
    rotary = dict(short, **{"model.positions": "rotary"})
    longer = dict(short, **{"train.steps": 12_500, "checkpoint.every": 2_500})
    return [rotary, longer, short]


def grid(length: int, pairs: int):
    """One panel of Fig. 2: every model at every width and learning rate; the issue's models
    at both widths before the linear recurrences."""
    point = {"task.length": length, "task.pairs": pairs}
    lrs = {"optim.lr": LEARNING_RATES}
    widths = {"model.hidden": WIDTHS}
    return [
        *product(widths, models(), lrs, {**PROTOCOL, **point}),
        *product(widths, linear_recurrences(), lrs, {**PROTOCOL, **point}),
    ]


def sweep():
    return diagnosis() + [run for length, pairs in POINTS for run in grid(length, pairs)]
