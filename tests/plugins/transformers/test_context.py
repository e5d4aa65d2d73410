"""Dialogue context: the MELD recipe's extra["context"], the `gold-context` transcriber, the transcript
form of fusion_transformers.dialogue_context, and a text encoder with context=True (tiny random BERT)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import fusion
from fusion.data import Utterance
from fusion.errors import DatasetError, TranscriptionError
from fusion_corpora.meld import prepare_meld
from fusion_transformers.dialogue_context import TURN_SEP, compose, split, tokenize_with_context
from fusion_transformers.dialogue_transcriber import DialogueContextTranscriber
from fusion_transformers.transformers_encoder import TransformersTextEncoder
from tests.plugins.transformers.encoder_helpers import encode, require_bundled_minilm

transformers = pytest.importorskip("transformers")

HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def _row(n, text, speaker, emotion, dia, utt):
    return f'{n},{text},{speaker},{emotion},neutral,{dia},{utt},1,1,"00:00:01,000","00:00:02,000"\n'


@pytest.fixture
def fake_meld(tmp_path):
    """Dialogue 0 with rows out of order and one unknown label; dialogue 1 of one turn."""
    rows = [_row(1, "Third!", "Ross", "joy", 0, 2), _row(2, "First.", "Monica", "neutral", 0, 0),
            _row(3, '"Second, with a comma"', "Rachel", "confused", 0, 1), _row(4, "Fourth?", "Joey", "fear", 0, 3),
            _row(5, "Alone.", "Phoebe", "sadness", 1, 0)]
    (tmp_path / "train_sent_emo.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    (tmp_path / "dev_sent_emo.csv").write_text(HEADER + _row(1, "Dev.", "Ross", "anger", 0, 0), encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def tokenizer():
    return transformers.AutoTokenizer.from_pretrained(require_bundled_minilm(), local_files_only=True)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, tokenizer) -> str:
    """A random 2-layer, 32-d BERT with MiniLM's tokenizer, saved in Hugging Face layout."""
    folder = tmp_path_factory.mktemp("tiny-bert-context")
    config = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    transformers.AutoModel.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


# ----------------------------------------------------------------------------- recipe


def test_meld_context_lists_previous_turns_of_the_dialogue(fake_meld):
    by_id = {u.id: u for u in prepare_meld(fake_meld, context=2)}
    fourth = by_id["train_dia0_utt3"]
    assert fourth.transcript == "Fourth?"  # the utterance's own words, untouched
    # the 'confused' row is skipped as an utterance but still a turn of the dialogue
    assert fourth.extra["context"] == [{"speaker": "Rachel", "text": "Second, with a comma"},
                                       {"speaker": "Ross", "text": "Third!"}]
    assert by_id["train_dia0_utt0"].extra["context"] == []
    assert by_id["train_dia1_utt0"].extra["context"] == []
    assert by_id["dev_dia0_utt0"].extra["context"] == []  # dialogues never cross splits
    assert len(prepare_meld(fake_meld)[0].extra["context"]) <= 3  # default: up to 3 turns


def test_meld_context_zero_stores_none_and_bad_values_are_errors(fake_meld):
    assert all("context" not in u.extra for u in prepare_meld(fake_meld, context=0))
    for bad in (-1, "2", True):
        with pytest.raises(DatasetError, match="context must be an integer"):
            prepare_meld(fake_meld, context=bad)


# ----------------------------------------------------------------------------- transcriber


def test_gold_context_transcriber_composes_speaker_tagged_turns(fake_meld):
    utt = {u.id: u for u in prepare_meld(fake_meld)}["train_dia0_utt3"]
    two = DialogueContextTranscriber().transcribe_utterance(utt)
    assert two == compose(["Rachel: Second, with a comma", "Ross: Third!"], "Fourth?")
    assert split(two) == (["Rachel: Second, with a comma", "Ross: Third!"], "Fourth?")
    plain = DialogueContextTranscriber(DialogueContextTranscriber.Config(turns=1, speakers=False))
    assert plain.transcribe_utterance(utt) == "Third!" + TURN_SEP + "Fourth?"
    none = DialogueContextTranscriber(DialogueContextTranscriber.Config(turns=0))
    assert none.transcribe_utterance(utt) == "Fourth?"
    assert utt.transcript == "Fourth?"


def test_gold_context_transcriber_errors_and_registration():
    bare = Utterance(id="u1", audio=None, label="joy", speaker="A", transcript="hi")
    with pytest.raises(TranscriptionError, match="extra\\['context'\\]"):
        DialogueContextTranscriber().transcribe_utterance(bare)
    with pytest.raises(TranscriptionError, match="turns must be >= 0"):
        DialogueContextTranscriber(DialogueContextTranscriber.Config(turns=-1))
    component = fusion.get_transcriber("gold-context")
    assert component.load() is DialogueContextTranscriber and fusion.get_transcriber("dialogue").name == "gold-context"
    assert component.build({"turns": 3}).config.turns == 3


# ----------------------------------------------------------------------------- tokenization


def test_split_without_separator_is_the_whole_text():
    assert split("no context here") == ([], "no context here")
    assert split(compose(["", "  "], "x")) == ([], "x")


def test_pair_tokenization_marks_the_utterance_tokens(tokenizer):
    inputs, is_current = tokenize_with_context(tokenizer, ["Ross: hi there."], "Oh my god!", max_length=64)
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2
    assert [t for t, c in zip(tokens, is_current.tolist()) if c] == ["oh", "my", "god", "!", "[SEP]"]
    assert inputs["token_type_ids"][0, -1] == 1 and inputs["token_type_ids"][0, 1] == 0


def test_oldest_turns_are_dropped_first_then_the_utterance_is_truncated(tokenizer):
    old, recent = "word " * 20, "Ross: recent turn"
    inputs, is_current = tokenize_with_context(tokenizer, [old, recent], "Me too.", max_length=16)
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    assert "word" not in tokens and "recent" in tokens and len(tokens) <= 16
    inputs, is_current = tokenize_with_context(tokenizer, [old], "many words " * 20, max_length=16)
    assert inputs["input_ids"].shape[1] == 16 and bool(is_current.all())


# ----------------------------------------------------------------------------- encoder


def test_encoder_with_context_pools_only_the_utterance(tiny_bert):
    cfg = TransformersTextEncoder.Config(model=tiny_bert, max_length=48, dropout=0.0)
    plain = TransformersTextEncoder(cfg).eval()
    ctx = TransformersTextEncoder(dataclasses.replace(cfg, context=True)).eval()
    assert "context" not in plain.featurize_key() and ctx.featurize_key()["context"] is True

    # no context in the transcript: the same states and pooling as the encoder without the option
    feats = ctx.featurize("I am fine")
    assert feats.shape == (plain.featurize("I am fine").shape[0], 33) and bool((feats[:, -1] == 1).all())
    assert torch.allclose(encode(ctx, ["I am fine"]).pooled, encode(plain, ["I am fine"]).pooled, atol=1e-5)

    calm, angry = compose(["A: thank you so much"], "I am fine"), compose(["A: get out now!"], "I am fine")
    out = encode(ctx, [calm, "I am fine", angry])
    n_own = len(tokenizer_tokens(ctx, "I am fine")) - 1  # the words and the closing [SEP], not [CLS]
    assert out.mask[0].sum() == n_own and out.mask[1].sum() == n_own + 1
    assert (out.seq[0][~out.mask[0]] == 0).all()
    assert not torch.allclose(out.pooled[0], out.pooled[2], atol=1e-4)  # the context reaches the utterance


def test_finetuned_top_layer_attends_to_the_context(tiny_bert):
    cfg = TransformersTextEncoder.Config(model=tiny_bert, max_length=48, dropout=0.0, context=True)
    frozen = TransformersTextEncoder(cfg).eval()
    tuned = TransformersTextEncoder(dataclasses.replace(cfg, finetune_layers=1)).eval()
    texts = [compose(["A: thank you so much", "B: sure"], "ok then"), "ok then"]
    assert tuned.featurize(texts[0]).shape[1] == 33
    assert torch.allclose(encode(frozen, texts).pooled, encode(tuned, texts).pooled, atol=1e-4)
    feats = [tuned.featurize(t) for t in texts]
    padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)  # [2, T, 33]
    tuned.train()
    out = tuned(padded, torch.tensor([f.shape[0] for f in feats]))
    out.pooled.sum().backward()
    assert all(p.grad is not None for p in tuned.top.parameters() if p.requires_grad)


def tokenizer_tokens(enc: TransformersTextEncoder, text: str) -> list[str]:
    return enc.backbone.tokenizer.convert_ids_to_tokens(enc.backbone.tokenize(text)["input_ids"][0])
