"""Simulated speech-recognition errors in a transcript: ASR-style noisy copies of training text.

A text model trained on gold transcripts meets speech-to-text output at test time (faster-whisper
tiny.en: about 30 % word errors on the demo corpus, 42 % on conversational speech), which drops,
swaps and invents words and loses the punctuation that carried emotion ("How dare the landlord take
my laptop!" -> "How dare the land order to take my lab?"). Training on copies of the transcripts
corrupted the way a recogniser corrupts them is the usual remedy for spoken-language understanding
models: simulated ASR errors as data augmentation, so the model does not learn to lean on words and
punctuation the recogniser will not deliver. This module is that corruption, written from the idea
(no recogniser, no confusion tables from one):

* :func:`asr_noise` corrupts one text at a target word error rate. Each word is deleted or replaced,
  and a word is inserted after it, with probabilities ``wer`` x the error type's share (substitutions
  dominate, as in recogniser output). A replacement *looks alike*: a word of the training transcripts
  with the same first letter and a similar length (:class:`SoundAlikeVocabulary`, one dictionary
  look-up per word), drawn by frequency; inserted words are short frequent ones ("the", "to", "a").
  Punctuation is degraded too: "!" and "?" become "." and commas vanish with their own
  probabilities, and the first letter may lose its capital. Everything random comes from the
  caller's ``numpy`` generator: the same generator state gives the same copy.
* :class:`TextNoiseConfig` holds those rates (validated; the ``augment.text_*`` options of an
  experiment, :class:`fusion.augment.AugmentConfig`).
* :func:`word_error_rate` measures what a corruption did (word edits / reference words after lower-
  casing and removing punctuation, the usual ASR scoring).

The default shares are close to what faster-whisper tiny.en does to the bundled demo corpus
(68 % substitutions, 28 % insertions mostly from one word heard as two, 4 % deletions; "!" -> "." 90 %
of the time, "?" -> "." 45 %) with more deletions, which conversational speech has more of.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .errors import ConfigError

_EDGE = string.punctuation + "“”‘’«»…—–"   # stripped from both ends of a token to find its word
_WORD = re.compile(r"\w+(?:['’]\w+)*")     # a word for scoring, keeping inner apostrophes ("don't")
_FALLBACK_INSERTIONS = ("the", "a", "and", "to", "i")  # without a vocabulary


@dataclass(frozen=True)
class TextNoiseConfig:
    """What :func:`asr_noise` may do to a transcript."""

    where: ClassVar[str] = "text noise"   # names the config in errors
    prefix: ClassVar[str] = ""            # how the options are spelt in errors (``augment``: "text_")

    wer: float = 0.3             # target word error rate: expected word edits per word, in [0, 1)
    substitution: float = 0.65   # share of the errors that replace a word (shares are normalised)
    deletion: float = 0.15       # share of the errors that drop a word
    insertion: float = 0.2       # share of the errors that insert a word
    exclamation: float = 0.8     # probability that a "!" becomes "."
    question: float = 0.4        # probability that a "?" becomes "."
    comma_drop: float = 0.2      # probability that a comma is dropped
    lower_first: float = 0.05    # probability that the text's first letter is lower-cased

    def __post_init__(self):
        bad = lambda option, rule, value: ConfigError(  # noqa: E731
            f"{self.where}: {self.prefix}{option} must be {rule}, got {value!r}")
        number = lambda value: not isinstance(value, bool) and isinstance(value, (int, float))  # noqa: E731
        if not number(self.wer) or not 0.0 <= self.wer < 1.0:
            raise bad("wer", "in [0, 1)", self.wer)
        for option in ("substitution", "deletion", "insertion"):
            value = getattr(self, option)
            if not number(value) or not 0.0 <= value <= 1.0:
                raise bad(option, "a share in [0, 1]", value)
        if self.substitution + self.deletion + self.insertion <= 0:
            raise ConfigError(f"{self.where}: {self.prefix}substitution, {self.prefix}deletion and "
                              f"{self.prefix}insertion are all 0; at least one error type needs a share")
        for option in ("exclamation", "question", "comma_drop", "lower_first"):
            value = getattr(self, option)
            if not number(value) or not 0.0 <= value <= 1.0:
                raise bad(option, "a probability in [0, 1]", value)
        for field in dataclasses.fields(self):  # floats throughout: equal configs compare and record equal
            object.__setattr__(self, field.name, float(getattr(self, field.name)))

    @property
    def error_probabilities(self) -> tuple[float, float, float]:
        """Per word: (substitution, deletion, insertion) probabilities, summing to ``wer``."""
        total = self.substitution + self.deletion + self.insertion
        return tuple(self.wer * share / total for share in (self.substitution, self.deletion, self.insertion))


def _split_token(token: str) -> tuple[str, str, str]:
    """"(well," -> ("(", "well", ","): leading punctuation, the word, trailing punctuation."""
    core = token.strip(_EDGE)
    if not core:
        return "", "", token  # punctuation alone: noised like a word's trailing punctuation
    start = token.index(core)
    return token[:start], core, token[start + len(core):]


def _look_alike_key(word: str) -> tuple[str, int]:
    """Words that share a key look (and roughly sound) alike: the first letter and a length class."""
    return word[:1], (min(len(word), 9) + 1) // 2   # 1-2 | 3-4 | 5-6 | 7-8 | 9+ letters


class SoundAlikeVocabulary:
    """The words of some texts (lower-cased, with their counts), bucketed by :func:`_look_alike_key`.

    Built in one pass over the texts; :meth:`substitute` and :meth:`insertion` draw in
    O(log bucket size). Tokens without a letter (numbers, symbols) are not words here."""

    def __init__(self, texts: Iterable[str]):
        cores = (_split_token(token)[1] for text in texts for token in text.split())
        counts = Counter(core.lower() for core in cores if any(ch.isalpha() for ch in core))
        buckets: dict[tuple[str, int], list[str]] = {}
        for word in sorted(counts):
            buckets.setdefault(_look_alike_key(word), []).append(word)
        self.counts = counts
        self._buckets = {key: (words, np.cumsum([counts[w] for w in words])) for key, words in buckets.items()}
        short = sorted(w for w in counts if len(w) <= 3)
        self._short = (short, np.cumsum([counts[w] for w in short])) if short else None

    def __len__(self) -> int:
        return len(self.counts)

    @staticmethod
    def _draw(words: list[str], cumulative: np.ndarray, rng: np.random.Generator, avoid: str | None = None) -> str:
        """A word of ``words`` (sorted) drawn by its count (``cumulative``: running totals), never
        ``avoid``; "" when nothing else is left."""
        lo = hi = 0  # the avoided word's range of counts [lo, hi)
        at = bisect.bisect_left(words, avoid) if avoid is not None else len(words)
        if at < len(words) and words[at] == avoid:
            lo, hi = (int(cumulative[at - 1]) if at else 0), int(cumulative[at])
        total = int(cumulative[-1]) - (hi - lo)
        if total <= 0:
            return ""
        x = int(rng.integers(total))
        if x >= lo:
            x += hi - lo  # step over the avoided word's counts
        return words[int(np.searchsorted(cumulative, x, side="right"))]

    def substitute(self, word: str, rng: np.random.Generator) -> str:
        """A different word that looks like ``word`` (same first letter; same length class, else the
        neighbouring ones), or "" when the vocabulary has none."""
        lower = word.lower()
        first, length = _look_alike_key(lower)
        for key in ((first, length), (first, length - 1), (first, length + 1)):
            if key in self._buckets:
                found = self._draw(*self._buckets[key], rng, avoid=lower)
                if found:
                    return found
        return ""

    def insertion(self, rng: np.random.Generator) -> str:
        """A short word (at most 3 letters) drawn by frequency: what a recogniser inserts most."""
        return _inserted(rng, self._short)


def _inserted(rng: np.random.Generator, short: tuple[list[str], np.ndarray] | None = None) -> str:
    if short is None:
        return _FALLBACK_INSERTIONS[int(rng.integers(len(_FALLBACK_INSERTIONS)))]
    return SoundAlikeVocabulary._draw(*short, rng)


def _misheard(word: str, rng: np.random.Generator, vocabulary: SoundAlikeVocabulary | None) -> str:
    """A look-alike of ``word`` in its case pattern; without one, ``word`` with a letter dropped."""
    found = vocabulary.substitute(word, rng) if vocabulary is not None else ""
    if not found:
        if len(word) > 1:
            at = int(rng.integers(len(word)))
            return word[:at] + word[at + 1:]
        return "a" if word.lower() != "a" else "I"
    return _cased(found, like=word)


def _cased(word: str, like: str) -> str:
    if word == "i" or (like[:1].isupper() and not like.isupper()) or (like.isupper() and len(like) == 1):
        return word[:1].upper() + word[1:]
    return word.upper() if like.isupper() else word


def _noisy_punctuation(trail: str, rng: np.random.Generator, cfg: TextNoiseConfig) -> str:
    out: list[str] = []
    for ch in trail:
        if ch == "!" and rng.random() < cfg.exclamation or ch == "?" and rng.random() < cfg.question:
            if out and out[-1] == ".":
                continue  # "?!" -> ".", not ".."
            ch = "."
        elif ch == "," and rng.random() < cfg.comma_drop:
            continue
        out.append(ch)
    return "".join(out)


def asr_noise(text: str, rng: np.random.Generator, cfg: TextNoiseConfig | None = None,
              vocabulary: SoundAlikeVocabulary | None = None) -> str:
    """``text`` as a recogniser might have heard it (see the module docstring); whitespace becomes single spaces.

    Per word, with ``cfg.error_probabilities`` (s, d, i): replaced by a look-alike from ``vocabulary``
    with probability s (without one, or when its bucket is empty: the word with a letter dropped),
    deleted with probability d, and followed by an inserted short word with probability i. A deleted
    word's trailing punctuation moves to the word before it; an inserted word takes the trailing
    punctuation of the word it follows. At least one word survives: a text whose every word drew a
    deletion keeps its last word, replaced instead. An empty or punctuation-only text comes back
    (with whitespace normalised) unchanged but for its punctuation noise.
    """
    cfg = cfg or TextNoiseConfig()
    p_sub, p_del, p_ins = cfg.error_probabilities
    tokens = [_split_token(t) for t in text.split()]  # (lead, word, trail)
    words = [n for n, (_, word, _) in enumerate(tokens) if word]
    error = {n: rng.random() for n in words}          # < p_del: deleted; < p_del + p_sub: replaced
    insert = {n: rng.random() < p_ins for n in words}  # a word inserted after it
    if words and all(error[n] < p_del for n in words):
        error[words[-1]] = 1.0
        replaced = {words[-1]}                         # the last word survives, misheard
    else:
        replaced = {n for n in words if p_del <= error[n] < p_del + p_sub}
    out: list[list[str]] = []
    for n, (lead, word, trail) in enumerate(tokens):
        if word and error[n] < p_del:
            if out:
                out[-1][2] += trail
            continue
        if n in replaced:
            word = _misheard(word, rng, vocabulary)
        out.append([lead, word, trail])
        if word and insert[n]:
            added = vocabulary.insertion(rng) if vocabulary is not None else _inserted(rng)
            out.append(["", _cased(added, like="x"), trail])
            out[-2][2] = ""
    noisy = " ".join(lead + word + _noisy_punctuation(trail, rng, cfg) for lead, word, trail in out)
    if noisy[:1].isupper() and not noisy.split(" ", 1)[0].isupper() and rng.random() < cfg.lower_first:
        noisy = noisy[0].lower() + noisy[1:]
    return noisy


def _scored_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def word_edits(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits from ``reference`` to ``hypothesis``, words in ``reference``), both lower-cased
    and without punctuation."""
    ref, hyp = _scored_words(reference), _scored_words(hypothesis)
    row = np.arange(len(hyp) + 1)  # edits from an empty reference prefix to each hypothesis prefix
    for n, word in enumerate(ref, 1):
        diagonal = row[:-1] + np.asarray([h != word for h in hyp], dtype=np.int64)
        row = np.concatenate(([n], np.minimum(row[1:] + 1, diagonal)))
        row = np.minimum.accumulate(row - np.arange(len(row))) + np.arange(len(row))  # insertions left to right
    return int(row[-1]), len(ref)


def word_error_rate(references: Iterable[str], hypotheses: Iterable[str]) -> float:
    """Corpus WER: all word edits / all reference words (0.0 with no reference words)."""
    edits = words = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        e, n = word_edits(reference, hypothesis)
        edits, words = edits + e, words + n
    return edits / words if words else 0.0
