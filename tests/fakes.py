"""In-process test plugins: tiny encoders, a transcriber and a synthetic corpus (numpy audio).

Registered with ``fusion.plugins.register_plugin`` by the ``fake_plugins`` fixture, exactly as an
entry-point plugin would register them.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import nn

from fusion import hookimpl
from fusion.components import AcousticEncoder, Encoded, TextEncoder, Transcriber, lengths_to_mask, masked_mean
from fusion.data import Utterance
from fusion.recipes import Corpus

LABELS = ("angry", "happy", "neutral", "sad")
WORDS = {"angry": "furious", "happy": "delighted", "neutral": "table", "sad": "gloomy"}


class FrameEnergyEncoder(AcousticEncoder):
    """Log energy of 8 bands per 20 ms frame -> linear projection."""

    name = "fake-frames"

    @dataclass(frozen=True)
    class Config:
        dim: int = 16  # output dimension

    def __init__(self, config=None):
        super().__init__()
        self.config = config or self.Config()
        self.output_dim = self.config.dim
        self.proj = nn.Linear(8, self.config.dim)

    def featurize(self, wav):
        frames = wav[: len(wav) // 320 * 320].reshape(-1, 320)         # [T, 320]
        spec = torch.fft.rfft(frames).abs()[:, :160]                    # [T, 160]
        bands = spec.reshape(spec.shape[0], 8, 20).mean(-1)             # [T, 8]
        return torch.log(bands + 1e-4)

    def forward(self, feats, lengths):
        seq = torch.tanh(self.proj(feats))                              # [B, T, D]
        mask = lengths_to_mask(lengths, feats.shape[1])                 # [B, T]
        return Encoded(seq, mask, masked_mean(seq, mask))


class HashBagEncoder(TextEncoder):
    """Hashed word ids -> embedding bag."""

    name = "fake-bag"

    @dataclass(frozen=True)
    class Config:
        dim: int = 16      # output dimension
        buckets: int = 64  # hash buckets

    def __init__(self, config=None):
        super().__init__()
        self.config = config or self.Config()
        self.output_dim = self.config.dim
        self.emb = nn.Embedding(self.config.buckets, self.config.dim, padding_idx=0)

    def featurize(self, text):
        ids = [1 + int(hashlib.md5(w.encode()).hexdigest(), 16) % (self.config.buckets - 1)
               for w in text.lower().split()] or [1]
        return torch.tensor(ids, dtype=torch.long)                      # [T]

    def forward(self, feats, lengths):
        seq = self.emb(feats)                                           # [B, T, D]
        mask = lengths_to_mask(lengths, feats.shape[1])
        return Encoded(seq, mask, masked_mean(seq, mask))


class EchoTranscriber(Transcriber):
    """Returns the gold transcript stored beside the audio file (``<clip>.txt``)."""

    name = "fake-asr"

    @dataclass(frozen=True)
    class Config:
        pass

    def __init__(self, config=None):
        self.config = config or self.Config()
        self.calls = 0

    def transcribe(self, wav, sr):
        EchoTranscriber.total_calls = getattr(EchoTranscriber, "total_calls", 0) + 1
        return "unknown"


def make_synthetic_corpus(root: Path, speakers: int = 6, per_label: int = 4, seed: int = 0,
                          text_informative: float = 0.5, audio_informative: float = 0.5) -> Path:
    """Tones whose pitch encodes the label (sometimes) + sentences whose word encodes it (sometimes)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    freqs = {"angry": 440.0, "happy": 330.0, "neutral": 220.0, "sad": 165.0}
    for s in range(speakers):
        for label in LABELS:
            for k in range(per_label):
                use_audio = rng.random() < audio_informative or label == "neutral"
                use_text = not use_audio or rng.random() < text_informative
                f = freqs[label] if use_audio else 220.0
                t = np.arange(int(16000 * rng.uniform(0.6, 1.2))) / 16000
                wav = 0.3 * np.sin(2 * np.pi * f * (1 + 0.02 * s) * t) + 0.02 * rng.standard_normal(t.size)
                name = f"spk{s}_{label}_{k}.wav"
                sf.write(root / name, wav.astype(np.float32), 16000)
                word = WORDS[label] if use_text else "something"
                rows.append(f"{name},{label},spk{s},i feel {word} today")
    (root / "manifest.csv").write_text("path,label,speaker,transcript\n" + "\n".join(rows) + "\n")
    return root


RAVDESS_TONES = {"01": 220.0, "02": 250.0, "03": 330.0, "04": 165.0, "05": 440.0}  # neutral calm happy sad angry


def make_fake_ravdess(root: Path, actors: tuple[str, ...] = ("01", "02", "03", "04")) -> Path:
    """RAVDESS' layout and names (``Actor_XX/03-01-EE-01-SS-RR-XX.wav``), one pitch per emotion, 4 clips
    per emotion and actor (statements x repetitions); five emotions, ``calm`` among them."""
    rng = np.random.default_rng(0)
    for actor in actors:
        folder = root / f"Actor_{actor}"
        folder.mkdir(parents=True, exist_ok=True)
        for emotion, freq in RAVDESS_TONES.items():
            for statement in ("01", "02"):
                for repetition in ("01", "02"):
                    t = np.arange(int(16000 * rng.uniform(0.5, 0.8))) / 16000
                    wav = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.01 * int(actor)) * t) + 0.02 * rng.standard_normal(t.size)
                    name = f"03-01-{emotion}-01-{statement}-{repetition}-{actor}.wav"
                    sf.write(folder / name, wav.astype(np.float32), 16000)
    return root


MELD_WORDS = {"anger": "furious", "joy": "delighted", "neutral": "table", "sadness": "gloomy", "fear": "scared"}
MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def make_fake_meld(root: Path, dialogues: int = 6) -> Path:
    """MELD's two CSVs (train, dev), text only, MELD's own label words; the word encodes the label."""
    root.mkdir(parents=True, exist_ok=True)
    for split, n_dialogues in (("train", dialogues), ("dev", max(2, dialogues // 3))):
        rows, n = [], 0
        for dia in range(n_dialogues):
            for utt, (label, word) in enumerate(MELD_WORDS.items()):
                n += 1
                rows.append(f'{n},i feel {word} today,Speaker{dia % 3},{label},neutral,{dia},{utt},1,1,'
                            '"00:00:01,000","00:00:02,000"\n')
        (root / f"{split}_sent_emo.csv").write_text(MELD_HEADER + "".join(rows), encoding="utf-8")
    return root


DAILYDIALOG_WORDS = {"0": "table", "1": "furious", "4": "delighted", "5": "gloomy"}  # no emotion anger happiness sadness


def make_fake_dailydialog(root: Path, dialogues: int = 6, test: bool = False) -> Path:
    """DailyDialog's files (train, validation, and test when asked): four turns per dialogue, the word
    encodes the label."""
    root.mkdir(parents=True, exist_ok=True)
    splits = [("train", dialogues), ("validation", max(2, dialogues // 3))] + [("test", 2)] * test
    for split, n_dialogues in splits:
        turns = " ".join(f"i feel {word} today . __eou__" for word in DAILYDIALOG_WORDS.values())
        (root / f"dialogues_{split}.txt").write_text(f"{turns}\n" * n_dialogues, encoding="utf-8")
        (root / f"dialogues_emotion_{split}.txt").write_text(f"{' '.join(DAILYDIALOG_WORDS)}\n" * n_dialogues,
                                                             encoding="utf-8")
    return root


def prepare_synthetic(data_dir) -> Corpus:
    import csv

    data_dir = Path(data_dir)
    out = []
    with open(data_dir / "manifest.csv") as f:
        for row in csv.DictReader(f):
            out.append(Utterance(id=Path(row["path"]).stem, audio=data_dir / row["path"], label=row["label"],
                                 speaker=row["speaker"], transcript=row["transcript"]))
    return Corpus(out)


class FakePlugin:
    """The in-process plugin object (a module would work the same way)."""

    @hookimpl
    def register_acoustic_encoders(self, register):
        register("fake-frames", FrameEnergyEncoder)

    @hookimpl
    def register_text_encoders(self, register):
        register("fake-bag", HashBagEncoder)

    @hookimpl
    def register_transcribers(self, register):
        register("fake-asr", EchoTranscriber)

    @hookimpl
    def register_datasets(self, register):
        register("synthetic", prepare_synthetic, protocol="speaker")


sys.modules.setdefault("tests.fakes", sys.modules[__name__])
