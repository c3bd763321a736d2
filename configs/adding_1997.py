"""The adding problem of Hochreiter & Schmidhuber 1997 (Experiment 4), as the paper ran it.

    seqlab train --config configs/adding_1997.py --config.task.length=100 --workdir runs/a97
    seqlab sweep experiments/hochreiter1997.py --workdir runs/hochreiter1997 --jobs 2

From the paper (Section 5.4; there is no public code):
- The net: the original LSTM (`lstm1997`: no forget gate, g in [-2, 2], h in [-1, 1], cells and
  gates fed by the inputs and by every hidden unit, a logistic output unit), 2 memory cell
  blocks of size 2, 93 weights, initialised in [-0.1, 0.1] with input-gate biases -3 and -6;
  trained with its truncated gradient (seqlab/models/lstm1997.py).
- Online learning: one sequence per update, plain gradient descent, learning rate 0.5 on the
  error E = 1/2 e^2. seqlab's loss is the mean squared error e^2, whose gradient is twice E's:
  `optim.lr=0.25` here is the paper's step.
- The stopping rule, which is what Table 7 counts: "training is stopped if the average training
  error is below 0.01, and the 2000 most recent sequences were processed correctly" (|error at
  the end| < 0.04). `train.solved_streak=2000` stops a seed once its 2,000 most recent training
  sequences were all correct (the error bound then holds too: every squared error is below
  0.0016), and `summary.json`'s `solved_sequences` counts the training sequences to that point.
- Table 7: T=100: 74,000 sequences to success (10 trials); T=500: 209,000; T=1000: 853,000.

`train.steps` is a ceiling (about 4 times the paper's count at T=100); a seed that does not
meet the rule by then is reported at that budget. Held-out evaluation on 2,048 sequences every
10,000 sequences, for the learning curves (it does not decide the stop).
"""

from seqlab.config import base_config


def get_config():
    c = base_config()
    c.task.name = "adding_1997"
    c.task.length = 100
    c.model.name = "lstm1997"
    c.model.hidden = 4
    c.model.heads = 2
    c.train.steps = 300_000
    c.train.batch_size = 1
    c.train.chunk = 1000
    c.train.solved_streak = 2000
    c.train.stop_when_solved = True
    c.optim.name = "sgd"
    c.optim.lr = 0.25
    c.optim.clip_norm = 0.0
    c.eval.every = 10_000
    c.eval.batches = 8
    c.eval.batch_size = 256
    c.checkpoint.every = 50_000
    return c
