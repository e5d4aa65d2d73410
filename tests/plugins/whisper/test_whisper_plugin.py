"""Both Whisper plugins register by "module:Class" path: listing them imports no heavy library."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import fusion

HEAVY = ("torch", "whisper", "faster_whisper", "ctranslate2")


def test_components_and_aliases_are_registered():
    assert fusion.get_transcriber("openai-whisper").target == "fusion_whisper.transcriber:WhisperTranscriber"
    assert fusion.get_acoustic_encoder("whisper").target == "fusion_whisper.encoder:WhisperEncoder"
    assert fusion.get_transcriber("ctranslate2").target == \
        "fusion_faster_whisper.transcriber:FasterWhisperTranscriber"


def test_registering_imports_no_model_library():
    check = ("import sys, json, fusion.plugins as p; regs = p.registries(); "
             f"print(json.dumps([[m for m in {HEAVY!r} if m in sys.modules], "
             "regs['transcriber'].names(), regs['acoustic_encoder'].names(), p.failure_report()]))")
    env = {**os.environ, "FUSION_LOAD_PLUGINS": "whisper,faster-whisper"}
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    imported, transcribers, encoders, failures = json.loads(done.stdout)
    assert imported == [] and failures == []
    assert {"whisper", "faster-whisper"} <= set(transcribers) and "whisper-encoder" in encoders
