"""The xLSTM paper's parity (Beck et al. 2024, Fig. 4) with NX-AI's published config in full:
xLSTM[1:1] for the configs' 20,000 steps with their 2,000 warm-up steps, where
experiments/beck2024.py's 5,000 (a quarter, the schedule's shape kept) left it at chance beyond
the training lengths (REPRODUCTIONS.md §10). Does the budget explain the disagreement?

    seqlab sweep experiments/beck2024_longer.py --workdir runs/beck2024_longer --jobs 2
    seqlab export runs/beck2024_longer -o experiments/results/beck2024_longer.json

Everything else is experiments/beck2024.py's protocol (NX-AI/xlstm experiments/
parity_xlstm11.yaml: two blocks of width 64, one head, the sLSTM block second; AdamW 1e-3, weight
decay 0.1, batch 256, a cosine to 1e-3 of the peak; 2 seeds), evaluated every 2,000 steps so
the table follows the score over training. The paper's own text (App. B.1.1) trains 100,000
steps; 20,000 is a fifth of that. Cost: experiments/beck2024.py's xLSTM[1:1] program (both seeds)
trained at ~80 steps a minute on one core of the 2-core CPU, so about four hours of one core
(with `--jobs 1` the two seeds share both cores); resumable: rerunning the command continues
from the last checkpoint.
"""

from pathlib import Path

from seqlab.config import load_python_file
from seqlab.sweep import product

BECK = load_python_file(Path(__file__).with_name("beck2024.py"), "sweep", "sweep")
XLSTM_11 = next(m for m in BECK.MODELS if m["model.name"] == "xlstm[1:1]")
CONFIGS_BUDGET = {  # parity_xlstm11.yaml's schedule, whole
    "train.steps": 20_000,
    "optim.warmup_steps": 2_000,
    "eval.every": 2_000,
    "checkpoint.every": 1_000,
}


def sweep():
    return product(
        {"config": "configs/formal.py:parity"}, XLSTM_11, {**BECK.PROTOCOL, **CONFIGS_BUDGET}
    )
