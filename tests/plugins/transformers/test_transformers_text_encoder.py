"""The `transformers` text encoder on tiny random models saved as local folders, and its errors."""

from __future__ import annotations

import dataclasses
import sys

import pytest
import torch

from fusion.errors import ConfigError
from fusion_transformers.transformers_encoder import TransformersTextEncoder
from tests.plugins.transformers.encoder_helpers import encode, require_bundled_minilm

transformers = pytest.importorskip("transformers")


def save_tiny(folder, config) -> str:
    """A random model from ``config`` + MiniLM's tokenizer, saved in Hugging Face layout."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(require_bundled_minilm(), local_files_only=True)
    torch.manual_seed(0)
    transformers.AutoModel.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    """A random 3-layer, 32-d BERT."""
    config = transformers.BertConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                     intermediate_size=64, max_position_embeddings=64)
    return save_tiny(tmp_path_factory.mktemp("tiny-bert"), config)


def test_local_folder_with_projection_and_two_finetuned_layers(tiny_bert):
    cfg = TransformersTextEncoder.Config(model=tiny_bert, max_length=16, proj_dim=8, dropout=0.0)
    frozen = TransformersTextEncoder(cfg).eval()
    tuned = TransformersTextEncoder(dataclasses.replace(cfg, finetune_layers=2)).eval()
    assert frozen.output_dim == tuned.output_dim == 8
    assert frozen.featurize("word " * 100).shape == (16, 32)
    tuned.proj.load_state_dict(frozen.proj.state_dict())
    texts = ["hello", "a somewhat longer sentence here"]
    a, b = encode(frozen, texts), encode(tuned, texts)
    assert a.seq.shape == (2, 7, 8) and a.pooled.shape == (2, 8)
    assert torch.allclose(a.pooled, b.pooled, atol=1e-4)
    assert frozen.featurize_key()["weights"] == tuned.featurize_key()["weights"]


def test_model_without_bert_style_blocks_cannot_finetune(tmp_path):
    config = transformers.DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64)
    folder = save_tiny(tmp_path / "tiny-distilbert", config)
    enc = TransformersTextEncoder(TransformersTextEncoder.Config(model=folder, max_length=16))
    assert enc.featurize("hi there").shape == (4, 32)
    with pytest.raises(ConfigError, match="finetune_layers=0"):
        TransformersTextEncoder(TransformersTextEncoder.Config(model=folder, finetune_layers=1, max_length=16))


@pytest.mark.parametrize("options,message", [
    ({"finetune_layers": 4, "max_length": 16}, r"0\.\.3"),
    ({"max_length": 100}, "64 positions"),
    ({"finetune_layers": -1}, ">= 0"),
    ({"max_length": 1}, ">= 2"),
])
def test_invalid_options_are_config_errors(tiny_bert, options, message):
    with pytest.raises(ConfigError, match=message):
        TransformersTextEncoder(TransformersTextEncoder.Config(model=tiny_bert, **options))


def test_missing_folder_and_folder_without_config(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        TransformersTextEncoder(TransformersTextEncoder.Config(model=str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match="config.json"):
        TransformersTextEncoder(TransformersTextEncoder.Config(model=str(tmp_path)))


def test_unreachable_hub_id_says_network_and_suggests_a_local_folder(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError) as err:
        TransformersTextEncoder(TransformersTextEncoder.Config(model="no-such-org/no-such-model"))
    message = str(err.value)
    assert "'transformers'" in message and "network" in message and "local folder" in message


def test_additive_mask_fallback_for_older_transformers(tiny_bert, monkeypatch):
    """Without transformers.masking_utils (< 4.53) the classic additive mask gives the same result."""
    cfg = TransformersTextEncoder.Config(model=tiny_bert, max_length=16, finetune_layers=1)
    enc = TransformersTextEncoder(cfg).eval()
    texts = ["hi", "a longer sentence with padding for the first row"]
    expected = encode(enc, texts).pooled
    monkeypatch.setitem(sys.modules, "transformers.masking_utils", None)  # import now raises ImportError
    assert torch.allclose(encode(enc, texts).pooled, expected, atol=1e-5)
