"""Copy memory (Arjovsky, Shah & Bengio 2016) with the LSTM.

    seqlab train --config configs/copy.py --config.task.length=100 --workdir runs/copy

`:paper` (the default) is the authors' setting: configs/arjovsky2016.py:copy-lstm (their LSTM
of 40 cells with its output-gate matrix, learned initial state and per-gate Glorot init;
RMSProp 1e-3 from an accumulator of 1e-3, batch 20, elementwise clipping at 1, a fixed training
set of 100,000, 20,000 iterations; that file lists the sources and deviations).
`:fast` is seqlab's own faster setting for T=100 on a CPU (Adam at lr 3e-3, batch 64, hidden
128 with a 16-wide embedding, forget-gate bias 3 so that memory survives the T-step gap).
"""

from pathlib import Path

from seqlab.config import base_config, load_python_file


def get_config(arg: str = "paper"):
    if arg == "paper":
        paper = load_python_file(
            Path(__file__).with_name("arjovsky2016.py"), "config", "get_config"
        )
        return paper.get_config("copy-lstm")
    if arg != "fast":
        raise ValueError(f"configs/copy.py takes 'paper' or 'fast', got {arg!r}")
    c = base_config()
    c.task.name = "copy"
    c.task.length = 100
    c.model.name = "lstm"
    c.model.hidden = 128
    c.model.forget_bias = 3.0
    c.train.steps = 20_000
    c.train.batch_size = 64
    c.optim.name = "adam"
    c.optim.lr = 3e-3
    c.optim.clip_norm = 1.0
    c.eval.every = 500
    return c
