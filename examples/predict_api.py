"""Emotion predictions from Python with a model directory written by `fusion train`.

    python examples/predict_api.py MODEL_DIR AUDIO_FILE
"""

import sys

import soundfile as sf

import fusion


def main(model_dir: str, audio_file: str) -> int:
    predictor = fusion.load(model_dir)  # model + transcriber loaded once; reuse it for every input

    p = predictor.predict(audio_file)  # a file path (wav, flac, ogg...; minutes-long files get a timeline)
    if not p.ok:
        print(f"{audio_file}: {p.error}")
        return 1
    print(f"{audio_file}: {p.label} ({p.top_probability:.2f}), per modality {p.branch_labels()}")
    if p.transcript is not None:
        print(f"  transcript: {p.transcript!r}")
    for seg in p.segments:
        print(f"  {seg.start:7.1f}-{seg.end:7.1f} s  {seg.label}")
    for warning in p.warnings:
        print(f"  warning: {warning}")

    wav, sr = sf.read(audio_file, dtype="float32")  # an array from anywhere: any rate, mono or stereo
    q = predictor.predict(wav, sr=sr)
    print("array:", q.label, {k: round(v, 2) for k, v in q.probabilities.items()})

    for r in predictor.predict_batch([audio_file, "missing.wav"]):  # a bad input never stops the batch
        print(f"  {r.id}: {r.label if r.ok else r.error}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
