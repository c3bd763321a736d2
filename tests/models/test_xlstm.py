"""xLSTM[a:b] stacks: block placement, and a whole stack against NX-AI's xLSTMBlockStack."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from xlstm.blocks.mlstm.block import mLSTMBlockConfig
from xlstm.blocks.slstm.block import sLSTMBlockConfig
from xlstm.blocks.slstm.layer import sLSTMLayerConfig
from xlstm.components.feedforward import FeedForwardConfig
from xlstm.xlstm_block_stack import xLSTMBlockStack, xLSTMBlockStackConfig

from seqlab.models.mlstm import MLSTMBlock
from seqlab.models.slstm import SLSTMBlock
from seqlab.models.xlstm import block_kinds, parse_ratio
from tests.models import test_mlstm, test_slstm
from tests.models.common import FWD, GRAD, build, random_array, set_param, task

T, B, D, HEADS = 6, 2, 8, 2


@pytest.mark.parametrize(
    ("name", "layers", "kinds"),
    [
        ("xlstm", 2, "ms"),
        ("xlstm[1:1]", 4, "msms"),
        ("xlstm[7:1]", 8, "mmmmsmmm"),
        ("xlstm[1:0]", 3, "mmm"),
        ("xlstm[0:1]", 2, "ss"),
        ("xlstm[1:3]", 4, "smss"),
    ],
)
def test_block_placement(name, layers, kinds):
    assert "".join(block_kinds(layers, parse_ratio(name))) == kinds


@pytest.mark.parametrize(
    ("name", "layers", "message"),
    [
        ("xlstm[7:1]", 4, r"model\.layers must be a multiple of 8, got 4"),
        ("xlstm[a:1]", 2, r"two whole numbers a:b"),
        ("xlstm[0:0]", 2, r"at least one block"),
    ],
)
def test_bad_ratios_and_depths_are_clear_errors(name, layers, message):
    with pytest.raises(ValueError, match=message):
        block_kinds(layers, parse_ratio(name))


def test_model_builds_the_blocks_it_names():
    model = build("xlstm[1:1]", task("copy", 3).spec, hidden=D, heads=HEADS, layers=4)
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [MLSTMBlock, SLSTMBlock, MLSTMBlock, SLSTMBlock]


def nxai_stack(seed: int) -> xLSTMBlockStack:
    cfg = xLSTMBlockStackConfig(
        mlstm_block=mLSTMBlockConfig(mlstm=test_mlstm.nx_layer_config(num_heads=HEADS)),
        slstm_block=sLSTMBlockConfig(
            slstm=sLSTMLayerConfig(
                num_heads=HEADS, conv1d_kernel_size=4, backend="vanilla", dtype="float32"
            ),
            feedforward=FeedForwardConfig(proj_factor=1.3, act_fn="gelu"),
        ),
        context_length=T,
        num_blocks=2,
        embedding_dim=D,
        slstm_at=[1],
    )
    torch.manual_seed(seed)
    return test_mlstm.perturbed(xLSTMBlockStack(cfg), seed)  # every weight nonzero


def test_stack_matches_nxai_xlstm_block_stack():
    """xlstm[1:1] with 2 blocks (mLSTM, sLSTM) + the post-blocks norm == NX-AI's stack."""
    ref = nxai_stack(90)
    model = build("xlstm[1:1]", task("copy", 3).spec, hidden=D, heads=HEADS, layers=2)
    m_block, s_block = model.layers
    test_mlstm.copy_weights(m_block.layer, ref.blocks[0].xlstm)
    set_param(m_block.norm.scale, 1 + test_mlstm.tnp(ref.blocks[0].xlstm_norm.weight))
    test_slstm.copy_block_weights(s_block, ref.blocks[1])
    set_param(model.final_norm.scale, 1 + test_mlstm.tnp(ref.post_blocks_norm.weight))

    x, r = random_array(91, T, B, D), random_array(92, T, B, D)
    y_ref, gx_ref = test_mlstm.torch_value_and_grads(ref, x, r)

    def loss(model, x):
        return jnp.sum(model.backbone(x) * r)

    y = nnx.jit(lambda m, x: m.backbone(x))(model, jnp.asarray(x))
    g_model, g_x = nnx.jit(nnx.grad(loss, argnums=(0, 1)))(model, jnp.asarray(x))
    np.testing.assert_allclose(y, y_ref, **FWD)
    np.testing.assert_allclose(g_x, gx_ref, **GRAD)
    g_r = ref.blocks[1].xlstm.slstm_cell._recurrent_kernel_.grad
    g_r_ext = test_mlstm.tnp(ref.blocks[1].xlstm.slstm_cell._recurrent_kernel_int2ext(g_r))
    np.testing.assert_allclose(g_model.layers[1].r[...], g_r_ext, **GRAD)
    test_mlstm.check_param_grads(g_model.layers[0].layer, ref.blocks[0].xlstm)
    assert np.abs(g_r_ext).max() > 1e-3  # the sLSTM block's recurrence takes part
