"""The web demo in a real browser: `fusion serve` as a subprocess, headless Chromium via Playwright.

Skips when Playwright or a Chromium binary is missing (CI installs Debian's chromium in .ci/run;
Playwright's own browser downloads are never used). Set FUSION_SCREENSHOT=docs/web-demo.png to
also save the long-recording result page there.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import tone
from tests.web.demo_model import fakes_registered, train_demo_model

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]  # a test-tone microphone
RUNNER = """
import sys
from fusion.plugins import register_plugin
from tests.fakes import FakePlugin
register_plugin(FakePlugin(), name="fakes")
from fusion.cli import main
main(sys.argv[1:])
"""
LONG_THRESHOLD = 4.0  # seconds; the server segments longer uploads


def chromium_path() -> str:
    for candidate in (os.environ.get("FUSION_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("no Chromium binary (apt-get install chromium, or set FUSION_CHROMIUM)")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A fused model trained on the synthetic corpus, transcribing with fake-asr."""
    with fakes_registered():
        return train_demo_model(tmp_path_factory.mktemp("web-model"))


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    """`fusion serve` on a free port (--port 0: the OS picks it, the URL is printed) -> base URL."""
    logs = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUSION_CACHE": str(logs / "cache")}
    env.pop("FUSION_DEBUG", None)
    stderr = open(logs / "stderr.txt", "w")
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, "serve", str(model_dir), "--host", "127.0.0.1",
                             "--port", "0", "--set", f"predict.long_threshold={LONG_THRESHOLD}"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        try:
            first = lines.get(timeout=120)
        except queue.Empty:
            first = ""
        if " at http://127.0.0.1:" not in first:
            proc.kill()
            pytest.fail(f"fusion serve did not start: {first!r}\n{(logs / 'stderr.txt').read_text()}")
        yield first.split(" at ", 1)[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=executable, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1000, "height": 900})
        yield context
        context.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server)
    expect(page.locator("#model-info")).to_contain_text("classes: angry, happy, neutral, sad")
    yield page
    page.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def predict(page, path: Path | None = None) -> tuple[int, dict | None]:
    """Choose ``path`` (or keep the recorded clip), click Predict -> (HTTP status, the API's JSON as the
    page shows it under "API response"; None after an error). The JSON is read from the page because
    Chromium does not keep the bodies of responses to uploads for the inspector."""
    if path is not None:
        page.set_input_files("#file", str(path))
    with page.expect_response(lambda r: "/api/predict" in r.url) as info:
        page.click("#predict")
    status = info.value.status
    expect(page.locator("#predict")).to_be_enabled()  # the page has handled the response
    if status != 200:
        return status, None
    return status, json.loads(page.locator("#raw-json").text_content())


def assert_bars_match(page, prediction: dict, labels: list[str]):
    series = {"fused": prediction["probabilities"], **prediction["branches"]}
    bars = page.locator("#chart .bar")
    assert bars.count() == len(labels) * len(series)
    for label in labels:
        for name, probs in series.items():
            bar = page.locator(f'#chart .bar[data-label="{label}"][data-series="{name}"]')
            assert float(bar.get_attribute("data-p")) == pytest.approx(probs[label], abs=1e-4)
            assert bar.locator(".pct").inner_text() == f"{100 * probs[label]:.1f}%"
            track, fill = bar.locator(".track").bounding_box(), bar.locator(".fill").bounding_box()
            assert fill["width"] == pytest.approx(probs[label] * track["width"], abs=2.0)  # really drawn


def test_upload_shows_label_transcript_and_probability_bars(page, tmp_path):
    clip = tmp_path / "happy-ish.wav"
    sf.write(str(clip), tone(1.2, freq=330), 16000)
    status, doc = predict(page, clip)
    assert status == 200, doc
    p = doc["prediction"]
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#label")).to_have_text(p["label"])
    expect(page.locator("#top-p")).to_have_text(f"{100 * p['probabilities'][p['label']]:.1f}%")
    expect(page.locator("#transcript-out")).to_have_text("unknown")  # what fake-asr hears
    expect(page.locator("#legend")).to_have_text("fusedaudiotext")
    assert_bars_match(page, p, doc["labels"])
    assert page.locator("#timeline-box").is_hidden()  # a short clip has no timeline
    expect(page.locator("#error")).to_be_hidden()


def test_typed_transcript_replaces_speech_to_text(page, tmp_path):
    clip = tmp_path / "clip.wav"
    sf.write(str(clip), tone(0.9, sr=22050, freq=165), 22050)
    page.fill("#transcript", "i feel gloomy today")
    status, doc = predict(page, clip)
    assert status == 200 and doc["prediction"]["transcript"] == "i feel gloomy today"
    expect(page.locator("#transcript-out")).to_have_text("i feel gloomy today")
    assert_bars_match(page, doc["prediction"], doc["labels"])


def long_recording(path: Path) -> None:
    """Four 1.6 s tones separated by 1 s of near-silence (11 s: above LONG_THRESHOLD)."""
    rng = np.random.default_rng(0)
    parts = []
    for freq in (440.0, 165.0, 330.0, 220.0):
        parts += [0.0005 * rng.standard_normal(16000).astype(np.float32), tone(1.6, freq=freq, seed=int(freq))]
    parts.append(0.0005 * rng.standard_normal(12800).astype(np.float32))
    sf.write(str(path), np.concatenate(parts), 16000)


def test_long_recording_shows_a_timeline(page, tmp_path):
    clip = tmp_path / "meeting.wav"
    long_recording(clip)
    status, doc = predict(page, clip)
    assert status == 200, doc
    segments = doc["prediction"]["segments"]
    assert len(segments) == 4  # one per tone
    expect(page.locator("#timeline-box")).to_be_visible()
    rows = page.locator("#timeline tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#timeline-strip rect")).to_have_count(4)
    for row, segment in zip(rows.all(), segments):
        cells = row.locator("td").all_inner_texts()
        assert cells[3] == segment["label"] and cells[6] == "unknown"
    expect(page.locator("#transcript-out")).to_have_text("unknown unknown unknown unknown")
    assert_bars_match(page, doc["prediction"], doc["labels"])
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FUSION_SCREENSHOT"):
        target = Path(os.environ["FUSION_SCREENSHOT"])
        target = target if target.is_absolute() else ROOT / target
        page.screenshot(path=str(target), full_page=True)


def test_a_bad_file_shows_an_error_message_and_the_page_recovers(page, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    status, _ = predict(page, bad)
    assert status == 422
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("notes.wav: not a readable audio file")
    expect(page.locator("#result")).to_be_hidden()
    good = tmp_path / "good.wav"
    sf.write(str(good), tone(1.0), 16000)
    status, _ = predict(page, good)
    assert status == 200
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#result")).to_be_visible()


def test_recording_from_the_microphone_is_sent_as_wav(page):
    page.click("#record")
    expect(page.locator("#stop")).to_be_enabled()
    expect(page.locator("#rec-time")).to_contain_text("recording 1.")  # let the fake microphone run ~1 s
    page.click("#stop")
    expect(page.locator("#file-name")).to_have_text("recording.wav")
    status, doc = predict(page)
    assert status == 200, doc
    assert 0.5 <= doc["prediction"]["duration"] <= 5.0  # ~1 s of the fake microphone, decoded by soundfile
    expect(page.locator("#label")).to_have_text(doc["prediction"]["label"])
