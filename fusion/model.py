"""The emotion model: optional acoustic encoder + optional text encoder + a head.

One code path for all three modes keeps an ablation honest:
``audio`` = acoustic encoder + ``unimodal`` head, ``text`` = text encoder + ``unimodal`` head,
``fused`` = both encoders + a fusion head. Checkpoints store ``{"config", "state_dict", "labels"}``
and rebuild the model from them.

``model(batch, targets)`` gives ``(logits, loss)``; ``model.run(batch, targets)`` the head's whole
:class:`~fusion.components.HeadOutput` (per-modality branches, attention). :func:`collate` pads a
list of featurized items into a :class:`Batch`.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from .components import HeadOutput, LossConfig, config_dict
from .errors import CheckpointError, ConfigError
from .speaker_norm import Moments, normalize_by_group

MODES = ("audio", "text", "fused")
CHECKPOINT_FORMAT = 2  # 2: the encoders' configs are written in full, defaults included (1: as given)


def mode_uses(mode: str, modality: str) -> bool:
    """Whether a model of ``mode`` reads ``modality`` ("audio" | "text"): its own, or both when fused."""
    return mode == modality or mode == "fused"


@dataclass(frozen=True)
class ModelConfig:
    mode: str                                   # "audio" | "text" | "fused"
    labels: tuple[str, ...]                     # class names, index = class id
    acoustic_encoder: str | None = None         # registered name (audio/fused modes)
    acoustic_config: dict = field(default_factory=dict)   # its Config fields
    text_encoder: str | None = None             # registered name (text/fused modes)
    text_config: dict = field(default_factory=dict)
    transcriber: str | None = None              # how transcripts are made at inference (text/fused)
    transcriber_config: dict = field(default_factory=dict)
    head: str = "unimodal"                      # registered fusion head name
    head_config: dict = field(default_factory=dict)
    speaker_norm: dict = field(default_factory=dict)  # {"shrink": k}: acoustic features standardised per speaker
                                                      # (fusion.speaker_norm); {} = off (models of before)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode {self.mode!r}; valid choices: {', '.join(MODES)}")
        if self.uses_audio and not self.acoustic_encoder:
            raise ConfigError(f"mode {self.mode!r} needs an acoustic encoder")
        if self.uses_text and not self.text_encoder:
            raise ConfigError(f"mode {self.mode!r} needs a text encoder")
        if len(self.labels) < 2:
            raise ConfigError(f"need at least 2 labels, got {list(self.labels)}")

    @property
    def uses_audio(self) -> bool:
        return mode_uses(self.mode, "audio")

    @property
    def uses_text(self) -> bool:
        return mode_uses(self.mode, "text")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["labels"] = list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"model config: unknown field(s) {sorted(unknown)}; valid: {sorted(names)}")
        d = dict(d)
        d["labels"] = tuple(d["labels"])
        return cls(**d)


@dataclass
class Batch:
    """Padded features of a batch. Absent modality -> None."""

    audio: Tensor | None = None          # [B, Ta, ...] acoustic features (encoder.featurize output)
    audio_lengths: Tensor | None = None  # [B]
    text: Tensor | None = None           # [B, Tt, ...] text features
    text_lengths: Tensor | None = None   # [B]

    def __len__(self) -> int:
        ref = self.audio_lengths if self.audio_lengths is not None else self.text_lengths
        return 0 if ref is None else int(ref.shape[0])


def pad_sequences(items: list[Tensor]) -> tuple[Tensor, Tensor]:
    """list of [T_i, ...] -> padded [B, T_max, ...] (zeros) and lengths [B]."""
    lengths = torch.tensor([int(x.shape[0]) for x in items], dtype=torch.long)
    out = items[0].new_zeros((len(items), int(lengths.max()), *items[0].shape[1:]))
    for i, x in enumerate(items):
        out[i, : x.shape[0]] = x
    return out, lengths


def collate(items: Sequence[dict]) -> tuple[Batch, Tensor]:
    """items ``{"audio": Tensor | None, "text": Tensor | None, "label": int}`` (featurize outputs)
    -> (Batch of padded features, targets [B])."""
    batch = Batch()
    if items[0].get("audio") is not None:
        batch.audio, batch.audio_lengths = pad_sequences([it["audio"] for it in items])  # [B, Ta, ...]
    if items[0].get("text") is not None:
        batch.text, batch.text_lengths = pad_sequences([it["text"] for it in items])     # [B, Tt, ...]
    targets = torch.tensor([it["label"] for it in items], dtype=torch.long)              # [B]
    return batch, targets


def batch_to(batch: Batch, device: torch.device) -> Batch:
    """A copy of ``batch`` with every tensor on ``device``."""
    return Batch(**{f.name: None if getattr(batch, f.name) is None else getattr(batch, f.name).to(device)
                    for f in dataclasses.fields(batch)})


def build_component(kind: str, name: str, config: dict):
    from .plugins import get_component

    return get_component(kind, name).build(config)


def with_legacy_defaults(config: ModelConfig) -> ModelConfig:
    """``config`` of a model saved before encoder configs were written in full (checkpoint format 1): each
    encoder's options completed with its ``legacy_defaults``, the defaults it was trained under where
    they have changed since (an option the model set itself is kept)."""
    from .plugins import get_component

    changes = {}
    for key, kind, name in (("acoustic_config", "acoustic_encoder", config.acoustic_encoder),
                            ("text_config", "text_encoder", config.text_encoder)):
        if name is not None:
            legacy = getattr(get_component(kind, name).load(), "legacy_defaults", {})
            changes[key] = {**legacy, **getattr(config, key)}
    return dataclasses.replace(config, **changes)


def build_head(config: ModelConfig, audio_dim: int | None, text_dim: int | None, loss: LossConfig | None):
    """The model's fusion head; ``loss`` None builds it with the head's default loss (uniform weights)."""
    from .plugins import get_component

    component = get_component("fusion_head", config.head)
    dims = {"audio_dim": audio_dim, "text_dim": text_dim, "num_classes": len(config.labels)}
    if loss is None:
        return component.build(config.head_config, **dims)
    parameters = inspect.signature(component.load()).parameters
    if "loss" not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise ConfigError(f"fusion head {config.head!r} was written for the earlier head contract: its __init__ "
                          "takes no loss= argument, so it cannot be built with loss settings; add "
                          "`*, loss=None` to its __init__ and pass it on to FusionHead.__init__ "
                          "(see docs/plugin-guide.md)")
    return component.build(config.head_config, **dims, loss=loss)


_WARNED_LEGACY: set[type] = set()  # head classes already warned about (one DeprecationWarning each)


def head_output(head: nn.Module, out) -> HeadOutput:
    """A head's forward result as a HeadOutput; a ``(logits, loss)`` tuple (the earlier contract) is
    wrapped, with empty branches and attention and one DeprecationWarning per head class."""
    if isinstance(out, HeadOutput):
        return out
    name = getattr(head, "name", "") or type(head).__qualname__
    if isinstance(out, tuple) and len(out) == 2:
        if type(head) not in _WARNED_LEGACY:
            _WARNED_LEGACY.add(type(head))
            warnings.warn(f"fusion head {name!r} returns (logits, loss), the earlier head contract; return "
                          "fusion.components.HeadOutput(logits, loss, branches, attention) instead (its "
                          "branches and attention are not used until then; see docs/plugin-guide.md)",
                          DeprecationWarning, stacklevel=3)
        return HeadOutput(*out)
    raise ConfigError(f"fusion head {name!r} returned {type(out).__name__}; a head's forward returns "
                      "fusion.components.HeadOutput (see docs/plugin-guide.md)")


class EmotionModel(nn.Module):
    def __init__(self, config: ModelConfig, loss: LossConfig | None = None):
        """``loss``: the head's loss settings (None: uniform class weights, no label smoothing;
        :func:`fusion.training.trainer.train` sets those of its TrainConfig and training labels)."""
        super().__init__()
        self.config = config
        self.acoustic = build_component("acoustic_encoder", config.acoustic_encoder, config.acoustic_config) \
            if config.uses_audio else None
        self.text = build_component("text_encoder", config.text_encoder, config.text_config) \
            if config.uses_text else None
        self.head = build_head(config, self.acoustic.output_dim if self.acoustic is not None else None,
                               self.text.output_dim if self.text is not None else None, loss)
        self.speaker_prior: Moments | None = None  # training moments of the acoustic features (speaker_norm)

    # ------------------------------------------------------------------ speaker normalisation
    @property
    def normalizes_speakers(self) -> bool:
        """Whether this model's acoustic features are standardised per speaker (see fusion.speaker_norm)."""
        return bool(self.config.speaker_norm) and self.acoustic is not None

    def normalize_speakers(self, features: dict, groups: dict) -> dict:
        """Acoustic features (key -> [T, ...]) standardised by their group's moments (key -> group), shrunk
        towards this model's training moments; unchanged when the model does not normalise speakers."""
        if not self.normalizes_speakers or not features:
            return dict(features)
        if self.speaker_prior is None:
            raise CheckpointError("the model normalises speakers but holds no training moments (speaker_norm); "
                                  "retrain it or set speaker_norm.enabled=false")
        return normalize_by_group(features, groups, self.speaker_prior, float(self.config.speaker_norm["shrink"]))[0]

    @property
    def labels(self) -> tuple[str, ...]:
        return self.config.labels

    def encode(self, batch: Batch):
        audio = text = None
        if self.acoustic is not None and batch.audio is not None:
            audio = self.acoustic(batch.audio.float(), batch.audio_lengths)   # Encoded [B, Ta, Da]
        if self.text is not None and batch.text is not None:
            text = self.text(batch.text if not batch.text.is_floating_point() else batch.text.float(),
                             batch.text_lengths)                             # Encoded [B, Tt, Dt]
        return audio, text

    def run(self, batch: Batch, targets: Tensor | None = None) -> HeadOutput:
        """-> the head's output: logits [B, C], loss (None without targets), branches, attention."""
        audio, text = self.encode(batch)
        return head_output(self.head, self.head(audio, text, targets))

    def forward(self, batch: Batch, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """-> logits [B, C], loss (None without targets)."""
        out = self.run(batch, targets)
        return out.logits, out.loss

    def set_loss(self, loss: LossConfig) -> None:
        """Replace the head's loss settings (:meth:`fusion.heads.FusionHead.set_loss`)."""
        self.head.set_loss(loss)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> dict:
        """Config, weights and labels; the encoders' configs in full, so that a component default that
        changes later does not change what a saved model is."""
        config = self.config.to_dict()
        for key, encoder in (("acoustic_config", self.acoustic), ("text_config", self.text)):
            if encoder is not None:
                config[key] = config_dict(encoder.config)
        ckpt = {"format": CHECKPOINT_FORMAT, "config": config,
                "state_dict": self.state_dict(), "labels": list(self.labels)}
        if self.speaker_prior is not None:
            ckpt["speaker_norm"] = self.speaker_prior.to_dict()
        return ckpt

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "EmotionModel":
        try:
            config = ModelConfig.from_dict(ckpt["config"])
            if ckpt.get("format", 1) < 2:
                config = with_legacy_defaults(config)
            model = cls(config)
            model.load_state_dict(ckpt["state_dict"])
            if "speaker_norm" in ckpt:
                model.speaker_prior = Moments(ckpt["speaker_norm"]["mean"], ckpt["speaker_norm"]["var"])
        except KeyError as exc:
            raise CheckpointError(f"checkpoint is missing {exc}; expected keys config, state_dict, labels") from exc
        except RuntimeError as exc:
            raise CheckpointError(f"checkpoint weights do not fit the model: {str(exc).splitlines()[0]}") from exc
        model.eval()
        return model

    @classmethod
    def load(cls, path: str | Path) -> "EmotionModel":
        path = Path(path)
        file = path / "model.pt" if path.is_dir() else path
        if not file.exists():
            raise CheckpointError(f"{file} not found (expected a model directory written by `fusion train`)")
        try:
            ckpt = torch.load(file, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"{file}: cannot read checkpoint ({type(exc).__name__}: {exc})") from exc
        return cls.from_checkpoint(ckpt)
