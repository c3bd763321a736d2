"""The zoo trained short and evaluated long: parity (Delétang et al. 2023; xLSTM App. B.1.1)
and multi-query associative recall (Arora et al. 2023, Zoology).

    seqlab sweep experiments/length_generalisation.py --workdir runs/length_generalisation --jobs 2

- parity: trained on lengths 1..40 (configs/formal.py:parity, shortened to 2,000 steps with
  200 warm-up steps), evaluated at exactly 40, 64, 128 and 256 steps; `seqlab results` reports
  the rescaled accuracy (`score`: chance 0, perfect 1) at each length. With 1,000 steps the
  cosine schedule had decayed before the 50k LSTM started to learn (0/3 seeds solved; its loss
  began to fall at step ~900), so parity keeps 2,000.
- mqar: trained at (length, pairs) = (64, 4) and evaluated with the same 4 pairs at 128 and
  256 steps (configs/mqar.py:fast: 1,000 steps, a 512-token vocabulary; the paper's is 8192);
  and trained at (256, 16), Zoology's longest point, for 500 steps.

At (256, 16) the mLSTM layers use the chunkwise form (chunks of 64), the same function as the
parallel form (tests/models/test_mlstm.py) and 1.37x as fast in the mqar256 mlstm program
(3 seeds: 0.195 against 0.142 steps/s on the 2-core CPU, 2026-11-23); the parallel form's
T x T work only pays off at short lengths.

Six models of ~50k parameters (`model.param_budget`, so widths differ), three seeds each,
trained as one program per model and task: 1 h 55 min of a 2-core CPU in all, two programs
at a time (at 200k parameters and 1,000 mqar (256, 16) steps it needed ~8 h). On mqar the
512-token embedding and read-out take most of the budget (widths 28-44 against 44-142 on
parity), and 500 steps at (256, 16) leave every model near chance: a floor, not a ranking. The
Transformer uses rotary positions: learned positions cannot run past their training length
(seqlab refuses eval.lengths for them). The results of the last full run are in
experiments/length_generalisation.md.
"""

from seqlab.sweep import product

MODELS = ["lstm", "gru", "slstm", "mlstm", "xlstm[1:1]", "transformer"]
BLOCKS = {"model.heads": 2, "model.layers": 2, "model.positions": "rotary"}
SIZE = {"model.param_budget": 50_000, "train.seed": [0, 1, 2]}


def per_model(name: str) -> dict:
    if name in ("mlstm", "xlstm[1:1]", "transformer"):
        fields = dict(BLOCKS)
        if name != "transformer":
            del fields["model.positions"]
        return fields
    return {"model.heads": 2} if name == "slstm" else {}


def sweep():
    parity = product(
        {"config": "configs/formal.py:parity", "model.name": MODELS},
        {"eval.lengths": [(40, 64, 128, 256)], "train.steps": 2000, "optim.warmup_steps": 200},
        SIZE,
    )
    mqar = product(
        {"config": "configs/mqar.py:fast", "model.name": MODELS},
        [
            {"task.length": 64, "task.pairs": 4, "eval.lengths": (128, 256)},
            {"task.length": 256, "task.pairs": 16, "train.steps": 500},
        ],
        SIZE,
    )
    runs = [dict(run, **per_model(run["model.name"])) for run in parity + mqar]
    for run in runs:
        if run.get("task.length") == 256 and run["model.name"] in ("mlstm", "xlstm[1:1]"):
            run["model.mlstm_form"] = "chunkwise"  # the same function, 1.37x as fast at T=256
    return runs
