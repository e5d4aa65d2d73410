"""What is exported: the trainable classifier of an :class:`~fusion.model.EmotionModel` as a graph
of plain tensors, and the Python preprocessing that makes its inputs.

``EmotionModel.run`` takes a :class:`~fusion.model.Batch` and returns a
:class:`~fusion.components.HeadOutput`; exporters need tensors in and tensors out.
:func:`classifier_graph` wraps the model so that

* inputs (by the model's mode, in this order), all zero-padded on the time axis:
  ``audio`` [B, Ta, ...] (the acoustic encoder's ``featurize`` output, float32),
  ``audio_lengths`` [B] (int64), ``text`` [B, Tt, ...] (the text encoder's ``featurize`` output:
  int64 token ids or float32 frozen states), ``text_lengths`` [B] (int64);
* outputs: ``probabilities`` [B, C] (softmax of the logits, classes in ``labels`` order) and, for
  fused models whose head declares ``has_branches`` (cross-attention, late), ``audio_probabilities``
  and ``text_probabilities`` [B, C].

The frozen ``featurize`` part (log-mel, frozen Whisper states, tokenizer, frozen MiniLM states) is
*not* exported: it stays in Python and is the documented preprocessing step, :func:`graph_inputs`
(decoded 16 kHz mono audio and transcripts -> the padded input tensors by name).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..audio import TARGET_SR, resample
from ..errors import ConfigError
from ..model import Batch, EmotionModel, pad_sequences
from ..speaker_norm import group_of

BRANCHES = ("audio", "text")  # order of the per-branch outputs
INPUTS = {  # mode -> graph input names, in positional order
    "audio": ("audio", "audio_lengths"),
    "text": ("text", "text_lengths"),
    "fused": ("audio", "audio_lengths", "text", "text_lengths"),
}


class ClassifierGraph(nn.Module):
    """Base of the per-mode wrappers: Batch -> (probabilities, *branch probabilities)."""

    def __init__(self, model: EmotionModel, branches: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.branches = branches  # which head branches become outputs

    @property
    def input_names(self) -> tuple[str, ...]:
        return INPUTS[self.model.config.mode]

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("probabilities", *(f"{name}_probabilities" for name in self.branches))

    def scores(self, batch: Batch) -> tuple[Tensor, ...]:
        out = self.model.run(batch)
        outputs = [out.logits.float().softmax(dim=-1)]                      # [B, C]
        outputs += [out.branches[name].float().softmax(dim=-1) for name in self.branches]  # [B, C] each
        return tuple(outputs)


class AudioGraph(ClassifierGraph):
    def forward(self, audio: Tensor, audio_lengths: Tensor) -> tuple[Tensor, ...]:
        return self.scores(Batch(audio=audio, audio_lengths=audio_lengths))


class TextGraph(ClassifierGraph):
    def forward(self, text: Tensor, text_lengths: Tensor) -> tuple[Tensor, ...]:
        return self.scores(Batch(text=text, text_lengths=text_lengths))


class FusedGraph(ClassifierGraph):
    def forward(self, audio: Tensor, audio_lengths: Tensor, text: Tensor,
                text_lengths: Tensor) -> tuple[Tensor, ...]:
        return self.scores(Batch(audio=audio, audio_lengths=audio_lengths, text=text, text_lengths=text_lengths))


GRAPHS = {"audio": AudioGraph, "text": TextGraph, "fused": FusedGraph}


def graph_inputs(model: EmotionModel, wavs: Sequence[np.ndarray] | None = None,
                 texts: Sequence[str] | None = None, speakers: Sequence[str] | None = None) -> dict[str, Tensor]:
    """The preprocessing step: decoded audio (float32 mono at 16 kHz, e.g. from ``fusion.audio.load``)
    and transcripts -> the graph's inputs by name (the modalities the model's mode needs).

    A model with speaker normalisation standardises the clips of one speaker together (``speakers``,
    one name per clip; None: all the clips form one group, as ``fusion predict`` does without speakers)."""
    out: dict[str, Tensor] = {}
    with torch.no_grad():
        if model.acoustic is not None:
            if wavs is None:
                raise ConfigError(f"export preprocessing: a {model.config.mode!r} model needs audio "
                                  "(wavs=[...])")
            rate = model.acoustic.sample_rate
            feats = [model.acoustic.featurize(torch.from_numpy(np.ascontiguousarray(
                resample(np.asarray(w, dtype=np.float32), TARGET_SR, rate)))) for w in wavs]  # [Ta, ...] each
            groups = {n: group_of(speakers[n] if speakers else None) for n in range(len(feats))}
            normalized = model.normalize_speakers(dict(enumerate(feats)), groups)  # unchanged without speaker_norm
            feats = [normalized[n] for n in range(len(feats))]
            out["audio"], out["audio_lengths"] = pad_sequences([f.float() for f in feats])  # [B, Ta, ...], [B]
        if model.text is not None:
            if texts is None:
                raise ConfigError(f"export preprocessing: a {model.config.mode!r} model needs transcripts "
                                  "(texts=[...])")
            out["text"], out["text_lengths"] = pad_sequences([model.text.featurize(t) for t in texts])  # [B, Tt, ...]
    return out


def synthetic_inputs(model: EmotionModel, durations: Sequence[float], words: Sequence[int],
                     seed: int = 0) -> dict[str, Tensor]:
    """Graph inputs for made-up clips (noisy tones of ``durations`` seconds, sentences of ``words``
    words): the example an exporter traces, and the batches its output is checked on."""
    rng = np.random.default_rng(seed)
    wavs = []
    for n, seconds in enumerate(durations):
        t = np.arange(int(seconds * TARGET_SR)) / TARGET_SR                           # [S]
        tone = 0.3 * np.sin(2 * np.pi * (150 + 40 * n) * t) + 0.02 * rng.standard_normal(t.size)
        wavs.append(tone.astype(np.float32))
    vocabulary = ("i", "really", "feel", "great", "today", "but", "the", "weather", "is", "awful")
    texts = [" ".join(vocabulary[(n + k) % len(vocabulary)] for k in range(count)) for n, count in enumerate(words)]
    return graph_inputs(model, wavs, texts)


def classifier_graph(model: EmotionModel) -> ClassifierGraph:
    """The exportable wrapper of ``model`` (set to eval mode); a fused model whose head declares
    ``has_branches`` also outputs both branches' probabilities."""
    model.eval()
    branches = BRANCHES if model.config.mode == "fused" and model.head.has_branches else ()
    return GRAPHS[model.config.mode](model, branches).eval()
