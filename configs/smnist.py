"""Sequential MNIST (`:smnist`, default) or permuted sequential MNIST (`:psmnist`) with an LSTM.

    seqlab train --config configs/smnist.py:psmnist --workdir runs/psmnist

784 steps, one pixel in [0, 1] a step, the class read at the last step (seqlab.tasks.mnist).
psmnist uses task.permutation = "random" (np.random.default_rng(0).permutation(784));
`--config.task.permutation=bit_reversal` gives S4's. MNIST must be prepared in array_record
format in task.data_dir (default $SEQLAB_DATA_DIR, else ~/tensorflow_datasets): `seqlab data
prepare mnist --data-dir DIR` on a machine with internet. Training reads the first 50,000
training images, evaluation the last 10,000 (here all of them: 20 × 500).
The setting is seqlab's: a 128-unit LSTM, Adam 1e-3 with global-norm clipping 1, batch 100,
30,000 steps (60 epochs); Arjovsky et al. (2016) report 98.2% / 88.0% for their LSTM.
"""

from seqlab.config import base_config


def get_config(arg: str = "smnist"):
    if arg not in ("smnist", "psmnist"):
        raise ValueError(f"configs/smnist.py takes 'smnist' or 'psmnist', got {arg!r}")
    c = base_config()
    c.task.name = arg
    c.task.length = 784
    if arg == "psmnist":
        c.task.permutation = "random"
    c.model.name = "lstm"
    c.model.hidden = 128
    c.model.embed_dim = 16
    c.train.steps = 30_000
    c.train.batch_size = 100
    c.train.chunk = 100
    c.optim.name = "adam"
    c.optim.lr = 1e-3
    c.optim.clip_norm = 1.0
    c.eval.every = 1000
    c.eval.batches = 20
    c.eval.batch_size = 500
    c.checkpoint.every = 2000
    return c
