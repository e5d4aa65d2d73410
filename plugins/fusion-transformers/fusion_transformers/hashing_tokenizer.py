"""A vocabulary-free tokenizer: lowercase words and their character n-grams hashed into buckets.

Ids: 0 = padding, 1 = ``<empty>`` (a transcript without any word still gives one token), 2.. =
hashed words / n-grams. Hashing uses blake2b, so ids are stable across processes and machines
(Python's ``hash`` is salted). Any Unicode text is accepted, including emoji, control characters
and lone surrogates from mis-decoded files; nothing is silently dropped except whitespace.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import torch
from torch import Tensor

PAD_ID = 0
EMPTY_ID = 1
FIRST_HASH_ID = 2

# A word (letters/digits, with inner apostrophes as in "don't") or any single other non-space character.
_TOKEN = re.compile(r"\w+(?:['\u2019\x92]\w+)*|[^\w\s]")


def words(text: str) -> list[str]:
    """NFC-normalised, lowercased word and symbol tokens of ``text``."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def char_ngrams(word: str, sizes: tuple[int, ...]) -> list[str]:
    """Character n-grams of ``<word>`` (boundary markers), grouped by size in the order given."""
    marked = f"<{word}>"
    return [marked[i:i + n] for n in sizes for i in range(len(marked) - n + 1)]


class HashingTokenizer:
    """text -> ids [T, 1 + max_ngrams]: per word, its own id then its first n-gram ids (0-padded)."""

    def __init__(self, buckets: int, max_tokens: int, ngram_sizes: tuple[int, ...], max_ngrams: int):
        self.buckets = buckets          # total id space, including PAD_ID and EMPTY_ID
        self.max_tokens = max_tokens    # words kept (the rest is truncated)
        self.ngram_sizes = ngram_sizes  # character n-gram lengths
        self.max_ngrams = max_ngrams    # n-gram ids kept per word

    @property
    def width(self) -> int:
        return 1 + self.max_ngrams

    def bucket(self, piece: str) -> int:
        digest = hashlib.blake2b(piece.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return FIRST_HASH_ID + int.from_bytes(digest, "little") % (self.buckets - FIRST_HASH_ID)

    def word_ids(self, word: str) -> list[int]:
        grams = char_ngrams(word, self.ngram_sizes)[: self.max_ngrams]
        ids = [self.bucket("w:" + word)] + [self.bucket("g:" + g) for g in grams]
        return ids + [PAD_ID] * (self.width - len(ids))

    def __call__(self, text: str) -> Tensor:
        tokens = words(text)[: self.max_tokens]
        if not tokens:
            row = [EMPTY_ID] + [PAD_ID] * self.max_ngrams
            return torch.tensor([row], dtype=torch.long)                        # [1, 1 + N]
        return torch.tensor([self.word_ids(w) for w in tokens], dtype=torch.long)  # [T, 1 + N]
