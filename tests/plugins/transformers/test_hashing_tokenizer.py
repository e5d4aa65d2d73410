"""HashingTokenizer: words + character n-grams hashed into stable ids."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fusion_transformers.hashing_tokenizer import (
    EMPTY_ID, FIRST_HASH_ID, PAD_ID, HashingTokenizer, char_ngrams, words,
)


def make(buckets=1000, max_tokens=16, sizes=(3,), max_ngrams=4) -> HashingTokenizer:
    return HashingTokenizer(buckets, max_tokens, sizes, max_ngrams)


def test_words_lowercases_and_keeps_symbols_and_inner_apostrophes():
    assert words("I'm SO happy!! :)") == ["i'm", "so", "happy", "!", "!", ":", ")"]
    assert words("don\x92t") == ["don\x92t"]           # MELD's mis-encoded quote is kept, not cleaned
    assert words("  \n\t ") == []


def test_words_is_nfc_normalised():
    assert words("cafe\u0301") == words("caf\u00e9") == ["caf\u00e9"]


def test_char_ngrams_have_boundaries_and_follow_size_order():
    assert char_ngrams("ab", (3,)) == ["<ab", "ab>"]
    assert char_ngrams("ab", (2, 4)) == ["<a", "ab", "b>", "<ab>"]
    assert char_ngrams("a", (5,)) == []


def test_ids_shape_range_and_padding():
    tok = make(max_ngrams=4)
    ids = tok("hello a")
    assert ids.shape == (2, 5)
    hello, a = ids.tolist()
    assert all(FIRST_HASH_ID <= i < 1000 for i in hello)      # "<hello>" has 5 trigrams, 4 kept
    assert a[2:] == [PAD_ID] * 3 and all(i >= FIRST_HASH_ID for i in a[:2])  # word + "<a>"


def test_empty_text_gives_one_empty_token():
    for text in ("", "   ", "\n"):
        assert make()(text).tolist() == [[EMPTY_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID]]


def test_truncates_to_max_tokens():
    assert make(max_tokens=7)("word " * 2000).shape == (7, 5)


def test_same_word_same_ids_and_different_words_differ():
    tok = make(buckets=20000)
    a, b, c = tok("happy sad happy").tolist()
    assert a == c and a[0] != b[0]


@pytest.mark.parametrize("text", ["caf\u00e9", "\U0001F600\U0001F622", "don\x92t", "lone \udc92 surrogate", "\x00"])
def test_any_unicode_is_accepted(text):
    ids = make()(text)
    assert ids.shape[0] >= 1 and int(ids.min()) >= 0 and int(ids.max()) < 1000


def test_ids_are_stable_across_processes():
    """Python's str hash is salted per process; the ids must not be."""
    code = ("from fusion_transformers.hashing_tokenizer import HashingTokenizer as H;"
            "print(H(20000, 8, (3,), 4)('Happy caf\u00e9 day!').tolist())")
    seed = "4242" if os.environ.get("PYTHONHASHSEED") != "4242" else "4243"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
    assert other == str(HashingTokenizer(20000, 8, (3,), 4)("Happy caf\u00e9 day!").tolist())
