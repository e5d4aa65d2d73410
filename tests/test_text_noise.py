"""fusion.text_noise: ASR-style corruption of a transcript (determinism, measured WER, error types,
look-alike substitutes, punctuation, edge cases, config errors) and word_error_rate."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fusion.errors import ConfigError
from fusion.text_noise import SoundAlikeVocabulary, TextNoiseConfig, asr_noise, word_edits, word_error_rate

WORDS = ("the my our a to and I you we they landlord laptop letter ladder sister neighbour bicycle happy "
         "really kept liked took moved brought painting kitchen manager concert review uncle trip tuesday "
         "yesterday week game happened told about bring will did see dare how oh so this that what never "
         "always window weather morning evening garden station ticket doctor teacher breakfast").split()


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    """400 synthetic sentences of 3-12 words with the punctuation of transcripts."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(400):
        words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(3, 13)))]
        if rng.random() < 0.3:
            words[0] += ","
        out.append(" ".join(words).capitalize() + str(rng.choice([".", "!", "?"])))
    return out


@pytest.fixture(scope="module")
def vocabulary(sentences) -> SoundAlikeVocabulary:
    return SoundAlikeVocabulary(sentences)


def test_the_same_generator_state_gives_the_same_copy(sentences, vocabulary):
    text = sentences[0]
    copies = [asr_noise(text, np.random.default_rng(seed), TextNoiseConfig(wer=0.5), vocabulary) for seed in range(6)]
    again = [asr_noise(text, np.random.default_rng(seed), TextNoiseConfig(wer=0.5), vocabulary) for seed in range(6)]
    assert copies == again
    assert len(set(copies)) > 1 and any(c != text for c in copies)  # the seed matters


@pytest.mark.parametrize("wer", [0.1, 0.3, 0.5])
def test_measured_wer_is_near_the_target(sentences, vocabulary, wer):
    cfg = TextNoiseConfig(wer=wer)
    noisy = [asr_noise(t, np.random.default_rng(n), cfg, vocabulary) for n, t in enumerate(sentences)]
    assert word_error_rate(sentences, noisy) == pytest.approx(wer, abs=0.035)


def test_zero_wer_without_punctuation_noise_is_the_text_itself(sentences, vocabulary):
    cfg = TextNoiseConfig(wer=0.0, exclamation=0.0, question=0.0, comma_drop=0.0, lower_first=0.0)
    rng = np.random.default_rng(0)
    assert [asr_noise(t, rng, cfg, vocabulary) for t in sentences] == sentences
    assert asr_noise("  Oh,   my  uncle! ", rng, cfg) == "Oh, my uncle!"  # whitespace normalised


def _scored(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_each_error_type_alone(sentences, vocabulary):
    def corrupted(**shares):
        cfg = TextNoiseConfig(wer=0.4, **{"substitution": 0.0, "deletion": 0.0, "insertion": 0.0, **shares},
                              exclamation=0.0, question=0.0, comma_drop=0.0, lower_first=0.0)
        return [(_scored(t), _scored(asr_noise(t, np.random.default_rng(n), cfg, vocabulary)))
                for n, t in enumerate(sentences)]

    def is_subsequence(short, long):
        it = iter(long)
        return all(w in it for w in short)

    subs = corrupted(substitution=1.0)
    assert all(len(a) == len(b) for a, b in subs) and any(a != b for a, b in subs)
    dels = corrupted(deletion=1.0)
    # (a sentence whose every word drew a deletion keeps its last word, misheard)
    assert all(1 <= len(b) <= len(a) and (is_subsequence(b, a) or len(b) == 1) for a, b in dels)
    assert sum(len(b) for _, b in dels) < sum(len(a) for a, _ in dels)
    ins = corrupted(insertion=1.0)
    assert all(len(b) >= len(a) and is_subsequence(a, b) for a, b in ins)
    inserted = [w for a, b in ins for w in b[len(a):]]  # not exactly the inserted ones, but all words of <= 3 letters
    assert sum(len(b) for _, b in ins) > sum(len(a) for a, _ in ins)
    assert inserted and all(w in vocabulary.counts for w in inserted)


def test_substitutes_look_alike_and_keep_the_case(vocabulary):
    cfg = TextNoiseConfig(wer=0.9, substitution=1.0, deletion=0.0, insertion=0.0, lower_first=0.0)
    heard_as = set()
    for seed in range(40):
        out = asr_noise("Landlord laptop letter", np.random.default_rng(seed), cfg, vocabulary).split()
        for original, heard in zip(["Landlord", "laptop", "letter"], out):
            assert heard[0] == original[0]  # same first letter, same case
            if heard != original:
                assert heard.lower() in vocabulary.counts and 3 <= len(heard) <= 10  # a similar length
                heard_as.add(heard.lower())
    assert {"ladder", "liked", "letter", "laptop"} <= heard_as  # several look-alikes, by frequency


def test_without_a_look_alike_a_letter_is_dropped():
    cfg = TextNoiseConfig(wer=0.9, substitution=1.0, deletion=0.0, insertion=0.0, exclamation=0.0)
    out = asr_noise("zebra!", np.random.default_rng(1), cfg, SoundAlikeVocabulary(["apple pie"]))
    assert out.endswith("!") and len(out) == len("zebra!") - 1 and set(out[:-1]) <= set("zebra")


def test_punctuation_noise(sentences, vocabulary):
    rng = np.random.default_rng(0)
    loud = TextNoiseConfig(wer=0.0, exclamation=1.0, question=1.0, comma_drop=1.0, lower_first=0.0)
    out = [asr_noise(t, rng, loud, vocabulary) for t in sentences]
    assert not any(ch in t for t in out for ch in "!?,") and all(t.endswith(".") for t in out)
    assert asr_noise("Really?!", rng, loud) == "Really."  # one full stop, not two
    assert [_scored(t) for t in out] == [_scored(t) for t in sentences]  # the words are untouched
    lower = TextNoiseConfig(wer=0.0, exclamation=0.0, question=0.0, comma_drop=0.0, lower_first=1.0)
    assert asr_noise("Oh, my uncle!", rng, lower) == "oh, my uncle!"
    assert asr_noise("I am happy.", rng, lower) == "I am happy."  # "I" keeps its capital
    # at the default rates some "!" survive and some become "."
    ends = [asr_noise("How dare you!", np.random.default_rng(n), TextNoiseConfig(wer=0.0)) for n in range(200)]
    assert {e[-1] for e in ends} == {"!", "."}


def test_empty_and_wordless_texts():
    rng = np.random.default_rng(0)
    for text in ("", "   ", "\n"):
        assert asr_noise(text, rng, TextNoiseConfig(wer=0.9)) == ""
    assert asr_noise(" ... ", rng, TextNoiseConfig(wer=0.9)) == "..."
    assert asr_noise("-- !", rng, TextNoiseConfig(wer=0.9, exclamation=1.0)) == "-- ."


def test_a_word_always_survives(vocabulary):
    cfg = TextNoiseConfig(wer=0.99, substitution=0.0, deletion=1.0, insertion=0.0)
    for seed in range(50):
        for text in ("Hello!", "Oh no, not again."):
            out = asr_noise(text, np.random.default_rng(seed), cfg, vocabulary)
            assert _scored(out), (text, out)


def test_vocabulary_counts_lower_cased_words_only():
    vocab = SoundAlikeVocabulary(["Hello, hello world!", "42 -- 'hello'"])
    assert vocab.counts == {"hello": 3, "world": 1} and len(vocab) == 2
    rng = np.random.default_rng(0)
    assert vocab.substitute("hello", rng) == ""  # nothing else starts with h
    assert {vocab.substitute("help", rng) for _ in range(5)} == {"hello"}
    assert SoundAlikeVocabulary([]).insertion(rng) in ("the", "a", "and", "to", "i")


@pytest.mark.parametrize("options, message", [
    ({"wer": 1.0}, r"text noise: wer must be in \[0, 1\), got 1.0"),
    ({"wer": -0.1}, r"text noise: wer must be in \[0, 1\)"),
    ({"wer": "0.3"}, r"text noise: wer must be in \[0, 1\), got '0.3'"),
    ({"wer": True}, r"text noise: wer must be in \[0, 1\)"),
    ({"deletion": -1}, r"text noise: deletion must be a share in \[0, 1\], got -1"),
    ({"substitution": 0, "deletion": 0, "insertion": 0}, r"at least one error type needs a share"),
    ({"exclamation": 1.5}, r"text noise: exclamation must be a probability in \[0, 1\], got 1.5"),
    ({"comma_drop": None}, r"text noise: comma_drop must be a probability in \[0, 1\]"),
])
def test_bad_config_is_a_config_error_naming_the_option(options, message):
    with pytest.raises(ConfigError, match=message):
        TextNoiseConfig(**options)


def test_error_probabilities_sum_to_the_wer():
    cfg = TextNoiseConfig(wer=0.2, substitution=0.4, deletion=0.2, insertion=0.2)  # shares are normalised
    assert cfg.error_probabilities == pytest.approx((0.1, 0.05, 0.05))
    assert isinstance(cfg.substitution, float)


@pytest.mark.parametrize("reference, hypothesis, edits", [
    ("How dare the landlord take my laptop!", "How dare the land order to take my lab?", 4),
    ("Really, my sister kept the letter?", "Really my sister kept the ladder.", 1),
    ("a b c", "a b c", 0),
    ("a b c", "", 3),
    ("", "a b", 2),
    ("Don't GO!", "don't go", 0),
])
def test_word_edits(reference, hypothesis, edits):
    assert word_edits(reference, hypothesis) == (edits, len(_scored(reference.replace("'", ""))))


def test_word_error_rate_over_a_corpus():
    assert word_error_rate(["a b c d", "e f"], ["a x c d", "e f g"]) == pytest.approx(2 / 6)
    assert word_error_rate([], []) == 0.0 and word_error_rate([""], ["a"]) == 0.0
    with pytest.raises(ValueError):
        word_error_rate(["a"], [])
