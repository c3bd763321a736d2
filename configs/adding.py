"""The adding problem, Arjovsky et al. 2016 / Le et al. 2015 variant, with the LSTM.

    seqlab train --config configs/adding.py --config.task.length=100 --workdir runs/adding

`:paper` (the default) is the authors' setting: configs/arjovsky2016.py:adding-lstm (their LSTM
of 40 cells, RMSProp 1e-3 from an accumulator of 1e-3, batch 20, elementwise clipping at 1, a
fixed training set of 100,000; that file lists the sources and deviations). MSE of the always-1
predictor is 1/6. `:fast` is Adam with a larger batch and a 128-cell LSTM, which reaches
MSE < 0.01 at T=100 on a 2-core CPU in minutes.
"""

from pathlib import Path

from seqlab.config import base_config, load_python_file


def get_config(arg: str = "paper"):
    if arg == "paper":
        paper = load_python_file(
            Path(__file__).with_name("arjovsky2016.py"), "config", "get_config"
        )
        return paper.get_config("adding-lstm")
    if arg != "fast":
        raise ValueError(f"configs/adding.py takes 'paper' or 'fast', got {arg!r}")
    c = base_config()
    c.task.name = "adding"
    c.task.length = 100
    c.model.name = "lstm"
    c.model.hidden = 128
    c.train.steps = 3_000
    c.train.batch_size = 64
    c.optim.name = "adam"
    c.optim.lr = 2e-3
    c.optim.clip_norm = 1.0
    c.eval.every = 500
    return c
