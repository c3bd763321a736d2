"""xLSTM[a:b] (Beck et al. 2024): residual stacks of mLSTM and sLSTM blocks.

`xlstm[a:b]` names the ratio of mLSTM to sLSTM blocks (`xlstm` alone is `xlstm[1:1]`). The
stack is `model.layers` blocks deep, in groups of a + b blocks; each group holds its b sLSTM
blocks evenly spread (xlstm[7:1]: m m m m s m m m; xlstm[1:1]: m s), the rest mLSTM blocks.
The blocks are the paper's designs, exact against NX-AI's package: the mLSTM block with
pre-up-projection (mlstm.MLSTMBlock) and the sLSTM block with post-up-projection
(slstm.SLSTMBlock). `model.layers` must be a multiple of a + b.
"""

from __future__ import annotations

import math

from flax import nnx

from seqlab.models.mlstm import MLSTMBlock
from seqlab.models.sequence import SequenceModel
from seqlab.models.sizing import BLOCK_SIZES
from seqlab.models.slstm import SLSTMBlock
from seqlab.registry import MODELS, split_name
from seqlab.tasks.base import TaskSpec

DEFAULT_RATIO = (1, 1)


def parse_ratio(name: str) -> tuple[int, int]:
    """'xlstm[7:1]' -> (7, 1); 'xlstm' -> (1, 1). Raises ValueError for a malformed ratio."""
    _, arg = split_name(name)
    if arg is None:
        return DEFAULT_RATIO
    parts = arg.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(
            f"model {name!r}: the ratio must be two whole numbers a:b, e.g. xlstm[7:1]"
        )
    a, b = (int(p) for p in parts)
    if a + b == 0:
        raise ValueError(f"model {name!r}: the ratio a:b needs at least one block")
    return a, b


def block_kinds(layers: int, ratio: tuple[int, int]) -> list[str]:
    """'m' (mLSTM) or 's' (sLSTM) for each of `layers` blocks."""
    a, b = ratio
    group = a + b
    if layers % group:
        raise ValueError(
            f"xlstm[{a}:{b}] stacks blocks in groups of {group}: model.layers must be a "
            f"multiple of {group}, got {layers}"
        )
    s_offsets = {math.floor((j + 0.5) * group / b) for j in range(b)}
    return ["s" if i % group in s_offsets else "m" for i in range(layers)]


def _width_multiple(cfg) -> int:
    return math.lcm(
        MODELS.entry("mlstm").width_multiple(cfg), MODELS.entry("slstm").width_multiple(cfg)
    )


@MODELS.register(
    "xlstm",
    "xLSTM[a:b] block stack: mLSTM (pre-up-projection) and sLSTM (post-up-projection) blocks",
    takes_arg=True,
    sizes=BLOCK_SIZES,
    blocks=True,
    causal=lambda cfg: True,
    width_multiple=_width_multiple,
    size_fields=("heads",),
)
def make_xlstm(cfg, spec: TaskSpec, rngs: nnx.Rngs) -> SequenceModel:
    kinds = block_kinds(cfg.layers, parse_ratio(cfg.name))

    def make_block(index: int, width: int, rngs: nnx.Rngs) -> nnx.Module:
        if kinds[index] == "s":
            # the sLSTM forget-gate bias init depends on the block's depth (NX-AI's powerlaw)
            return SLSTMBlock(cfg, width, rngs=rngs, block_index=index, num_blocks=cfg.layers)
        return MLSTMBlock(cfg, width, rngs=rngs)

    return SequenceModel(cfg, spec, make_block, rngs=rngs, blocks=True)
