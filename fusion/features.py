"""Per-utterance encoder inputs, computed once and cached on disk.

``featurize`` outputs (log-mel, frozen Whisper states, token ids, frozen MiniLM states) are
keyed by the content hash of the input (audio file bytes or transcript text) and the
encoder's :meth:`featurize_key`, so every mode, fold and seed of an ablation shares them and
a second run recomputes nothing. Perturbed training copies (:mod:`fusion.augment`) are cached
under their own keys, which add the clip id, the perturbation, its seed and the copy index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from . import audio as audio_io
from .augment import AugmentConfig, augment_waveform, copy_rng, perturbation_key
from .cache import Cache, file_hash, make_key
from .components import AcousticEncoder, TextEncoder
from .data import Utterance
from .errors import FusionError
from .plugins import component_failures


@dataclass
class FeatureSet:
    features: dict[str, torch.Tensor] = field(default_factory=dict)  # utterance id -> [T, ...]
    errors: dict[str, str] = field(default_factory=dict)             # utterance id -> reason
                                                                     # (augmented: (id, copy) -> ...)
    cached: int = 0
    computed: int = 0


def _progress(progress: Callable | None, total: int, desc: str):
    return progress(total=total, desc=desc) if progress and total else None


def _featurize_all(utterances: Sequence[Utterance], encoder, desc: str, cache: Cache | None,
                   progress: Callable | None, key_and_compute: Callable) -> FeatureSet:
    """The shared loop: per utterance, look up the cache by ``key_and_compute(u) -> (key, compute)``,
    else compute and store; a FusionError (bad audio, missing transcript, failing component) is
    recorded against the utterance, never dropped."""
    cache = cache if cache is not None else Cache("features")
    out = FeatureSet()
    bar = _progress(progress, len(utterances), desc)
    was_training = encoder.training
    encoder.eval()
    loaded: dict[str, torch.Tensor] = {}  # key -> features: utterances with the same input share one tensor
    try:
        for u in utterances:
            try:
                key, compute = key_and_compute(u)
                feats = loaded.get(key)
                if feats is None:
                    feats = cache.get_tensor(key)
                if feats is None:
                    feats = compute()  # [T, ...]
                    cache.put_tensor(key, feats)
                    out.computed += 1
                else:
                    out.cached += 1
                loaded[key] = feats
                out.features[u.id] = feats
            except FusionError as exc:
                out.errors[u.id] = str(exc)
            except OSError as exc:
                out.errors[u.id] = f"{u.audio}: {exc.strerror or exc}"
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        encoder.train(was_training)
    return out


@torch.no_grad()
def acoustic_features(utterances: Sequence[Utterance], encoder: AcousticEncoder, cache: Cache | None = None,
                      progress: Callable | None = None) -> FeatureSet:
    """encoder.featurize(decoded 16 kHz audio) for every utterance; bad audio -> errors (not dropped)."""
    ident = encoder.featurize_key()

    def key_and_compute(u: Utterance):
        if u.audio is None:
            raise FusionError(f"utterance {u.id!r} has no audio file")

        def compute():
            wav = audio_io.load(u.audio, target_sr=encoder.sample_rate, on_silence="ignore")  # [S]
            with component_failures("acoustic_encoder", encoder, str(u.audio)):
                return encoder.featurize(torch.from_numpy(wav))                           # [T, ...]

        return make_key("acoustic", file_hash(u.audio), ident), compute

    return _featurize_all(utterances, encoder, f"features ({encoder.name})", cache, progress,
                          key_and_compute)


@torch.no_grad()
def text_features(utterances: Sequence[Utterance], transcripts: dict[str, str], encoder: TextEncoder,
                  cache: Cache | None = None, progress: Callable | None = None) -> FeatureSet:
    """encoder.featurize(transcript) for every utterance that has a transcript."""
    ident = encoder.featurize_key()

    def key_and_compute(u: Utterance):
        if u.id not in transcripts:
            raise FusionError(f"utterance {u.id!r} has no transcript")
        text = transcripts[u.id]

        def compute():
            with component_failures("text_encoder", encoder, f"the transcript of {u.id!r}"):
                return encoder.featurize(text)                                             # [T, ...]

        return make_key("text", hashlib.sha256(text.encode("utf-8")).hexdigest(), ident), compute

    return _featurize_all(utterances, encoder, f"text features ({encoder.name})", cache, progress,
                          key_and_compute)


class _Copy(NamedTuple):
    """One perturbed copy to featurize; ``id`` = (utterance id, copy index) keys its FeatureSet entry."""

    id: tuple[str, int]
    audio: Path | None
    utterance: Utterance
    copy: int


@torch.no_grad()
def augmented_acoustic_features(utterances: Sequence[Utterance], encoder: AcousticEncoder, augment: AugmentConfig,
                                cache: Cache | None = None, progress: Callable | None = None) -> FeatureSet:
    """encoder.featurize(augment_waveform(clip)) for copies 0 .. ``augment.copies - 1`` of every utterance.

    Features and errors are keyed by ``(utterance id, copy)``. Copy ``c`` of clip ``id`` is drawn from
    ``copy_rng(augment.seed, id, c)``; its cache key is the clip's bytes + id + perturbation + seed +
    ``c`` + the encoder, so it never replaces the clip's own features, and ``copies=2`` reuses the
    entries of ``copies=1``."""
    ident = encoder.featurize_key()
    perturbation = augment.waveform
    described = perturbation_key(perturbation)  # once for all copies; a bad noise_dir fails here, before any clip
    sr = encoder.sample_rate
    jobs = [_Copy((u.id, c), u.audio, u, c) for u in utterances for c in range(augment.copies)]
    clip: dict[str, tuple[str, np.ndarray | None]] = {}  # the current clip (jobs are clip-major): id -> (hash, wav)

    def clean_wav(u: Utterance) -> np.ndarray:
        """The clip decoded at ``sr`` [S], once for all its copies."""
        digest, wav = clip[u.id]
        if wav is None:
            wav = audio_io.load(u.audio, target_sr=sr, on_silence="ignore")                       # [S]
            clip[u.id] = (digest, wav)
        return wav

    def key_and_compute(job: _Copy):
        u = job.utterance
        if u.audio is None:
            raise FusionError(f"utterance {u.id!r} has no audio file")
        if u.id not in clip:  # a new clip: forget the previous one, hash this one's bytes once
            clip.clear()
            clip[u.id] = (file_hash(u.audio), None)

        def compute():
            wav = augment_waveform(clean_wav(u), sr, copy_rng(augment.seed, u.id, job.copy), perturbation)  # [S']
            with component_failures("acoustic_encoder", encoder, f"{u.audio} (augmented copy {job.copy})"):
                return encoder.featurize(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)))  # [T, ...]

        what = {"id": u.id, "copy": job.copy, "seed": augment.seed, "sample_rate": sr,
                "perturbation": described}
        return make_key("augmented-acoustic", clip[u.id][0], what, ident), compute

    return _featurize_all(jobs, encoder, f"augmented copies ({encoder.name})", cache, progress, key_and_compute)
