"""Parity and the linear recurrences (Grazzi et al. 2024, "Unlocking State-Tracking in Linear
RNNs Through Negative Eigenvalues", ICLR 2025): their Theorem 1 says a linear recurrence whose
state-transition eigenvalues are all positive cannot compute parity at every length in finite
precision. Every seqlab model on Delétang et al.'s parity task by Delétang et al.'s protocol
(experiments/deletang2023.py): which learn it, and which keep it beyond the training lengths?

    seqlab sweep experiments/grazzi2024.py --workdir runs/grazzi2024 --jobs 2
    seqlab export runs/grazzi2024 -o experiments/results/grazzi2024.json

The models at ~50k parameters (the cells one layer, the linear-recurrence cells two residual
layers with layer norm, the block models two blocks of two heads), trained on lengths 1..40,
scored on lengths 41..500 (experiments/deletang2023.py's protocol: batch 128, Adam at 1e-3 with
global-norm clipping 1, 1,500 steps, 2 seeds). The theorem's cases: mLSTM, Mamba, Mamba-2,
Hawk, minGRU and minLSTM have input-dependent transitions in (0, 1) -- "cannot"; the LRU and
S5 have fixed complex eigenvalues -- outside the theorem, but a fixed transition cannot flip
its state on a 1 and not on a 0; the LSTM, GRU, sLSTM and xLSTM[1:1] (sLSTM blocks) are
nonlinear recurrences -- "can" (Delétang et al.'s LSTM scores 100%). About 30 minutes of a
2-core CPU with --jobs 2.
"""

from pathlib import Path

from seqlab.config import load_python_file
from seqlab.sweep import product

DELETANG = load_python_file(Path(__file__).with_name("deletang2023.py"), "sweep", "sweep")
CELLS = ["lstm", "gru", "slstm"]
LINEAR_CELLS = ["lru", "mingru", "minlstm"]
BLOCKS = ["xlstm[1:1]", "mlstm", "hawk", "mamba", "mamba2", "s5"]
BUDGET = {"model.size": "", "model.param_budget": 50_000}


def models():
    out = [dict(BUDGET, **{"model.name": m}) for m in CELLS]
    linear = {"model.layers": 2, "model.residual": True, "model.norm": "layer"}
    out += [dict(BUDGET, **linear, **{"model.name": m}) for m in LINEAR_CELLS]
    blocks = {"model.layers": 2, "model.heads": 2}
    return out + [dict(BUDGET, **blocks, **{"model.name": m}) for m in BLOCKS]


def sweep():
    parity = {"config": "configs/formal.py:parity", "optim.lr": 1e-3}
    return product(parity, models(), DELETANG.PROTOCOL)
