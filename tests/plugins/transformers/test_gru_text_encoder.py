"""The `gru` text encoder: hashed ids -> BiGRU -> attention pooling."""

from __future__ import annotations

import copy

import pytest
import torch

from fusion.components import Encoded, TextEncoder
from fusion.errors import ConfigError
from fusion_transformers.gru_encoder import GRUTextEncoder
from fusion_transformers.hashing_tokenizer import EMPTY_ID, PAD_ID
from tests.plugins.transformers.encoder_helpers import pad


@pytest.fixture(scope="module")
def enc() -> GRUTextEncoder:
    torch.manual_seed(0)
    return GRUTextEncoder(GRUTextEncoder.Config(buckets=5000, embed_dim=32, hidden=24, attn_dim=16)).eval()


def test_is_a_text_encoder_with_default_config():
    default = GRUTextEncoder()
    assert isinstance(default, TextEncoder) and default.name == "gru"
    assert default.config.buckets == 20000 and default.output_dim == 2 * default.config.hidden


def test_featurize_and_forward_shapes(enc):
    feats, lengths = pad([enc.featurize("I am so happy today"), enc.featurize("sad"), enc.featurize("")])
    assert feats.dtype == torch.long and feats.shape == (3, 5, 1 + enc.config.max_ngrams)
    out = enc(feats, lengths)
    assert isinstance(out, Encoded)
    assert out.seq.shape == (3, 5, 48) and out.pooled.shape == (3, 48) and out.dim == enc.output_dim
    assert out.mask.tolist() == [[True] * 5, [True] + [False] * 4, [True] + [False] * 4]
    assert torch.isfinite(out.pooled).all()
    assert torch.allclose(enc.attention.sum(1), torch.ones(3)) and (enc.attention[1, 1:] == 0).all()


def test_empty_transcript_is_one_empty_token(enc):
    ids = enc.featurize("")
    assert ids.shape == (1, 1 + enc.config.max_ngrams) and ids[0, 0] == EMPTY_ID and (ids[0, 1:] == PAD_ID).all()
    out = enc(ids[None], torch.tensor([1]))
    assert torch.isfinite(out.pooled).all() and out.pooled.abs().sum() > 0


def test_long_transcript_truncates_to_max_tokens(enc):
    ids = enc.featurize("word " * 2000)  # 10,000 characters
    assert ids.shape[0] == enc.config.max_tokens
    assert torch.isfinite(enc(ids[None], torch.tensor([ids.shape[0]])).pooled).all()


@pytest.mark.parametrize("text", ["caf\u00e9", "\U0001F600 great", "don\x92t \x92quoted\x92", "\udc92"])
def test_unicode_does_not_crash(enc, text):
    ids = enc.featurize(text)
    assert torch.isfinite(enc(ids[None], torch.tensor([ids.shape[0]])).pooled).all()


def test_featurize_is_deterministic_across_instances(enc):
    other = GRUTextEncoder(GRUTextEncoder.Config(buckets=5000, embed_dim=8, hidden=4))
    assert torch.equal(enc.featurize("Oh my God, really?!"), other.featurize("Oh my God, really?!"))


def test_padding_does_not_change_a_row_in_eval_mode(enc):
    short, long_ = enc.featurize("not bad at all"), enc.featurize("this is a much longer sentence " * 3)
    alone = enc(short[None], torch.tensor([short.shape[0]]))
    feats, lengths = pad([short, long_])
    batched = enc(feats, lengths)
    assert torch.allclose(batched.pooled[0], alone.pooled[0], atol=1e-5)
    assert torch.allclose(batched.seq[0, : short.shape[0]], alone.seq[0], atol=1e-5)


def test_featurize_key_depends_on_tokenizer_settings_only():
    base = GRUTextEncoder.Config(buckets=1000, embed_dim=8, hidden=4)
    key = GRUTextEncoder(base).featurize_key()
    assert GRUTextEncoder(GRUTextEncoder.Config(buckets=1000, embed_dim=16, hidden=8)).featurize_key() == key
    assert GRUTextEncoder(GRUTextEncoder.Config(buckets=999, embed_dim=8, hidden=4)).featurize_key() != key
    assert GRUTextEncoder(GRUTextEncoder.Config(buckets=1000, embed_dim=8, hidden=4,
                                                ngram_sizes=(3, 4))).featurize_key() != key


@pytest.mark.parametrize("field,value", [("buckets", 2), ("max_tokens", 0), ("ngram_sizes", (0,)),
                                         ("dropout", 1.0), ("layers", 0)])
def test_invalid_config_is_a_config_error_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=rf"'gru'.*{field}"):
        GRUTextEncoder(GRUTextEncoder.Config(**{field: value}))


def test_padding_id_gets_no_gradient(enc):
    model = copy.deepcopy(enc).train()
    feats, lengths = pad([model.featurize("hello there friend"), model.featurize("hi")])
    model(feats, lengths).pooled.sum().backward()
    assert model.embed.weight.grad[PAD_ID].abs().sum() == 0
    assert model.embed.weight.grad[feats[0, 0, 0]].abs().sum() > 0


HAPPY = ["happy", "glad", "joyful", "delighted", "cheerful", "thrilled"]
SAD = ["sad", "miserable", "unhappy", "gloomy", "heartbroken", "depressed"]
TEMPLATES = ["i feel {}", "she was so {} yesterday", "we are {} about it", "what a {} evening",
             "he looked {}", "my friends were {} at the party"]
# (sentence, label 0 happy / 1 sad, held out?): every word and frame is seen in training, a third of
# the word-in-frame combinations are not.
SENTENCES = [(t.format(w), y, (i + j) % 3 == 0)
             for i, t in enumerate(TEMPLATES) for y, ws in enumerate((HAPPY, SAD)) for j, w in enumerate(ws)]


def test_learns_happy_versus_sad_words_in_a_few_dozen_steps():
    torch.manual_seed(0)
    enc = GRUTextEncoder(GRUTextEncoder.Config(buckets=4000, embed_dim=16, hidden=16, attn_dim=16))
    clf = torch.nn.Linear(enc.output_dim, 2)
    opt = torch.optim.Adam([*enc.parameters(), *clf.parameters()], lr=1e-2)

    def batch(held_out: bool):
        rows = [(text, y) for text, y, held in SENTENCES if held == held_out]
        feats, lengths = pad([enc.featurize(text) for text, _ in rows])
        return feats, lengths, torch.tensor([y for _, y in rows])

    train, test = batch(False), batch(True)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(clf(enc(*train[:2]).pooled), train[2])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    enc.eval()
    with torch.no_grad():
        accuracy = (clf(enc(*test[:2]).pooled).argmax(1) == test[2]).float().mean().item()
    assert losses[-1] < 0.2 * losses[0]
    assert accuracy >= 0.9, accuracy  # held-out word/frame combinations
