"""The :class:`Predictor`: a trained model directory, warm, applied to files, arrays and long recordings.

Built once per process (``fusion.load(MODEL_DIR)``): the :class:`~fusion.model.EmotionModel`
(whose encoders also do the frozen ``featurize`` part: they are built from the same config as
at training time) and the transcriber named in the model's config, or the one passed instead.

* Short inputs are predicted in batches of ``batch_size``: decode (``fusion.audio.load``),
  transcribe (files through the transcript cache, arrays directly), featurize, one forward pass.
* Inputs longer than ``long_threshold`` are segmented by :class:`~.segmentation.EnergyVAD` on a
  streamed level envelope and decoded segment by segment (:mod:`.sources`), so memory stays flat
  with length; the result has a timeline plus a duration-weighted whole-input summary.
* Problems with one input become that input's ``error`` (or a warning: silence, a narrowband
  rate, a failed segment); the other inputs are still predicted. Only configuration problems
  (e.g. a text model with no way to transcribe new audio) raise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import audio as audio_io
from ..cache import Cache
from ..data import Utterance
from ..errors import ConfigError, FusionError, UnknownComponentError
from ..model import EmotionModel, collate
from ..plugins import component_failures
from ..registry import make_config
from ..speaker_norm import group_of
from ..transcripts import transcribe_utterances, transcript_key
from .inputs import PredictInput, as_input, one_input, unique_ids
from .long_recordings import LongRecordings, failure_reason
from .prediction import Prediction, Scores, probabilities
from .segmentation import EnergyVAD
from .sources import ArraySource, FileSource

SR = audio_io.TARGET_SR  # rate of decoded audio handed to transcribers (and most encoders)


@dataclass
class _Clip:
    """A decoded short input waiting for its batch."""

    index: int             # position in the batch's inputs
    item: PredictInput
    wav: np.ndarray        # [S] float32 mono at SR
    duration: float        # seconds
    silent: bool
    warnings: list[str] = field(default_factory=list)


class Predictor(LongRecordings):
    """Emotion predictions from a model directory written by ``fusion train``."""

    @dataclass(frozen=True)
    class Config:
        long_threshold: float = 20.0   # seconds; longer inputs are segmented and get a timeline
        batch_size: int = 8            # clips (or segments) per transcriber call and forward pass
        hop: float = 0.01              # seconds per frame of the level envelope the VAD reads
        cache_transcripts: bool = True  # read/write the transcript cache (files and file segments)

    def __init__(self, model_dir: str | Path, *, transcriber: str | None = None,
                 transcriber_config: dict | None = None, config: "Predictor.Config | dict | None" = None,
                 vad: "EnergyVAD.Config | dict | None" = None):
        self.model_dir = Path(model_dir)
        self.config = c = make_config(type(self), config, "predictor")
        if c.long_threshold < 1.0 or c.batch_size < 1 or not 0 < c.hop <= 0.1:
            raise ConfigError(f"predictor: need long_threshold >= 1 s, batch_size >= 1 and 0 < hop <= 0.1 s; "
                              f"got {c.long_threshold}, {c.batch_size}, {c.hop}")
        self.vad = EnergyVAD(vad)
        from ..runners.composed import is_composed

        if is_composed(self.model_dir):
            raise ConfigError(f"{self.model_dir} is a composed model (fusion compose): load it with "
                              "fusion.load(MODEL_DIR) (a ComposedPredictor); it cannot be an ensemble member")
        self.model = EmotionModel.load(self.model_dir)  # eval mode
        self.transcriber = self._build_transcriber(transcriber, dict(transcriber_config or {}))
        # an explicitly named speech-to-text transcribes every input, even one that comes with a transcript
        self.uses_given_transcripts = transcriber is None or self.transcriber is None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    @property
    def mode(self) -> str:
        return self.model.config.mode

    @property
    def uses_text(self) -> bool:
        """Whether the model reads transcripts (text/fused): its predictions carry one."""
        return self.model.config.uses_text

    @property
    def name(self) -> str:
        """What the model is called in messages and the web demo: its directory's name."""
        return self.model_dir.name

    @property
    def normalizes_speakers(self) -> bool:
        """Whether the model standardises acoustic features per speaker (inputs are grouped per call)."""
        return self.model.normalizes_speakers

    @property
    def transcript_source(self) -> str | None:
        """Where the transcripts come from, in words (None for an audio-only model)."""
        if not self.uses_text:
            return None
        if self.transcriber is None:
            return "given with each input (gold)"
        name = self.transcriber.name
        if self.uses_given_transcripts:
            return f"given with the input where it has one, else {name} (speech-to-text)"
        return f"{name} (speech-to-text; transcripts given with the inputs are not used)"

    @property
    def needs_transcript(self) -> bool:
        """A text/fused model with no speech-to-text: every input needs its transcript given."""
        return self.uses_text and self.transcriber is None

    @property
    def cache(self) -> Cache:
        """The transcript cache under ``$FUSION_CACHE`` as it is now (not when the predictor was built)."""
        return Cache("transcripts", enabled=self.config.cache_transcripts)

    # ------------------------------------------------------------------ transcriber
    def _build_transcriber(self, name: str | None, options: dict):
        """The speech-to-text backend for new audio; None when the model needs none or has only `gold`."""
        mc = self.model.config
        if not mc.uses_text:
            return None
        if name is None:
            name, options = mc.transcriber or "gold", {**mc.transcriber_config, **options}
        from ..plugins import get_component

        try:
            component = get_component("transcriber", name)
        except UnknownComponentError as exc:
            raise ConfigError(f"model {self.model_dir} needs transcriber {name!r}, which is not installed "
                              f"({exc}); install its plugin or choose another with --transcriber NAME") from exc
        built = component.build(options)
        return built if built.uses_audio else None

    def _transcriber_missing(self) -> ConfigError:
        from ..plugins import registries

        names = [c.name for c in registries()["transcriber"] if _transcribes_audio(c)]
        return ConfigError(
            f"model {self.model_dir} ({self.mode}) was trained on gold (corpus) transcripts, which new audio "
            f"does not have: choose a speech-to-text transcriber with `fusion predict --transcriber NAME` "
            f"(Python: fusion.load(MODEL_DIR, transcriber=NAME)), or give the transcript with the input "
            f"(manifest field 'transcript'); installed transcribers: {', '.join(names) or '(none)'}")

    # ------------------------------------------------------------------ public API
    def predict(self, source: Any, sr: int | None = None, *, transcript: str | None = None) -> Prediction:
        """One file path or array (recorded at ``sr`` Hz) -> Prediction (``error`` set on bad input)."""
        if transcript is not None and not self.uses_given_transcripts:
            raise ConfigError(f"a transcript was given, but this predictor was built with transcriber "
                              f"{self.transcriber.name!r}, which transcribes every input: build it without "
                              "transcriber= (or with transcriber='gold') to use the transcripts you give")
        return self.predict_batch([one_input(source, sr, transcript)])[0]

    def predict_batch(self, items: Iterable[Any], sr: int | None = None) -> list[Prediction]:
        """Paths, arrays (all at ``sr``), Utterances or PredictInputs -> one Prediction each, in order."""
        inputs = unique_ids([as_input(x, sr, n) for n, x in enumerate(items)])
        if self.model.config.uses_text and self.transcriber is None \
                and any(i.transcript is None and i.error is None for i in inputs):
            raise self._transcriber_missing()
        if not self.uses_given_transcripts:  # --transcriber NAME: speech-to-text for every input
            inputs = [dataclasses.replace(i, transcript=None) for i in inputs]
        out: list[Prediction | None] = [None] * len(inputs)
        pending: list[_Clip] = []
        for n, item in enumerate(inputs):
            if item.error is not None:
                out[n] = self._failed(item, item.error)
                continue
            try:
                opened = self._open(n, item)
                if isinstance(opened, _Clip):
                    pending.append(opened)
                else:
                    out[n] = self._predict_long(item, *opened)
            except Exception as exc:  # noqa: BLE001 - one bad input never aborts the batch
                out[n] = self._failed(item, failure_reason(exc))
            if len(pending) >= self.config.batch_size and not self.model.normalizes_speakers:
                self._predict_clips(pending, out)  # (speaker-normalising models see the whole call's clips)
                pending = []
        self._predict_clips(pending, out)
        return out  # type: ignore[return-value]

    def warmup(self) -> None:
        """Load everything loaded lazily (e.g. the speech-to-text model) with one prediction on noise."""
        noise = np.random.default_rng(0).normal(0, 0.05, SR).astype(np.float32)  # [S] 1 s
        self.predict(noise, SR)

    # ------------------------------------------------------------------ opening inputs
    def _open(self, n: int, item: PredictInput):
        """-> a decoded short :class:`_Clip`, or (source, duration, warnings) for a long input."""
        if item.file is not None:
            info = audio_io.info(item.file)
            warnings = _rate_warnings(info.sample_rate)
            if info.duration > self.config.long_threshold:
                return FileSource(item.file), info.duration, warnings
            wav = audio_io.load(item.file, on_silence="ignore")  # [S] at SR
        else:
            if item.sr is None:
                raise ConfigError(f"{item.id}: an audio array needs its sample rate: predict(array, sr=...)")
            warnings = _rate_warnings(int(item.sr))
            wav = audio_io.load(item.source, sr=item.sr, on_silence="ignore")  # [S] at SR
            if len(wav) / SR > self.config.long_threshold:
                return ArraySource(wav, SR), len(wav) / SR, warnings
        silent = float(np.abs(wav).max()) <= audio_io.SILENCE_PEAK
        if silent:
            warnings.append("audio is silent (all samples ~0): the prediction is not meaningful")
        return _Clip(n, item, wav, len(wav) / SR, silent, warnings)

    @staticmethod
    def _failed(item: PredictInput, reason: str) -> Prediction:
        return Prediction(item.id, str(item.file) if item.file else None, error=reason)

    # ------------------------------------------------------------------ short inputs
    def _predict_clips(self, clips: list[_Clip], out: list) -> None:
        if not clips:
            return
        texts, errors = self._clip_transcripts(clips)
        ready: list[tuple[_Clip, tuple]] = []
        for clip in clips:
            if clip.item.id in errors:
                out[clip.index] = self._failed(clip.item, errors[clip.item.id])
                continue
            try:
                ready.append((clip, self._features(clip.wav, texts.get(clip.item.id))))
            except Exception as exc:  # noqa: BLE001
                out[clip.index] = self._failed(clip.item, failure_reason(exc))
        feats = self._speaker_normalized([f for _, f in ready], [group_of(c.item.speaker) for c, _ in ready])
        for clip, scores in zip([c for c, _ in ready], self._forward_batches(feats)):
            if isinstance(scores, str):
                out[clip.index] = self._failed(clip.item, scores)
                continue
            out[clip.index] = Prediction(
                clip.item.id, str(clip.item.file) if clip.item.file else None, scores.label,
                scores.probabilities, texts.get(clip.item.id), scores.branches, clip.duration,
                clip.silent, clip.warnings)

    def _clip_transcripts(self, clips: Sequence[_Clip]) -> tuple[dict[str, str], dict[str, str]]:
        """id -> transcript (given, cached or transcribed) and id -> reason for the failures."""
        if not self.model.config.uses_text:
            return {}, {}
        texts = {c.item.id: c.item.transcript for c in clips if c.item.transcript is not None}
        todo = [c for c in clips if c.item.transcript is None]
        files = [c for c in todo if c.item.file is not None]
        errors: dict[str, str] = {}
        if files:  # the shared transcript cache, keyed by the file's content hash
            wavs = {c.item.id: c.wav for c in files}
            utts = [Utterance(c.item.id, c.item.file, label="?", speaker="?") for c in files]
            report = transcribe_utterances(utts, self.transcriber, self.cache, load_audio=lambda u: wavs[u.id],
                                           batch_size=self.config.batch_size)
            texts.update(report.transcripts)
            errors.update(report.errors)
        arrays = [c for c in todo if c.item.file is None]
        for clip, (text, error) in zip(arrays, self._transcribe([c.wav for c in arrays], [None] * len(arrays))):
            if error is None:
                texts[clip.item.id] = text
            else:
                errors[clip.item.id] = error
        return texts, errors

    def _transcribe(self, wavs: Sequence[np.ndarray], keys: Sequence[str | None]) -> list[tuple[str | None, str | None]]:
        """Decoded audio -> [(text, None) | (None, reason)]; a ``key`` (audio identity) enables the cache."""
        results: list[tuple[str | None, str | None]] = [(None, None)] * len(wavs)
        cache, todo = self.cache, []
        for i, key in enumerate(keys):
            hit = cache.get_json(transcript_key(self.transcriber, key)) if key else None
            if hit is not None:
                results[i] = (hit["text"], None)
            else:
                todo.append(i)
        if not todo:
            return results
        try:
            texts = self.transcriber.transcribe_batch([wavs[i] for i in todo], SR)
        except Exception as exc:  # noqa: BLE001 - reported per input
            reason = f"transcriber {self.transcriber.name!r} failed: {failure_reason(exc)}"
            return [results[i] if i not in todo else (None, reason) for i in range(len(wavs))]
        for i, text in zip(todo, texts):
            results[i] = (text, None)
            if keys[i]:
                cache.put_json(transcript_key(self.transcriber, keys[i]), {"text": text, "id": keys[i]})
        return results

    # ------------------------------------------------------------------ model
    @torch.no_grad()
    def _features(self, wav: np.ndarray, text: str | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The frozen featurize part of the model's encoders: ([Ta, ...] | None, [Tt, ...] | None)."""
        acoustic, text_encoder = self.model.acoustic, self.model.text
        audio_feats = text_feats = None
        if acoustic is not None:
            wav = audio_io.resample(wav, SR, acoustic.sample_rate)
            with component_failures("acoustic_encoder", acoustic, "this input"):
                audio_feats = acoustic.featurize(torch.from_numpy(np.ascontiguousarray(wav)))  # [Ta, ...]
        if text_encoder is not None:
            if text is None:
                raise FusionError("no transcript")
            with component_failures("text_encoder", text_encoder, "its transcript"):
                text_feats = text_encoder.featurize(text)  # [Tt, ...]
        return audio_feats, text_feats

    @torch.no_grad()
    def _forward(self, feats: Sequence[tuple]) -> list[Scores | str]:
        """Features of up to ``batch_size`` inputs -> Scores each (or the failure reason for all)."""
        if not feats:
            return []
        items = [{"audio": audio, "text": text, "label": 0} for audio, text in feats]  # label: unused target
        try:
            batch, _ = collate(items)       # padded [B, Ta, ...] / [B, Tt, ...] with lengths [B]
            out = self.model.run(batch)     # logits [B, C], branches [B, C] each
        except Exception as exc:  # noqa: BLE001
            return [f"model forward pass failed: {failure_reason(exc)}"] * len(feats)
        probs = torch.softmax(out.logits.float(), dim=-1).numpy()                        # [B, C]
        if self.mode == "fused":
            branch = {name: torch.softmax(b.float(), dim=-1).numpy()                      # [B, C] each
                      for name, b in out.branches.items()}
        else:
            branch = {self.mode: probs}
        return [Scores(probabilities(self.labels, probs[i]),
                       {name: probabilities(self.labels, p[i]) for name, p in branch.items()})
                for i in range(len(feats))]

    def _forward_batches(self, feats: Sequence[tuple]) -> list[Scores | str]:
        """:meth:`_forward` over ``batch_size`` inputs at a time."""
        size = self.config.batch_size
        return [s for i in range(0, len(feats), size) for s in self._forward(feats[i:i + size])]

    def _speaker_normalized(self, feats: list[tuple], groups: list[str]) -> list[tuple]:
        """(audio, text) features with the audio standardised per group (models with speaker_norm)."""
        if not self.model.normalizes_speakers or not feats:
            return feats
        audio = self.model.normalize_speakers({i: f[0] for i, f in enumerate(feats)}, dict(enumerate(groups)))
        return [(audio[i], f[1]) for i, f in enumerate(feats)]


def _transcribes_audio(component) -> bool:
    """Whether a registered transcriber does speech-to-text (not `gold`-like); a broken plugin does not."""
    try:
        return bool(getattr(component.load(), "uses_audio", True))
    except FusionError:
        return False


def _rate_warnings(sr: int) -> list[str]:
    if sr < SR:
        return [f"recorded at {sr} Hz (narrowband): upsampled to {SR} Hz, no content above "
                f"{sr / 2000:g} kHz; accuracy may be lower than on {SR // 1000} kHz audio"]
    return []
