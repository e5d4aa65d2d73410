"""whisper-shared + whisper-encoder-shared: one padded encoder pass per clip, serving both."""

from __future__ import annotations

import pytest
import soundfile as sf
import torch

import fusion
from bench.asr.wer import word_errors
from fusion.errors import ConfigError
from fusion_whisper import shared_pass
from tests.conftest import require_shared, tone


@pytest.fixture
def counted_passes(monkeypatch):
    """Counts padded encoder passes; the memo starts empty."""
    calls = []
    real = shared_pass.padded_pass

    def counting(model, wav):
        calls.append(wav.numel())
        return real(model, wav)

    monkeypatch.setattr(shared_pass, "padded_pass", counting)
    monkeypatch.setattr(shared_pass, "MEMO", shared_pass.PassMemo())
    return calls


def test_registered():
    assert fusion.get_transcriber("whisper-shared").load().__name__ == "SharedPassWhisperTranscriber"
    assert fusion.get_acoustic_encoder("whisper-encoder-shared").load().__name__ == "SharedPassWhisperEncoder"


def test_memo_take_removes_and_oldest_is_dropped_beyond_capacity():
    memo = shared_pass.PassMemo(capacity=2)
    for n in range(3):
        memo.put(f"clip{n}", shared_pass.DECODER, torch.full((1,), float(n)))
    assert len(memo) == 2 and memo.dropped == 1
    assert memo.take("clip0", shared_pass.DECODER) is None          # evicted
    assert memo.take("clip2", shared_pass.ACOUSTIC) is None         # other half never stored
    assert float(memo.take("clip2", shared_pass.DECODER)) == 2.0
    assert memo.take("clip2", shared_pass.DECODER) is None          # taken once
    assert memo.taken == 1


@pytest.mark.parametrize("transcribe_first", [True, False])
def test_one_pass_serves_transcriber_and_encoder(random_checkpoint, counted_passes, transcribe_first):
    transcriber = fusion.get_transcriber("whisper-shared").build({"model": random_checkpoint, "silence_dbfs": -200.0})
    encoder = fusion.get_acoustic_encoder("whisper-encoder-shared").build({"model": random_checkpoint}).eval()
    wav = tone(1.5)
    if transcribe_first:
        text = transcriber.transcribe(wav, 16000)
        feats = encoder.featurize(torch.from_numpy(wav))
    else:
        feats = encoder.featurize(torch.from_numpy(wav))
        text = transcriber.transcribe(wav, 16000)
    assert isinstance(text, str)
    assert counted_passes == [wav.size]          # one encoder pass for both
    assert len(shared_pass.MEMO) == 0            # the left half was claimed
    padded = fusion.get_acoustic_encoder("whisper-encoder").build({"model": random_checkpoint, "trim": False})
    assert torch.equal(feats, padded.featurize(torch.from_numpy(wav)))  # = whisper-encoder's padded features


def test_other_clip_runs_its_own_pass(random_checkpoint, counted_passes):
    encoder = fusion.get_acoustic_encoder("whisper-encoder-shared").build({"model": random_checkpoint})
    transcriber = fusion.get_transcriber("whisper-shared").build({"model": random_checkpoint, "silence_dbfs": -200.0})
    encoder.featurize(torch.from_numpy(tone(1.0, freq=220.0)))
    transcriber.transcribe(tone(1.0, freq=330.0), 16000)
    assert len(counted_passes) == 2


def test_trim_true_uses_the_trimmed_pass_and_the_encoder_cache_key_is_whisper_encoders(random_checkpoint,
                                                                                          counted_passes):
    shared = fusion.get_acoustic_encoder("whisper-encoder-shared").build({"model": random_checkpoint, "trim": True})
    plain = fusion.get_acoustic_encoder("whisper-encoder").build({"model": random_checkpoint, "trim": True})
    wav = torch.from_numpy(tone(1.0))
    assert torch.equal(shared.featurize(wav), plain.featurize(wav))
    assert counted_passes == []
    assert shared.featurize_key() == plain.featurize_key()
    assert fusion.get_acoustic_encoder("whisper-encoder-shared").build(
        {"model": random_checkpoint}).featurize_key()["trim"] is False


def test_bad_options_name_the_transcriber(random_checkpoint):
    with pytest.raises(ConfigError, match="whisper-shared"):
        fusion.get_transcriber("whisper-shared").build({"model": random_checkpoint, "beam_size": 0})


@pytest.mark.slow
def test_real_tiny_en_transcribes_a_ravdess_clip(counted_passes):
    checkpoint = str(require_shared("models", "whisper", "tiny.en.pt"))
    wav, sr = sf.read(require_shared("data", "ravdess", "Actor_01", "03-01-01-01-01-01-01.flac"), dtype="float32")
    text = fusion.get_transcriber("whisper-shared").build({"model": checkpoint}).transcribe(wav, sr)
    assert word_errors(text, "Kids are talking by the door") <= 1, text
