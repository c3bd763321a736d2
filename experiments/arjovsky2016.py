"""Arjovsky, Shah & Bengio 2016, copy (Figure 1) and adding (Figure 2), with the authors' LSTM,
tanh RNN and IRNN and their training protocol (configs/arjovsky2016.py lists every setting and
its source), three seeds each. REPRODUCTIONS.md places the results beside the paper's.

    seqlab sweep experiments/arjovsky2016.py --workdir runs/arjovsky2016 --jobs 2
    seqlab export runs/arjovsky2016 -o experiments/results/arjovsky2016.json

The runs train for the paper's whole budget (no stopping when solved): the paper's figures are
loss curves over the iterations. About 2 h on the 2-core CPU (2 jobs, one core each).
"""

from seqlab.sweep import product

LENGTHS = {"copy": [100, 200, 300, 500], "adding": [100, 200, 400, 750]}
MODELS = ["lstm", "rnn", "irnn"]
SEEDS = {"train.seed": [0, 1, 2]}


def sweep():
    runs = []
    for task in ("copy", "adding"):
        for model in MODELS:
            base = {"config": f"configs/arjovsky2016.py:{task}-{model}"}
            runs += product(base, {"task.length": LENGTHS[task]}, SEEDS)
    # the longest first, so that no long program is left alone at the end
    return sorted(runs, key=lambda r: -r["task.length"])
