"""The ``gold-context`` transcriber: the corpus transcript preceded by previous turns of its dialogue.

It reads ``Utterance.extra["context"]`` (previous utterances of the same dialogue, oldest first,
each ``{"speaker": ..., "text": ...}``; the MELD recipe stores them, see its ``context`` option)
and writes the :mod:`~fusion_transformers.dialogue_context` form, which a ``transformers`` /
``minilm`` text encoder with ``context=True`` reads. ``Utterance.transcript`` is not changed:
the context exists only in the string handed to the text encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusion.data import Utterance
from fusion.errors import TranscriptionError
from fusion.transcripts import GoldTranscriber

from .dialogue_context import compose


class DialogueContextTranscriber(GoldTranscriber):
    """Gold transcript + the last ``turns`` previous turns of the dialogue (speaker-tagged)."""

    name = "gold-context"

    @dataclass(frozen=True)
    class Config:
        turns: int = 2             # previous turns of the same dialogue put before the utterance (0 = none)
        speakers: bool = True      # prefix each previous turn with its speaker ("Ross: ...")
        missing: str = "error"     # "error" | "empty": what to do when a row has no gold transcript

    def __init__(self, config: "DialogueContextTranscriber.Config | None" = None):
        super().__init__(config or self.Config())
        if self.config.turns < 0:
            raise TranscriptionError(f"transcriber {self.name!r}: turns must be >= 0, got {self.config.turns}")

    def transcribe_utterance(self, utt: Utterance) -> str:
        current = super().transcribe_utterance(utt)
        if self.config.turns == 0:
            return current
        if "context" not in utt.extra:
            raise TranscriptionError(f"transcriber {self.name!r}: utterance {utt.id!r} has no "
                                     "extra['context'] (previous turns); use a recipe that stores them "
                                     "(e.g. meld with option context=K) or transcriber 'gold'")
        previous = list(utt.extra["context"])[-self.config.turns:]
        turns = [f"{t['speaker']}: {t['text']}" if self.config.speakers else t["text"] for t in previous]
        return compose(turns, current)
