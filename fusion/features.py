"""Per-utterance encoder inputs, computed once and cached on disk.

``featurize`` outputs (log-mel, frozen Whisper states, token ids, frozen MiniLM states) are
keyed by the content hash of the input (audio file bytes or transcript text) and the
encoder's :meth:`featurize_key`, so every mode, fold and seed of an ablation shares them and
a second run recomputes nothing. Perturbed copies of a clip (:func:`perturbed_acoustic_features`:
the augmented training copies of :mod:`fusion.augment`, a benchmark's noisy test copies) are cached
under their own keys, which add what the perturbation was (for augmented copies: the clip id, the
perturbation, its seed and the copy index). ASR-style noisy copies of the transcripts
(:func:`noisy_transcript_copies`) are texts like any other: their features are cached by the noisy
text's hash (:func:`augmented_text_features`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from . import audio as audio_io
from .augment import TEXT_STREAM, AugmentConfig, augment_waveform, copy_rng, perturbation_key
from .cache import Cache, file_hash, make_key
from .components import AcousticEncoder, TextEncoder
from .data import Utterance
from .errors import FusionError
from .plugins import component_failure, component_failures
from .text_noise import SoundAlikeVocabulary, asr_noise


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


TEXT_BATCH = 64  # texts per encoder.featurize_batch call (sorted by length, so little padding)


@torch.no_grad()
def text_features(utterances: Sequence[Utterance], transcripts: dict[str, str], encoder: TextEncoder,
                  cache: Cache | None = None, progress: Callable | None = None) -> FeatureSet:
    """encoder.featurize(transcript) for every utterance that has a transcript.

    Texts not in the cache are featurized :data:`TEXT_BATCH` at a time through
    ``encoder.featurize_batch`` (each distinct text once, similar lengths together); when a batch
    fails, its texts are retried one by one so the failure is recorded against its own utterances."""
    cache = cache if cache is not None else Cache("features")
    ident = encoder.featurize_key()
    out = FeatureSet()
    pending: dict[str, tuple[str, list[str]]] = {}  # key -> (text, utterance ids waiting for it)
    loaded: dict[str, torch.Tensor] = {}
    for u in utterances:
        if u.id not in transcripts:
            out.errors[u.id] = f"utterance {u.id!r} has no transcript"
            continue
        text = transcripts[u.id]
        key = make_key("text", hashlib.sha256(text.encode("utf-8")).hexdigest(), ident)
        if key in pending:
            pending[key][1].append(u.id)
            continue
        feats = loaded.get(key)
        if feats is None:
            feats = cache.get_tensor(key)
        if feats is None:
            pending[key] = (text, [u.id])
            continue
        loaded[key] = feats
        out.features[u.id] = feats
        out.cached += 1
    bar = _progress(progress, len(pending), f"text features ({encoder.name})")
    was_training = encoder.training
    encoder.eval()
    try:
        order = sorted(pending, key=lambda k: len(pending[k][0]))
        for start in range(0, len(order), TEXT_BATCH):
            keys = order[start:start + TEXT_BATCH]
            for key, result in zip(keys, _featurize_texts(encoder, [pending[k][0] for k in keys])):
                ids = pending[key][1]
                if isinstance(result, BaseException):  # each utterance of the text named in its own error
                    out.errors.update({i: str(component_failure("text_encoder", encoder, f"the transcript of {i!r}",
                                                                result)) for i in ids})
                    continue
                cache.put_tensor(key, result)
                out.features.update({i: result for i in ids})
                out.computed += 1
                out.cached += len(ids) - 1  # the same text again: computed once
            if bar is not None:
                bar.update(len(keys))
    finally:
        if bar is not None:
            bar.close()
        encoder.train(was_training)
    return out


def _featurize_texts(encoder: TextEncoder, texts: list[str]) -> list:
    """One batch -> per text its [T, ...] features or the exception it raised; a failing batch is
    retried text by text, so only the failing texts carry an exception."""
    try:
        with component_failures("text_encoder", encoder, f"a batch of {len(texts)} transcripts"):
            feats = encoder.featurize_batch(texts)
        if len(feats) == len(texts):
            return feats
    except FusionError:
        pass  # retried text by text below
    results: list = []
    for text in texts:
        try:
            results.append(encoder.featurize(text))  # [T, ...]
        except Exception as exc:  # noqa: BLE001 -- reported against the text's utterances by the caller
            results.append(exc)
    return results


class PerturbedCopy(NamedTuple):
    """One perturbed version of an utterance's audio, for :func:`perturbed_acoustic_features`."""

    id: Hashable                                  # its key in the FeatureSet (features and errors)
    utterance: Utterance                          # whose audio file is decoded and perturbed
    perturb: Callable[[np.ndarray], np.ndarray]   # clean wav [S] at the encoder's rate -> perturbed wav [S']
    what: dict                                    # what its cache key records of the perturbation (JSON-able)
    name: str = "perturbed copy"                  # how a failure names it: "<audio file> (<name>)"

    @property
    def audio(self) -> Path | None:
        return self.utterance.audio


@torch.no_grad()
def perturbed_acoustic_features(copies: Sequence[PerturbedCopy], encoder: AcousticEncoder, cache: Cache | None = None,
                                progress: Callable | None = None, key_tag: str = "perturbed-acoustic",
                                desc: str | None = None) -> FeatureSet:
    """encoder.featurize(copy.perturb(clean clip)) for every copy, keyed by ``copy.id``.

    The cache key of a copy is ``make_key(key_tag, <hash of the clip's bytes>, copy.what,
    encoder.featurize_key())``, so a copy never replaces the clip's own features and two perturbations
    share an entry only when their ``what`` is equal. The clean clip is decoded at
    ``encoder.sample_rate`` only when a copy of it is not cached, once per run of consecutive copies of
    the same utterance (order the copies clip-major to decode each clip once). ``perturb`` runs only on
    a cache miss: it must depend on its input and on values fixed when the copy was made (e.g. a
    ``numpy`` generator seeded for that copy) alone. A copy that fails (no or unreadable audio, a
    failing encoder) is an error of that copy, never a crash."""
    ident = encoder.featurize_key()
    sr = encoder.sample_rate
    clip: dict[str, tuple[str, np.ndarray | None]] = {}  # the current clip: id -> (hash of its bytes, wav [S])

    def clean_wav(u: Utterance) -> np.ndarray:
        """The clip decoded at ``sr`` [S], once for its run of copies."""
        digest, wav = clip[u.id]
        if wav is None:
            wav = audio_io.load(u.audio, target_sr=sr, on_silence="ignore")                       # [S]
            clip[u.id] = (digest, wav)
        return wav

    def key_and_compute(job: PerturbedCopy):
        u = job.utterance
        if u.audio is None:
            raise FusionError(f"utterance {u.id!r} has no audio file")
        if u.id not in clip:  # a new clip: forget the previous one, hash this one's bytes once
            clip.clear()
            clip[u.id] = (file_hash(u.audio), None)

        def compute():
            wav = job.perturb(clean_wav(u))                                                          # [S']
            with component_failures("acoustic_encoder", encoder, f"{u.audio} ({job.name})"):
                return encoder.featurize(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)))  # [T, ...]

        return make_key(key_tag, clip[u.id][0], job.what, ident), compute

    return _featurize_all(copies, encoder, desc or f"perturbed copies ({encoder.name})", cache, progress,
                          key_and_compute)


def augmented_acoustic_features(utterances: Sequence[Utterance], encoder: AcousticEncoder, augment: AugmentConfig,
                                cache: Cache | None = None, progress: Callable | None = None) -> FeatureSet:
    """encoder.featurize(augment_waveform(clip)) for copies 0 .. ``augment.copies - 1`` of every utterance.

    Features and errors are keyed by ``(utterance id, copy)``. Copy ``c`` of clip ``id`` is drawn from
    ``copy_rng(augment.seed, id, c)``; its cache key is the clip's bytes + id + perturbation + seed +
    ``c`` + the encoder, so it never replaces the clip's own features, and ``copies=2`` reuses the
    entries of ``copies=1``."""
    perturbation = augment.waveform
    described = perturbation_key(perturbation)  # once for all copies; a bad noise_dir fails here, before any clip
    sr = encoder.sample_rate

    def copy_of(u: Utterance, c: int) -> PerturbedCopy:
        def perturb(wav: np.ndarray) -> np.ndarray:
            return augment_waveform(wav, sr, copy_rng(augment.seed, u.id, c), perturbation)  # [S']

        what = {"id": u.id, "copy": c, "seed": augment.seed, "sample_rate": sr, "perturbation": described}
        return PerturbedCopy((u.id, c), u, perturb, what, f"augmented copy {c}")

    return perturbed_acoustic_features([copy_of(u, c) for u in utterances for c in range(augment.copies)], encoder,
                                       cache, progress, key_tag="augmented-acoustic",
                                       desc=f"augmented copies ({encoder.name})")


class TextCopy(NamedTuple):
    """A noisy transcript copy as :func:`text_features` reads an utterance: by its id alone."""

    id: tuple[str, int]  # (utterance id, copy index)


def noisy_transcript_copies(utterances: Sequence[Utterance], transcripts: dict[str, str],
                            augment: AugmentConfig) -> dict[tuple[str, int], str]:
    """``(id, c) -> asr_noise(transcript)`` for copies 0 .. ``augment.text_copies - 1`` of every
    utterance that has a transcript.

    Substitutes come from a :class:`~fusion.text_noise.SoundAlikeVocabulary` of these utterances'
    transcripts (the training clips'); copy ``c`` of ``id`` is drawn from
    ``copy_rng(augment.seed, id, c, stream=TEXT_STREAM)``, so with the same utterances it is the same
    in every process and rerun."""
    have = [u for u in utterances if u.id in transcripts]
    vocabulary = SoundAlikeVocabulary(transcripts[u.id] for u in have)
    noise = augment.text_noise
    return {(u.id, c): asr_noise(transcripts[u.id], copy_rng(augment.seed, u.id, c, stream=TEXT_STREAM), noise,
                                 vocabulary)
            for u in have for c in range(augment.text_copies)}


def augmented_text_features(copies: dict[tuple[str, int], str], encoder: TextEncoder, cache: Cache | None = None,
                            progress: Callable | None = None) -> FeatureSet:
    """:func:`text_features` of the noisy transcripts ``copies`` (keyed, as features and errors, by
    ``(utterance id, copy)``); a noisy text equal to a transcript shares its cache entry."""
    return text_features([TextCopy(key) for key in copies], copies, encoder, cache, progress)
