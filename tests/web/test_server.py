"""The web demo's HTTP server and JSON API in-process (no browser): pages, predictions, errors."""

from __future__ import annotations

import http.client
import io
import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
import soundfile as sf

from fusion.errors import ConfigError
from fusion.inference import Predictor
from fusion.web import Demo, DemoServer
from tests.conftest import tone
from tests.fakes import LABELS
from tests.web.demo_model import fakes_registered, train_demo_model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("web-api")
    with fakes_registered("fakes-web-api"):
        yield {"asr": train_demo_model(root), "gold": train_demo_model(root, transcriber="gold", name="gold-model")}


def start(demo: Demo) -> DemoServer:
    server = DemoServer(("127.0.0.1", 0), demo, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def server(models):
    predictor = Predictor(models["asr"], config={"long_threshold": 4.0})
    server = start(Demo(predictor, Demo.Config(max_upload_mb=1.0)))
    yield server.url
    server.shutdown()
    server.server_close()


def request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def wav_bytes(wav: np.ndarray, sr: int = 16000, fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wav, sr, format=fmt)
    return buf.getvalue()


def test_page_static_files_and_info(server):
    status, headers, body = request(server)
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b'id="chart"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name in ("app.js", "recorder.js", "style.css"):
        status, _, body = request(server + "static/" + name)
        assert status == 200 and len(body) > 100
    assert b"http" not in request(server + "static/style.css")[2]  # nothing fetched from elsewhere
    for path in ("static/../demo.py", "static/server.py", "etc/passwd", "api/nothing"):
        assert request(server + path)[0] == 404
    status, _, body = request(server + "api/info")
    info = json.loads(body)
    assert status == 200 and info["labels"] == list(LABELS) and info["mode"] == "fused"
    assert info["transcriber"] == "fake-asr" and info["needs_transcript"] is False


def test_predict_a_clip(server):
    status, _, body = request(server + "api/predict?name=my%20clip.flac", wav_bytes(tone(1.1, sr=44100), 44100, "FLAC"))
    doc = json.loads(body)
    assert status == 200, doc
    p = doc["prediction"]
    assert p["id"] == p["file"] == "my clip.flac" and p["label"] in LABELS and p["transcript"] == "unknown"
    assert sum(p["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert set(p["branches"]) == {"audio", "text"} and "segments" not in p
    assert p["duration"] == pytest.approx(1.1, abs=0.01)


def test_a_typed_transcript_is_used(server):
    query = "api/predict?name=a.wav&transcript=i%20feel%20delighted"
    status, _, body = request(server + query, wav_bytes(tone(0.8)))
    assert status == 200 and json.loads(body)["prediction"]["transcript"] == "i feel delighted"


def test_long_audio_gets_a_timeline(server):
    rng = np.random.default_rng(0)
    quiet = lambda s: 0.0005 * rng.standard_normal(int(16000 * s)).astype(np.float32)  # noqa: E731
    wav = np.concatenate([quiet(0.8), tone(1.5), quiet(1.2), tone(1.5, freq=440), quiet(0.8)])
    status, _, body = request(server + "api/predict?name=long.wav", wav_bytes(wav))
    p = json.loads(body)["prediction"]
    assert status == 200 and len(p["segments"]) == 2
    assert p["segments"][0]["start"] == pytest.approx(0.8, abs=0.2) and p["transcript"] == "unknown unknown"


@pytest.mark.parametrize("name, data, status, message", [
    ("notes.wav", b"not audio at all", 422, "notes.wav: not a readable audio file"),
    ("clip.webm", b"\x1aE\xdf\xa3" + b"\0" * 64, 422, "Readable formats: WAV"),
    ("empty.wav", b"", 400, "empty.wav: the upload is empty"),
    ("tiny.wav", None, 422, "shorter than the minimum"),  # 0.05 s
])
def test_bad_uploads_are_error_messages(server, name, data, status, message):
    if data is None:
        data = wav_bytes(tone(0.05))
    got, _, body = request(server + f"api/predict?name={name}", data)
    doc = json.loads(body)
    assert got == status and message in doc["error"] and "/tmp" not in doc["error"]


def test_too_large_and_bodiless_requests(server):
    host, port = server.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/api/predict?name=big.wav")
    connection.putheader("Content-Length", str(2 * 1024 * 1024))  # refused before any body byte is read
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "more than the 1 MB" in json.loads(response.read())["error"]
    connection.close()
    req = urllib.request.Request(server + "api/predict", method="POST")  # no body, no Content-Length
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=30)
    assert info.value.code in (400, 411)


def test_a_gold_model_asks_for_the_transcript(models):
    demo = Demo(Predictor(models["gold"]))
    assert demo.needs_transcript and demo.info()["needs_transcript"]
    reply = demo.predict(wav_bytes(tone(1.0)), "clip.wav")
    assert reply.status == 422 and "type the transcript" in reply.body["error"]
    reply = demo.predict(wav_bytes(tone(1.0)), "clip.wav", "i feel gloomy today")
    assert reply.status == 200 and reply.body["prediction"]["transcript"] == "i feel gloomy today"
    with pytest.raises(ConfigError, match="max_upload_mb"):
        Demo(Predictor(models["gold"]), Demo.Config(max_upload_mb=0))


def test_an_ensemble_is_served_with_averaged_probabilities(models):
    from fusion.inference import EnsemblePredictor

    clip = wav_bytes(tone(1.0))
    ens = EnsemblePredictor([models["asr"], models["gold"]])  # the gold model has no speech-to-text
    demo = Demo(ens, Demo.Config(warmup=False))
    info = demo.info()
    assert info["model"] == "demo-model + gold-model" and info["mode"] == "ensemble of 2: fused"
    assert info["needs_transcript"] and info["transcriber"] == "fake-asr"
    assert demo.predict(clip, "clip.wav").status == 422  # the gold member needs the transcript typed in
    reply = demo.predict(clip, "clip.wav", "i feel gloomy today")
    assert reply.status == 200 and reply.body["model"] == "demo-model + gold-model"
    members = [Demo(Predictor(m), Demo.Config(warmup=False)).predict(clip, "clip.wav", "i feel gloomy today")
               for m in (models["asr"], models["gold"])]
    for label, p in reply.body["prediction"]["probabilities"].items():
        assert p == pytest.approx(sum(m.body["prediction"]["probabilities"][label] for m in members) / 2, abs=1e-5)
    # with a transcriber for every member, uploads need no transcript
    reply = Demo(EnsemblePredictor([models["asr"], models["gold"]], transcriber="fake-asr"),
                 Demo.Config(warmup=False)).predict(clip, "clip.wav")
    assert reply.status == 200 and reply.body["prediction"]["transcript"] == "unknown"


def test_serve_ensemble_with_names_every_model(models, monkeypatch):
    from tests.reliability.entry_points import invoke

    def stop(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(DemoServer, "serve_forever", stop)
    result = invoke("serve", models["asr"], "--ensemble-with", models["gold"], "--port", "0", "--no-warmup",
                    "--quiet", "-t", "fake-asr")
    assert result.exit_code == 0, result.output
    assert f"serving {models['asr']} + {models['gold']} at http://127.0.0.1:" in result.output
    result = invoke("serve", models["asr"], "--ensemble-with", models["asr"].parent / "missing", "--port", "0")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("error:")], result.output
