"""Delétang et al. 2023's Transformer where experiments/deletang2023.py's sin/cos Transformer
stays far below their Table 2 (even pairs 61.1 vs 96.4, cycle navigation 22.2 vs 61.9): does
another of their positional encodings close the gap?

    seqlab sweep experiments/deletang2023_positions.py --jobs 2 \
        --workdir runs/deletang2023_positions
    seqlab export runs/deletang2023_positions -o experiments/results/deletang2023_positions.json

Their Transformer number is the best of five encodings (§5.4: "we evaluate five encodings (none,
sin/cos, RoPE, ALiBi, and the relative positional encoding from Transformer-XL) and report the
best-performing variant"; models/positional_encodings.py: NONE, SIN_COS, ALIBI, RELATIVE,
ROTARY; issue 7 of google-deepmind/neural_networks_chomsky_hierarchy sweeps all five). The paper
reports per-encoding results only as plots (Fig. B.7), so which encoding gave 96.4 and 61.9 is
not known from the text; a user of their code who trained the relative encoding on even pairs
expected "around 90" from Fig. B.7 (a) and Table B.6 (issue 2 of that repository). seqlab builds
all five: sin/cos (experiments/deletang2023.py), RoPE (`model.positions=rotary`), ALiBi with
their 0.5 on past keys (`alibi`), Transformer-XL's relative encoding as their code computes it
(`relative`) and none (`none`, NoPE). Here the four others on the two tasks, with the protocol
and the 5-layer Transformer of experiments/deletang2023.py (1,500 steps, lr 1e-3, 2 seeds):
about 32 minutes of one core a program, most of it the first compile and the evaluation at 12
lengths up to 500.

Expectations from the architecture, to check: NoPE makes the encoder blind to order, so on even
pairs (whose answer is "the first symbol equals the last") it can only guess from the symbols'
counts, and it runs last; cycle navigation's answer (the sum of the moves modulo 5) does not
depend on the order, so NoPE loses nothing there.
"""

from pathlib import Path

from seqlab.config import load_python_file
from seqlab.sweep import product

DELETANG = load_python_file(Path(__file__).with_name("deletang2023.py"), "sweep", "sweep")
PAPER = {m["model.name"]: m for m in DELETANG.PAPER_MODELS}
TRANSFORMER = {  # their 5-layer encoder, less its sin/cos positions
    k: v for k, v in PAPER["transformer"].items() if k != "model.positions"
}
PROGRAMS = [  # (positions, task); sin/cos is experiments/deletang2023.py's
    ("rotary", "even_pairs"),
    ("rotary", "cycle_navigation"),
    ("alibi", "even_pairs"),
    ("alibi", "cycle_navigation"),
    ("relative", "even_pairs"),
    ("relative", "cycle_navigation"),
    ("none", "cycle_navigation"),
    ("none", "even_pairs"),
]


# The relative encoding's position term is a second [batch, heads, T, T] array beside the
# attention logits: at length 500, 256 sequences a batch and two seeds at once it ran the 2-core
# machine (23 GB) out of memory. Its programs score the same 512 sequences a length in batches
# of 64.
SMALL_EVAL_BATCHES = {"eval.batches": 8, "eval.batch_size": 64}


def program(positions: str, task: str) -> list[dict]:
    """One program (its seeds): the protocol and Transformer of experiments/deletang2023.py with
    these positions on this task."""
    protocol = dict(DELETANG.PROTOCOL)
    if positions == "relative":
        protocol |= SMALL_EVAL_BATCHES
    row = {"model.positions": positions, "config": f"configs/formal.py:{task}"}
    return product(row, {"optim.lr": DELETANG.LEARNING_RATES}, TRANSFORMER, protocol)


def sweep():
    return [run for positions, task in PROGRAMS for run in program(positions, task)]
