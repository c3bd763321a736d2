"""The xLSTM paper (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory", NeurIPS),
formal languages (Sec. 4.1, Fig. 4; App. B.1.1), parity, at a reduced, stated scale: does the
sLSTM give xLSTM the state tracking that the mLSTM alone lacks?

    seqlab sweep experiments/beck2024.py --workdir runs/beck2024 --jobs 2
    seqlab export runs/beck2024 -o experiments/results/beck2024.json

Their protocol, from NX-AI/xlstm (experiments/parity_xlstm01.yaml, parity_xlstm10.yaml,
parity_xlstm11.yaml; experiments/main.py, lr_scheduler.py; experiments/data/formal_language/
tasks/parity.py and formal_language_dataset.py):
- models: 2 blocks of width 64, one head in every mLSTM and sLSTM; xLSTM[0:1] is two sLSTM
  blocks (`slstm_at: [0, 1]`), xLSTM[1:0] two mLSTM blocks, xLSTM[1:1] an mLSTM then an sLSTM
  block (`slstm_at: [1]`, seqlab's order for xlstm[1:1]); the blocks' own factors (mLSTM
  up-projection 2, sLSTM feed-forward 1.3, causal convolution 4) are seqlab's defaults;
- data: bit strings with 2..39 bits (their sequence sizes 3..40 count the label's step), the
  parity read at the last bit (their target, shifted by one step); validated on 39..255 bits;
- training: AdamW at 1e-3 with weight decay 0.1, batch 256, 2,000 linear warm-up steps, then a
  cosine to 1e-3 of the peak at step 20,000; mixed precision (bfloat16) on a GPU;
- the reported number (Fig. 4): accuracy rescaled so that chance is 0 and perfect 1 (seqlab's
  `score`), on the validation lengths.

The paper's own text (App. B.1.1) describes a larger protocol than the published configs: 100,000
steps, three learning rates (1e-2, 1e-3, 1e-4) with two seeds each, AdamW with betas (0.9, 0.99),
10% warm-up and a cosine to 1e-5, and the sLSTM block without its convolution. The configs (and
main.py: torch's default betas (0.9, 0.999)) are what anyone can rerun, so this file follows them;
lr 1e-3 is one of the paper's three.

Here: their three xLSTM variants and the LSTM (2 layers of 64; NX-AI publishes no LSTM config)
on parity, 2 seeds, as the paper. Deviations, stated in REPRODUCTIONS.md:
5,000 steps with 500 warm-up steps (a quarter of the configs' 20,000, 5% of the paper's 100,000;
the schedule's shape kept); float32; weight decay on every parameter (theirs spares biases and
norms); the validation lengths 40, 64, 96, 128, 160, 192, 224, 255 (8 lengths, 512 sequences
each), not uniform in 39..255. Measured: the four programs took 61 (xLSTM[1:1]), 54 (xLSTM[1:0]), 46
(xLSTM[0:1]) and 10 (LSTM) minutes, one per core of the 2-core CPU.

This compressed schedule turned out to be the wrong protocol for the models with an mLSTM block:
xLSTM[1:1] stays at chance on parity under it and solves parity under the configs' own schedule
(experiments/beck2024_longer.py; REPRODUCTIONS.md §10), its learning rate having decayed here
before it found the rule. So this study stops at parity, kept as the experiment that showed it,
and the regular tasks run under the configs' schedule in experiments/beck2024_configs.py.
"""

from seqlab.sweep import product

TASKS = ["parity"]  # the other regular tasks: experiments/beck2024_configs.py
TEST_LENGTHS = (40, 64, 96, 128, 160, 192, 224, 255)
XLSTM = {"model.hidden": 64, "model.layers": 2, "model.heads": 1}
MODELS = [  # the claims first: do sLSTM blocks track parity's state? xlstm[1:0] (~45 min) last
    {"model.name": "xlstm[1:1]", **XLSTM},
    {"model.name": "xlstm[0:1]", **XLSTM},
    {"model.name": "lstm", "model.hidden": 64, "model.layers": 2},
    {"model.name": "xlstm[1:0]", **XLSTM},
]
PROTOCOL = {
    "task.length": 39,
    "task.min_length": 2,
    "model.size": "",
    "train.steps": 5000,
    "train.batch_size": 256,
    "train.chunk": 100,
    "optim.name": "adamw",
    "optim.lr": 1e-3,
    "optim.weight_decay": 0.1,
    "optim.schedule": "cosine",
    "optim.warmup_steps": 500,
    "optim.final_lr_fraction": 1e-3,
    "optim.clip_norm": 0.0,  # experiments/main.py does not clip
    "eval.every": 1000,
    "eval.batches": 2,
    "eval.batch_size": 256,
    "eval.lengths": [TEST_LENGTHS],
    "checkpoint.every": 1000,
    "train.seed": [0, 1],
}


def sweep():
    tasks = {"config": [f"configs/formal.py:{t}" for t in TASKS]}
    return product(tasks, MODELS, PROTOCOL)
