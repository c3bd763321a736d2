"""Delétang et al. 2023 ("Neural Networks and the Chomsky Hierarchy", ICLR), the regular tasks:
parity, even pairs, modular arithmetic and cycle navigation (mod 5), with their three
regular-task architectures at their sizes and their optimiser. The rest of seqlab's zoo on
parity, by the same protocol, is experiments/grazzi2024.py.

    seqlab sweep experiments/deletang2023.py --workdir runs/deletang2023 --jobs 2
    seqlab results runs/deletang2023 --best-over optim.lr
    seqlab export runs/deletang2023 -o experiments/results/deletang2023.json

Their protocol, from google-deepmind/neural_networks_chomsky_hierarchy:
- training lengths uniform in 1..40 (experiments/example.py: UniformCurriculum(1..40)); batch
  128; Adam with global-norm clipping at 1 and a constant learning rate (experiments/training.py:
  optax.chain(clip_by_global_norm(1), adam(lr))); the paper's grid is 1e-4, 3e-4 and 5e-4;
- RNN and LSTM with 256 units on one-hot inputs and a linear read-out (experiments/constants.py,
  models/rnn.py; example.py's hidden_size 256), here `model.embed_dim=0`;
- the Transformer encoder (models/transformer.py's defaults): 5 layers, width 64, 8 heads,
  feed-forward 4x, sin/cos positions, no causal mask; here `model.causal=false`,
  `model.positions=sinusoidal`;
- the score: the final parameters' accuracy averaged over the test lengths 41..500 and the
  maximum over seeds and learning rates (`seqlab results --best-over optim.lr`; protocols.py).

Deviations, all stated in REPRODUCTIONS.md: 2 seeds, not 10; one learning rate so far, 1e-3
(their experiments/example.py's default; the paper's grid 1e-4..5e-4 is meant for 1,000,000
steps); 1,500 steps (0.15% of their budget), so a model that has not learnt a task here might
with theirs; the score from 12 test lengths spread over 41..500 (their 460), 512 sequences each;
every sequence draws its own length (theirs: one a batch); the class is read at a string's last
step (theirs: at an extra empty step appended after it); no dropout in the Transformer (theirs:
0.1); flax's initialisers (theirs: haiku's). Measured on the 2-core CPU: 1 h 46 min with
`--jobs 2`, the 5-layer Transformer 30-36 minutes of one core a task.
"""

from seqlab.sweep import product

TASKS = ["parity", "even_pairs", "modular_arithmetic", "cycle_navigation"]
LEARNING_RATES = [1e-3]  # then 5e-4, 3e-4, 1e-4: appended here, the same command resumes
TEST_LENGTHS = (41, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500)
PROTOCOL = {
    "train.steps": 1500,
    "train.batch_size": 128,
    "train.chunk": 100,
    "optim.schedule": "constant",
    "optim.warmup_steps": 0,
    "optim.clip_norm": 1.0,
    "eval.every": 1500,  # the final parameters, as they score
    "eval.batches": 2,  # 512 sequences a length, as their range evaluation
    "eval.lengths": [TEST_LENGTHS],
    "checkpoint.every": 500,
    "train.seed": [0, 1],
}
PAPER_MODELS = [  # the slowest first: no long program is left alone at the end
    {
        "model.name": "transformer",
        "model.hidden": 64,
        "model.layers": 5,
        "model.heads": 8,
        "model.mlp_ratio": 4,
        "model.causal": False,
        "model.positions": "sinusoidal",
    },
    {"model.name": "lstm", "model.hidden": 256, "model.embed_dim": 0},
    {"model.name": "rnn", "model.hidden": 256, "model.embed_dim": 0},
]


def sweep():
    return product(
        {"config": [f"configs/formal.py:{t}" for t in TASKS], "optim.lr": LEARNING_RATES},
        PAPER_MODELS,
        PROTOCOL,
    )
