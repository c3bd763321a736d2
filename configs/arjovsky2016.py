"""Arjovsky, Shah & Bengio 2016 ("Unitary Evolution RNNs", ICML), copy and adding, as the
authors ran them: `:<task>-<model>`, task copy | adding, model lstm | rnn | irnn.

    seqlab train --config configs/arjovsky2016.py:copy-lstm --config.task.length=100 \
        --workdir runs/arjovsky_copy_lstm_T100
    seqlab sweep experiments/arjovsky2016.py --workdir runs/arjovsky2016 --jobs 2

Settings, from the authors' code (github amarshah/complex_RNN at 3537fbf: memory_problem.py,
adding_problem.py, models.py, optimizations.py) unless marked "paper":
- RMSProp (optimizations.py `rms_prop`): decay 0.9, the accumulator starts at 1e-3 (not 0) and
  has no epsilon; the update divides by the square root of the *updated* accumulator
  (`optim.initial_scale=1e-3`; optax's rmsprop computes exactly that). "No epsilon" needs care:
  a parameter whose gradient is exactly 0 (the learned initial state at long T, whose gradient
  vanishes through T forget gates) has its accumulator decay as 1e-3 * 0.9^k. In IEEE float32
  with denormals (the authors' Theano) it stalls at the smallest denormal and the update stays
  0/sqrt(r) = 0; XLA flushes denormals to zero, so after 764 iterations r = 0 and the update is
  0/0 = NaN (every adding T=750 seed diverged so in a first run). `optim.eps` = the smallest
  normal float32 (1.18e-38) inside the square root restores the authors' arithmetic: it changes
  no update whose accumulator is a normal number, and keeps 0/sqrt(r) at 0.
- Learning rate 1e-3, batch 20; gradients clipped elementwise to ±1 for the LSTM, the tanh RNN
  and the IRNN (`T.clip(g, -1, 1)`: `optim.clip_value=1`, no norm clipping).
- A fixed training set of 100,000 sequences per run (`generate_data(..., n_train=1e5)`), each
  iteration's batch drawn from it at random (the script re-permutes the set every iteration,
  `n_iter % num_batches == 0` holding for their n_iter): `train.train_set=100000`. Held-out:
  they test on 10,000 sequences every 50 iterations.
- Iterations: 20,000 for copy (the paper's Figure 1 axis); for adding the scripts set none (the
  argparse defaults sit on positional arguments and never apply) and the paper plots fewer:
  10,000 here, a stated budget.
- The LSTM (models.py `LSTM`): separate Glorot-uniform matrices per gate (`model.init=
  glorot_uniform` draws per-gate bounds), forget-gate bias 1, other biases 0; the output gate
  also sees the *new* cell state through a full matrix V_o (`model.output_peephole=full`);
  h_0 and c_0 are learned parameters (`model.learn_initial_state`); the input enters the gates
  directly, as a one-hot row lookup W[x_t] for copy and x_t·W for adding (`model.embed_dim=0`).
- The tanh RNN (models.py `tanhRNN`): Glorot-uniform V, W and readout, zero biases, learned h_0.
  The IRNN (models.py `IRNN`): the same with W = identity and ReLU (`model.irnn=true`).
- Hidden sizes (paper, Section 4.1; the scripts take them as arguments): LSTM 40, tanh RNN and
  IRNN 80, chosen there to match the uRNN's parameter count on copy. The same sizes are used for
  adding (the paper's adding sizes could not be re-checked for this file; see REPRODUCTIONS.md).

Deviations (also in REPRODUCTIONS.md): copy's readout has 10 classes where the authors' has 9
(the delimiter, never a target, keeps a class here: one unused logit); batches are drawn from
the training set with replacement (theirs: 20 distinct sequences of a fresh permutation, which
differ only in the rare case of a repeat within a batch); held-out evaluation every 250
iterations on 2,000 sequences (theirs: every 50 on 10,000), which changes nothing in training.
"""

from seqlab.config import base_config

TASKS = ("copy", "adding")
MODELS = {
    "lstm": dict(name="lstm", hidden=40, output_peephole="full"),
    "rnn": dict(name="rnn", hidden=80),
    "irnn": dict(name="rnn", hidden=80, irnn=True),
}
ITERATIONS = {"copy": 20_000, "adding": 10_000}
FLOAT32_TINY = 1.1754943508222875e-38  # numpy.finfo(numpy.float32).tiny


def get_config(arg: str = "copy-lstm"):
    task, _, model = arg.partition("-")
    if task not in TASKS or model not in MODELS:
        choices = ", ".join(f"{t}-{m}" for t in TASKS for m in MODELS)
        raise ValueError(f"configs/arjovsky2016.py takes one of {choices}; got {arg!r}")
    c = base_config()
    c.task.name = task
    c.task.length = 100
    c.model.update(MODELS[model])
    c.model.embed_dim = 0
    c.model.init = "glorot_uniform"
    c.model.learn_initial_state = True
    c.model.forget_bias = 1.0
    c.train.steps = ITERATIONS[task]
    c.train.batch_size = 20
    c.train.chunk = 250
    c.train.train_set = 100_000
    c.optim.name = "rmsprop"
    c.optim.lr = 1e-3
    c.optim.decay = 0.9
    c.optim.eps = FLOAT32_TINY  # "no epsilon" under flush-to-zero (see the docstring)
    c.optim.initial_scale = 1e-3
    c.optim.clip_value = 1.0
    c.optim.clip_norm = 0.0
    c.eval.every = 250
    c.eval.batches = 4
    c.eval.batch_size = 500
    c.checkpoint.every = 2500
    return c
