"""Short-window decoding: a short clip is decoded from a short encoder window, not a 30-s one.

Whisper is trained on 30-s windows, so ``WhisperModel.transcribe`` pads a 4-s clip to 30 s and the
encoder (most of the cost of tiny.en on a CPU) does 7x the work the clip needs. CTranslate2's
encoder accepts shorter inputs. Two findings on RAVDESS (bench/speed/transcription_throughput.py):

* a window **sized to the clip** (clip + 1-3 s, or 2x the clip) makes the decoder loop ("Dogs are
  sitting by the door." x 32): Whisper has never seen speech that fills its window;
* a **fixed 10-s window** (the clip zero-padded to 10 s) keeps the transcripts (WER 2.1 % vs 3.5 % for
  the 30-s window on 120 clips) at a quarter of the time.

So clips up to ``window`` seconds are padded to ``window`` seconds, encoded and decoded greedily in one
pass; anything that looks wrong falls back to the standard 30-s ``transcribe``: a decode that
repeats itself (gzip compression ratio above Whisper's own 2.4 threshold) or that stops at the token
limit. Longer clips go straight to ``transcribe`` (its 30-s windows, its seeking).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100          # Whisper log-mel frames per second (hop 160 at 16 kHz)
TOKENS_PER_SECOND = 12           # a generous bound on speech tokens per second of audio
COMPRESSION_RATIO_LIMIT = 2.4    # Whisper's threshold: above it, a decode is repetitive


@dataclass(frozen=True)
class WindowDecode:
    text: str                 # the decoded text, stripped
    no_speech_prob: float     # P(<|nospeech|>) at the first decoding step
    avg_logprob: float        # mean log-probability of the decoded tokens
    needs_fallback: bool      # repetitive or truncated: decode again with the 30-s window


def fits(num_samples: int, window: float) -> bool:
    """True when a clip of ``num_samples`` (16 kHz) is decoded from a ``window``-s window."""
    return 0 < window < 30 and 0 < num_samples <= window * SAMPLE_RATE


def compression_ratio(text: str) -> float:
    import zlib

    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def decode_in_window(model, wav: np.ndarray, window: float, language: str | None) -> WindowDecode:
    """Greedy decode of ``wav`` [S] (16 kHz, at most ``window`` s) through a faster-whisper ``model``.

    ``model`` is a ``faster_whisper.WhisperModel``; its feature extractor, tokenizer and CTranslate2
    ``Whisper`` are used directly. ``language`` None on a multilingual model: detected from the window.
    """
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    frames = int(round(window * FRAMES_PER_SECOND))
    mel = model.feature_extractor(wav)[:, :frames]                        # [n_mels, T<=frames]
    mel = np.pad(mel, ((0, 0), (0, frames - mel.shape[1])))                # [n_mels, frames]
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32))
    encoded = model.model.encode(features, to_cpu=False)                   # [1, frames/2, d_model]
    multilingual = model.model.is_multilingual
    if multilingual and language is None:
        language = model.model.detect_language(encoded)[0][0][0][2:-2]    # "<|en|>" -> "en"
    tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=language)
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    max_tokens = min(448 - len(prompt), int(window * TOKENS_PER_SECOND))
    result = model.model.generate(encoded, [prompt], beam_size=1, max_length=max_tokens, return_scores=True,
                                  return_no_speech_prob=True, suppress_blank=True,
                                  suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])))[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    text = tokenizer.decode(tokens).strip()
    # CTranslate2's greedy score is the length-normalised log-probability (length_penalty 1)
    avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else result.scores[0]
    truncated = len(result.sequences_ids[0]) >= max_tokens
    return WindowDecode(text, float(result.no_speech_prob), float(avg_logprob),
                        needs_fallback=truncated or compression_ratio(text) > COMPRESSION_RATIO_LIMIT)
