"""Generate the synthetic demo corpus (espeak-ng speech + template sentences).

    python -m fusion_corpora.demo.generate --out DIR [--seed 0] [--only N]

Every clip's label, speaker, sentence, espeak settings and recording settings come from
seeded draws (:mod:`.draw`), so a rerun reproduces ``manifest.jsonl`` exactly; the audio
bytes may differ between espeak-ng versions. ``--only N`` renders just the first N clips.

Evidence design (``extra.evidence``): for each emotional clip the emotion is carried by
``both`` channels, by the ``text`` only (flat voice) or by the ``audio`` only (plain
sentence); neutral clips (``none``) have a flat voice and a plain sentence. Neither channel
alone can tell a neutral clip from an emotional clip whose cue is in the other channel.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from fusion.data import Utterance, write_manifest

from . import grammar, prosody, synth
from .draw import Draw
from .recipe import MANIFEST

GENERATOR_INFO = "generator.json"


@dataclass(frozen=True)
class DemoSpec:
    """The shape of the corpus: how many clips of which kind."""

    clips_per_label: int = 10                      # per speaker and emotion
    # evidence mix of every (speaker, emotional label) cell: clips whose emotion is carried by
    # both channels / the text only / the audio only (sums to clips_per_label)
    evidence_counts: tuple[int, int, int] = (2, 4, 4)
    evidence_names: tuple[str, str, str] = ("both", "text", "audio")
    lead_s: tuple[float, float] = (0.10, 0.40)     # silence before speech, uniform
    tail_s: tuple[float, float] = (0.20, 0.60)     # silence after speech, uniform
    gain_db: tuple[float, float] = (-3.0, 0.0)     # recording level, uniform
    snr_db: tuple[float, float] = (15.0, 30.0)     # background noise level, uniform


@dataclass(frozen=True)
class ClipPlan:
    """Everything about one clip except its audio samples."""

    id: str
    index: int                     # position in the corpus; seeds the noise samples
    speaker: prosody.Speaker
    label: str
    evidence: str                  # "both" | "text" | "audio" | "none"
    sentence: grammar.Sentence
    voice: prosody.ClipVoice
    recording: synth.Recording

    @property
    def audio_path(self) -> str:
        return f"audio/{self.speaker.id}/{self.id}{synth.AUDIO_SUFFIX}"


def plan_corpus(seed: int = 0, spec: DemoSpec = DemoSpec()) -> list[ClipPlan]:
    """The ordered list of clips (speakers in order, clips shuffled within a speaker)."""
    plans = []
    if sum(spec.evidence_counts) != spec.clips_per_label:
        raise ValueError(f"demo spec: evidence_counts {spec.evidence_counts} must sum to clips_per_label "
                         f"({spec.clips_per_label})")
    for speaker in prosody.SPEAKERS:
        cells: list[tuple[str, str]] = []
        for label in grammar.EMOTIONS:
            if label == "neutral":
                cells += [(label, "none")] * spec.clips_per_label
                continue
            for name, count in zip(spec.evidence_names, spec.evidence_counts):
                cells += [(label, name)] * count
        order = Draw(seed, "order", speaker.id).shuffled(cells)
        for n, (label, evidence) in enumerate(order, 1):
            plans.append(plan_clip(f"demo_{speaker.id}_{n:03d}", len(plans), speaker, label, evidence, seed, spec))
    return plans


def plan_clip(clip_id: str, index: int, speaker: prosody.Speaker, label: str, evidence: str, seed: int,
              spec: DemoSpec) -> ClipPlan:
    draw = Draw(seed, clip_id)
    text_cue = evidence in ("both", "text")
    audio_cue = evidence in ("both", "audio")
    sentence = grammar.emotional_sentence(label, draw) if text_cue else grammar.plain_sentence(draw)
    voice = prosody.clip_voice(speaker, label, audio_cue, draw)
    recording = synth.Recording(
        lead_s=round(draw.uniform(*spec.lead_s), 2),
        tail_s=round(draw.uniform(*spec.tail_s), 2),
        gain_db=round(draw.uniform(*spec.gain_db), 1),
        noise=draw.pick(synth.NOISE_KINDS),
        snr_db=round(draw.uniform(*spec.snr_db), 1),
    )
    return ClipPlan(clip_id, index, speaker, label, evidence, sentence, voice, recording)


def manifest_row(plan: ClipPlan, duration: float | None) -> Utterance:
    extra = {
        "evidence": plan.evidence,
        "keywords": list(plan.sentence.keywords),
        "frame": plan.sentence.frame,
        **plan.voice.to_dict(),
        "recording": asdict(plan.recording),
    }
    return Utterance(id=plan.id, audio=Path(plan.audio_path), label=plan.label, speaker=plan.speaker.id,
                     transcript=plan.sentence.text, duration=duration, extra=extra)


def render(plan: ClipPlan, out_dir: Path, seed: int) -> float:
    """Synthesise, record and write one clip; returns its duration in seconds."""
    speech = synth.speak(plan.sentence.text, plan.voice.espeak)  # [S]
    if speech.size > synth.MAX_SECONDS * synth.SAMPLE_RATE:
        raise synth.SynthesisError(f"demo generator: {plan.id} speech lasts {speech.size / synth.SAMPLE_RATE:.2f} s, "
                                   f"over the {synth.MAX_SECONDS} s limit ({plan.sentence.text!r})")
    speech = synth.tilt(speech, plan.voice.tilt_db)  # [S]
    wav = synth.record(speech, plan.recording, noise_seed=(seed, plan.index))  # [S]
    synth.write_clip(out_dir / plan.audio_path, wav)
    return round(wav.size / synth.SAMPLE_RATE, 3)


def generate(out_dir: Path, seed: int = 0, only: int | None = None, progress=None) -> list[Utterance]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plans = plan_corpus(seed)
    if only is not None:
        plans = plans[:only]
    rows = []
    for n, plan in enumerate(plans, 1):
        rows.append(manifest_row(plan, render(plan, out_dir, seed)))
        if progress is not None:
            progress(n, len(plans))
    rows_abs = [replace(r, audio=out_dir / r.audio) for r in rows]
    write_manifest(rows_abs, out_dir / MANIFEST)
    info = {"seed": seed, "clips": len(rows), "espeak": synth.espeak_version(),
            "sample_rate": synth.SAMPLE_RATE, "format": "/".join(synth.AUDIO_FORMAT)}
    (out_dir / GENERATOR_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fusion_corpora.demo.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (manifest.jsonl + audio/)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every draw (0 = the committed corpus)")
    parser.add_argument("--only", type=int, default=None,
                        help="render only the first N clips (the manifest then lists those N)")
    args = parser.parse_args(argv)
    try:
        rows = generate(args.out, args.seed, args.only,
                        progress=lambda n, total: print(f"\r{n}/{total}", end="", file=sys.stderr, flush=True))
    except synth.SynthesisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\nwrote {len(rows)} clips to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
