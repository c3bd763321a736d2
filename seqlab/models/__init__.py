"""Models; importing this package registers every model in MODELS."""

from seqlab.models import (  # noqa: F401  (registration)
    gru,
    hawk,
    lru,
    lstm,
    lstm1997,
    mamba,
    mamba2,
    mingru,
    mlstm,
    peephole_lstm,
    rnn,
    s5,
    slstm,
    transformer,
    xlstm,
)
from seqlab.models.sequence import SequenceModel

__all__ = ["SequenceModel"]
