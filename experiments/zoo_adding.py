"""The zoo on adding across T: every model (the bidirectional ones too: adding is read at the
last step) at an equal parameter budget (~20k), three seeds, stopping when solved (held-out
MSE <= 0.01) within a ceiling.

    seqlab sweep experiments/zoo_adding.py --workdir runs/zoo_adding --jobs 2
    seqlab export runs/zoo_adding -o experiments/results/zoo_adding.json

The protocol and depths of experiments/zoo_copy.py (Adam 3e-3, global-norm clipping 1, batch
32), at most 2,000 steps (64,000 training sequences). Lengths: T=100 and 50, what the 2-core
CPU allowed in the session that ran it beside the other studies (about 12 and 20 minutes); add
200 and 400 to LENGTHS and rerun the command to extend it (finished programs are kept, the new
lengths train).
"""

from pathlib import Path

from seqlab.config import load_python_file
from seqlab.sweep import product

ZOO_COPY = load_python_file(Path(__file__).with_name("zoo_copy.py"), "sweep", "sweep")

CONFIG = "configs/zoo.py"
BIDIRECTIONAL = ["bilstm", "bigru"]
LENGTHS = [100, 50]


def sweep():
    zoo = ZOO_COPY.models() + [dict(ZOO_COPY.BUDGET, **{"model.name": m}) for m in BIDIRECTIONAL]
    return product(
        {"task.name": "adding", "task.length": LENGTHS},
        zoo,
        ZOO_COPY.PROTOCOL,
    )
