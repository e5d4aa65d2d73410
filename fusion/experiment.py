"""Experiment configuration shared by `fusion train` and `fusion ablate`, and its inputs.

:class:`ExperimentConfig` is the full, rerunnable description of a run (written to
``config.toml`` in every run directory). :func:`prepare_inputs` turns a corpus into cached
per-utterance features for the modalities the modes need; an utterance that fails in a
needed modality is excluded from *every* mode (so all modes share the same folds) and
listed with its reason. Under torchrun each rank fills its shard of the cache first
(:func:`fusion.training.distributed.compute_sharded`). :func:`augment_inputs` adds perturbed
copies of the training clips (``augment.copies``) and ASR-style noisy copies of their transcripts
(``augment.text_copies``), which only :meth:`Inputs.train_items` returns.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .augment import AugmentConfig
from .cache import Cache
from .data import Utterance
from .errors import ConfigError, DatasetError
from .model import MODES, ModelConfig, build_component, mode_uses
from .speaker_norm import SpeakerNormConfig
from .training.trainer import TrainConfig

# Defaults: chosen by the benchmarks in bench/ (see README "Results").
DEFAULT_ACOUSTIC_ENCODER = "whisper-encoder"
DEFAULT_TEXT_ENCODER = "minilm"
DEFAULT_TRANSCRIBER = "faster-whisper"
DEFAULT_HEAD = "cross-attention"
# linear probes on the frozen features (fusion.runners.probe): mode -> the modality whose features they read
PROBE_MODES = {"probe": "audio", "text-probe": "text"}
RUN_MODES = (*MODES, *PROBE_MODES)  # what `modes` may list


def uses_modality(mode: str, modality: str) -> bool:
    """Whether a run of ``mode`` (a model mode or a probe) reads ``modality``'s features."""
    return PROBE_MODES.get(mode) == modality or mode_uses(mode, modality)


@dataclass(frozen=True)
class ExperimentConfig:
    dataset: str                                       # registered dataset recipe
    data_dir: str | None = None                        # corpus folder (None: the recipe's bundled default)
    modes: tuple[str, ...] = MODES                     # which of audio / text / fused (/ probe / text-probe) to run
    acoustic_encoder: str = DEFAULT_ACOUSTIC_ENCODER   # acoustic encoder name
    acoustic_config: dict = field(default_factory=dict)
    text_encoder: str = DEFAULT_TEXT_ENCODER           # text encoder name
    text_config: dict = field(default_factory=dict)
    transcriber: str = DEFAULT_TRANSCRIBER             # speech-to-text ("gold" = corpus transcript)
    transcriber_config: dict = field(default_factory=dict)
    head: str = DEFAULT_HEAD                           # fusion head for mode "fused"
    head_config: dict = field(default_factory=dict)
    unimodal_config: dict = field(default_factory=dict)  # config of the unimodal head (audio/text modes)
    train: TrainConfig = field(default_factory=TrainConfig)
    folds: int = 4                                     # number of folds (speaker/session protocols)
    protocol: str | None = None                        # None: the dataset's default protocol
    seeds: tuple[int, ...] = (0,)                      # one full run per seed
    val_fraction: float = 0.15                         # share of training speakers held out for validation
    split_seed: int | None = None                      # `fusion train`: seeds the validation carve (None: train.seed;
                                                       # fix it to train seed ensembles on one carve)
    speakers: tuple[str, ...] | None = None            # restrict the corpus to these speakers
    labels: tuple[str, ...] | None = None              # keep these canonical labels (fusion.labels); None: all,
                                                       # under the corpus' own names unless label_map is set
    label_map: dict = field(default_factory=dict)      # corpus label -> canonical label, over the recipe's map
    recipe_options: dict = field(default_factory=dict)  # extra options for the dataset recipe
    test_groups: tuple[tuple[str, ...], ...] | None = None  # explicit test speakers/sessions per fold
    device: str | None = None                          # cpu | cuda | mps | auto (None: cpu) for the trainable part
    amp: str | None = None                             # mixed precision: auto | off | bf16 | fp16 (None: auto)
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # perturbed copies of training clips (off)
    speaker_norm: SpeakerNormConfig = field(default_factory=SpeakerNormConfig)  # per-speaker acoustic feature
                                                       # standardisation (fusion.speaker_norm; on)

    def __post_init__(self):
        if self.split_seed is not None and (isinstance(self.split_seed, bool) or not isinstance(self.split_seed, int)):
            raise ConfigError(f"config: split_seed must be an integer (or unset: the training seed), "
                              f"got {self.split_seed!r}")
        if self.labels is not None:
            from .labels import parse_label_list

            object.__setattr__(self, "labels", parse_label_list(self.labels))
        bad = [m for m in self.modes if m not in RUN_MODES]
        if bad or not self.modes:
            raise ConfigError(f"unknown mode(s) {bad or '(none)'}; valid choices: {', '.join(RUN_MODES)}")

    @property
    def needs_audio(self) -> bool:
        return any(uses_modality(m, "audio") for m in self.modes)

    @property
    def needs_text(self) -> bool:
        return any(uses_modality(m, "text") for m in self.modes)

    def model_config(self, mode: str, labels: Sequence[str]) -> ModelConfig:
        if mode not in MODES:
            raise ConfigError(f"mode {mode!r} trains no model; valid choices: {', '.join(MODES)}")
        fused, audio, text = mode == "fused", mode_uses(mode, "audio"), mode_uses(mode, "text")
        return ModelConfig(
            mode=mode, labels=tuple(labels),
            acoustic_encoder=self.acoustic_encoder if audio else None,
            acoustic_config=dict(self.acoustic_config) if audio else {},
            text_encoder=self.text_encoder if text else None,
            text_config=dict(self.text_config) if text else {},
            transcriber=self.transcriber if text else None,
            transcriber_config=dict(self.transcriber_config) if text else {},
            head=self.head if fused else "unimodal",
            head_config=dict(self.head_config if fused else self.unimodal_config),
            speaker_norm={"shrink": float(self.speaker_norm.shrink)} if audio and self.speaker_norm.enabled else {},
        )

    def train_config(self, seed: int | None = None) -> TrainConfig:
        """``train`` with ``seed`` (default: its own) and the selection metric resolved: ``train.select``,
        else the metric the dataset recipe declares (MELD: weighted-F1), else UA."""
        from .recipes import dataset_metric

        return dataclasses.replace(self.train, seed=self.train.seed if seed is None else seed,
                                   select=self.train.select or dataset_metric(self.dataset))

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["train"] = self.train.to_dict()
        d["augment"] = self.augment.to_dict()
        d["speaker_norm"] = self.speaker_norm.to_dict()
        if self.augment == AugmentConfig():  # off and untouched: not written (configs of before stay identical)
            del d["augment"]
        if not d["label_map"]:  # likewise: written only when set
            del d["label_map"]
        for k in ("modes", "seeds", "speakers", "labels"):
            if d[k] is not None:
                d[k] = list(d[k])
        if d["test_groups"] is not None:
            d["test_groups"] = [list(g) for g in d["test_groups"]]
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"config: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}")
        d = dict(d)
        if "dataset" not in d:
            raise ConfigError("config: 'dataset' is required")
        d["train"] = TrainConfig.from_dict(d.get("train", {}))
        d["augment"] = AugmentConfig.from_dict(d.get("augment", {}))
        d["speaker_norm"] = SpeakerNormConfig.from_dict(d.get("speaker_norm", {}))
        for k in ("modes", "seeds", "speakers", "labels"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        if d.get("test_groups") is not None:
            d["test_groups"] = tuple(tuple(str(x) for x in g) for g in d["test_groups"])
        return cls(**d)

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml(cls, path: str | Path) -> "ExperimentConfig":
        path = Path(path)
        if path.is_dir():
            path = path / "config.toml"
        if not path.is_file():
            raise ConfigError(f"config file {path} not found")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
        return cls.from_dict(data)

    def replace(self, **changes) -> "ExperimentConfig":
        return dataclasses.replace(self, **changes)


@dataclass
class Inputs:
    """Everything training needs, per utterance id; ``excluded`` lists what was left out and why."""

    utterances: list[Utterance]
    labels: tuple[str, ...]
    transcripts: dict[str, str] = field(default_factory=dict)
    audio: dict = field(default_factory=dict)      # id -> acoustic featurize output [T, ...]
    text: dict = field(default_factory=dict)       # id -> text featurize output [T, ...]
    excluded: dict[str, str] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)      # cache hits / computed counts per stage
    augmented: list[dict] = field(default_factory=list)  # per copy index: id -> perturbed acoustic features [T, ...]
    text_augmented: list[dict] = field(default_factory=list)  # per text copy index: id -> features [T, ...] of
                                                              # the ASR-style noisy transcript
    noisy_transcripts: list[dict] = field(default_factory=list)  # per text copy index: id -> that noisy text

    def items(self, indices: Sequence[int], mode: str) -> list[dict]:
        out = []
        label_index = {l: i for i, l in enumerate(self.labels)}
        for n in indices:
            u = self.utterances[n]
            out.append({
                "audio": self.audio[u.id] if mode_uses(mode, "audio") else None,
                "text": self.text[u.id] if mode_uses(mode, "text") else None,
                "label": label_index[u.label],
            })
        return out

    def train_items(self, indices: Sequence[int], mode: str) -> list[dict]:
        """:meth:`items`, then the augmented copies of those clips, copy by copy: in the audio and fused
        modes the perturbed-audio copies, then in the text and fused modes the noisy-text copies.

        A copy item has the clip's label and ``copy_of`` = the clip's id. A perturbed-audio copy carries
        the perturbed acoustic features and (fused) the clip's own transcript features; a noisy-text copy
        carries the noisy transcript's features and (fused) the clip's own acoustic features: each copy
        perturbs one modality, as at test time speech-to-text errors come with the clip's real audio.
        For training items only: pass training indices (validation and test items come from :meth:`items`)."""
        out = self.items(indices, mode)
        label_index = {l: i for i, l in enumerate(self.labels)}
        audio, text = mode_uses(mode, "audio"), mode_uses(mode, "text")
        for copies, perturbed in [(c, "audio") for c in self.augmented if audio] + \
                                 [(c, "text") for c in self.text_augmented if text]:
            for n in indices:
                u = self.utterances[n]
                if u.id in copies:  # a copy whose featurize failed is left out (counted in stats)
                    own = {"audio": self.audio[u.id] if audio else None, "text": self.text[u.id] if text else None}
                    out.append({**own, perturbed: copies[u.id], "label": label_index[u.label], "copy_of": u.id})
        return out


def prepare_inputs(cfg: ExperimentConfig, utterances: Sequence[Utterance], labels: Sequence[str] | None = None,
                   progress: Callable | None = None, log: Callable[[str], None] = lambda s: None) -> Inputs:
    """Transcribe (cached), featurize (cached) and drop-with-reason the utterances that fail."""
    from .features import acoustic_features, text_features
    from .training.distributed import compute_sharded
    from .transcripts import transcribe_utterances

    utts = list(utterances)
    labels = tuple(labels) if labels is not None else tuple(sorted({u.label for u in utts}))
    unknown = sorted({u.label for u in utts} - set(labels))
    if unknown:
        raise ConfigError(f"labels {unknown} are not in the model's label set {list(labels)}")
    inputs = Inputs(utts, labels)
    # files the recipe could not parse (fusion.recipes.Corpus.skipped), keyed by path: reported too
    inputs.excluded.update(getattr(utterances, "skipped", ()))
    if cfg.needs_audio:
        encoder = build_component("acoustic_encoder", cfg.acoustic_encoder, cfg.acoustic_config)
        fs = compute_sharded(lambda us: acoustic_features(us, encoder, Cache("features"), progress), utts,
                             key=lambda u: str(u.audio))
        inputs.audio, inputs.stats["audio"] = fs.features, {"cached": fs.cached, "computed": fs.computed}
        inputs.excluded.update(fs.errors)
        log(f"acoustic features ({cfg.acoustic_encoder}): {fs.computed} computed, {fs.cached} from cache, "
            f"{len(fs.errors)} failed")
        del encoder
    if cfg.needs_text:
        transcriber = build_component("transcriber", cfg.transcriber, cfg.transcriber_config)
        todo = [u for u in utts if u.id not in inputs.excluded]

        def transcribe(some: list[Utterance]):
            return transcribe_utterances(some, transcriber, Cache("transcripts"), progress=progress)

        # speech-to-text is sharded over ranks; the gold transcriber only reads the corpus
        tr = compute_sharded(transcribe, todo, key=lambda u: str(u.audio)) if transcriber.uses_audio \
            else transcribe(todo)
        inputs.transcripts = tr.transcripts
        inputs.stats["transcripts"] = {"cached": tr.cached, "computed": tr.computed}
        inputs.excluded.update(tr.errors)
        log(f"transcripts ({cfg.transcriber}): {tr.computed} transcribed, {tr.cached} from cache, "
            f"{len(tr.errors)} failed")
        del transcriber
        encoder = build_component("text_encoder", cfg.text_encoder, cfg.text_config)
        fs = compute_sharded(lambda us: text_features(us, tr.transcripts, encoder, Cache("features"), progress),
                             [u for u in utts if u.id in tr.transcripts], key=lambda u: tr.transcripts[u.id])
        inputs.text, inputs.stats["text"] = fs.features, {"cached": fs.cached, "computed": fs.computed}
        inputs.excluded.update(fs.errors)
        del encoder
    inputs.utterances = [u for u in utts if u.id not in inputs.excluded]
    if utts and not inputs.utterances:
        first = inputs.excluded[utts[0].id]
        raise DatasetError(f"dataset {cfg.dataset!r}: every utterance was excluded ({len(utts)} of {len(utts)}); "
                           f"the first reason: {first}")
    return inputs


def augment_inputs(cfg: ExperimentConfig, inputs: Inputs, indices: Sequence[int], progress: Callable | None = None,
                   log: Callable[[str], None] = lambda s: None, text_indices: Sequence[int] | None = None) -> None:
    """Featurize ``cfg.augment.copies`` perturbed copies of the utterances at ``indices`` (training clips)
    into ``inputs.augmented``, and ``cfg.augment.text_copies`` noisy-text copies of the transcripts at
    ``text_indices`` (default ``indices``) into ``inputs.text_augmented`` (cached; sharded over torchrun
    ranks). Each kind is a no-op when it is off or no mode reads its modality. Run it before worker
    processes fork, so they all share the same copies."""
    aug = cfg.augment
    if aug.copies and cfg.needs_audio:
        _acoustic_copies(cfg, inputs, indices, progress, log)
    if aug.text_copies and cfg.needs_text:
        _text_copies(cfg, inputs, indices if text_indices is None else text_indices, progress, log)
    elif aug.text_copies:
        log(f"note: augment.text_copies={aug.text_copies} adds nothing: no mode of this run reads text")


def _acoustic_copies(cfg: ExperimentConfig, inputs: Inputs, indices: Sequence[int], progress: Callable | None,
                     log: Callable[[str], None]) -> None:
    from .components import AcousticEncoder
    from .features import augmented_acoustic_features
    from .training.distributed import compute_sharded

    aug = cfg.augment
    encoder = build_component("acoustic_encoder", cfg.acoustic_encoder, cfg.acoustic_config)
    if not isinstance(encoder, AcousticEncoder) or type(encoder).featurize is AcousticEncoder.featurize:
        raise ConfigError(f"augment.copies={aug.copies}: acoustic encoder {cfg.acoustic_encoder!r} has no waveform "
                          "featurize to perturb; use augment.copies=0 or an encoder that featurizes audio")
    utts = [inputs.utterances[n] for n in sorted(set(indices))]
    fs = compute_sharded(lambda us: augmented_acoustic_features(us, encoder, aug, Cache("features"), progress),
                         utts, key=lambda u: str(u.audio))
    inputs.augmented = [{} for _ in range(aug.copies)]
    for (uid, copy), feats in fs.features.items():
        inputs.augmented[copy][uid] = feats
    inputs.stats["augment"] = {"cached": fs.cached, "computed": fs.computed, "failed": len(fs.errors)}
    log(f"augmented copies ({aug.copies} per training clip, {len(utts)} clips): {fs.computed} computed, "
        f"{fs.cached} from cache, {len(fs.errors)} failed")
    for (uid, copy), reason in list(fs.errors.items())[:3]:
        log(f"  left out copy {copy} of {uid}: {reason}")


def _text_copies(cfg: ExperimentConfig, inputs: Inputs, indices: Sequence[int], progress: Callable | None,
                 log: Callable[[str], None]) -> None:
    """ASR-style noisy transcripts of the clips at ``indices`` (:func:`fusion.features.noisy_transcript_copies`),
    featurized by the text encoder; their measured WER goes to ``inputs.stats["text_augment"]``."""
    from .features import augmented_text_features, noisy_transcript_copies
    from .text_noise import word_error_rate
    from .training.distributed import compute_sharded

    aug = cfg.augment
    utts = [inputs.utterances[n] for n in sorted(set(indices))]
    if not utts:
        return
    texts = noisy_transcript_copies(utts, inputs.transcripts, aug)  # (id, copy) -> noisy transcript
    encoder = build_component("text_encoder", cfg.text_encoder, cfg.text_config)

    def featurize(keys: list[tuple[str, int]]):
        return augmented_text_features({k: texts[k] for k in keys}, encoder, Cache("features"), progress)

    fs = compute_sharded(featurize, list(texts), key=lambda k: texts[k])
    inputs.text_augmented = [{} for _ in range(aug.text_copies)]
    inputs.noisy_transcripts = [{} for _ in range(aug.text_copies)]
    for (uid, copy), feats in fs.features.items():
        inputs.text_augmented[copy][uid] = feats
        inputs.noisy_transcripts[copy][uid] = texts[uid, copy]
    wer = word_error_rate([inputs.transcripts[uid] for uid, _ in texts], texts.values())
    inputs.stats["text_augment"] = {"cached": fs.cached, "computed": fs.computed, "failed": len(fs.errors),
                                    "wer": round(wer, 4)}
    log(f"noisy-text copies ({aug.text_copies} per training clip, {len(utts)} clips, target WER {aug.text_wer:.2f}, "
        f"measured {wer:.3f}): {fs.computed} computed, {fs.cached} from cache, {len(fs.errors)} failed")
    for (uid, copy), reason in list(fs.errors.items())[:3]:
        log(f"  left out text copy {copy} of {uid}: {reason}")
