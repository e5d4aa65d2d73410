"""Dialogue context carried inside a transcript string, and its tokenization as a sentence pair.

A text encoder's ``featurize`` receives one string, so previous turns of a dialogue travel in it:
``"Ross: hi <turn> Rachel: what? <turn> Oh my god!"`` = context turns (oldest first) then the
utterance's own words, separated by :data:`TURN_SEP`. The ``gold-context`` transcriber writes this
form from ``Utterance.extra["context"]`` (the corpus transcript itself stays untouched); a
``transformers`` / ``minilm`` encoder with ``context=True`` reads it.

Tokenization: ``[CLS] context turns [SEP] current words [SEP]`` (the tokenizer's own pair
format). Whole turns are dropped, oldest first, until the pair fits ``max_length``; only when no
turn fits is the utterance itself truncated. A mask marks the tokens of the utterance (its words
and the closing special token), over which the encoder pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

TURN_SEP = " <turn> "  # between turns; never occurs in real transcripts


def compose(turns: Sequence[str], current: str) -> str:
    """Context turns (oldest first) + the utterance's own words -> one transcript string."""
    return TURN_SEP.join([*turns, current])


def split(text: str) -> tuple[list[str], str]:
    """Inverse of :func:`compose`: (context turns, current words). No separator: no context."""
    *turns, current = text.split(TURN_SEP)
    return [t for t in turns if t.strip()], current


def tokenize_with_context(tokenizer: Any, turns: Sequence[str], current: str,
                          max_length: int) -> tuple[dict[str, Tensor], Tensor]:
    """-> (model inputs with batch dim 1, is_current [T] bool).

    Without context (or when no turn fits), the utterance is tokenized alone and every token
    counts as its own (the same tokens and pooling as an encoder without context).
    """
    for first in range(len(turns)):  # drop the oldest turns until the pair fits
        enc = tokenizer(" ".join(turns[first:]), current, truncation=False, return_tensors="pt")
        if enc["input_ids"].shape[1] <= max_length:
            ids = enc.sequence_ids(0)
            is_current = torch.tensor([i == 1 for i in ids])          # [T]
            is_current[-1] = True                                     # the closing special token
            return dict(enc), is_current
    enc = tokenizer(current, truncation=True, max_length=max_length, return_tensors="pt")
    return dict(enc), torch.ones(enc["input_ids"].shape[1], dtype=torch.bool)  # [T]
