"""The README's plugin section is enough to write a working encoder plugin.

The code blocks marked ``<!-- snippet: plugin-... -->`` in README.md are written into a temporary
package exactly as the README lays them out (each block's first line names its file), the package is
registered in-process under the entry point its pyproject snippet declares, and the encoder is built,
featurized and run forward, alone and through fusion's own feature pipeline. The README's prose about
the contract (``register`` signature, distribution name, defaults) is checked against the code.
"""

from __future__ import annotations

import ast
import importlib
import dataclasses
import inspect
import re
import sys
import tomllib
from pathlib import Path

import pytest
import torch

import fusion
from fusion import plugins
from fusion.components import AcousticEncoder, Encoded
from fusion.data import Utterance
from fusion.errors import ConfigError
from fusion.registry import make_register
from tests.conftest import ROOT, tone

README = ROOT / "README.md"
SNIPPET = re.compile(r"<!-- snippet: (?P<name>[\w-]+) -->\s*\n```(?P<lang>\w*)\n(?P<code>.*?)^```", re.S | re.M)


def snippets(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in SNIPPET.finditer(text):
        assert m["name"] not in found, f"README snippet {m['name']!r} appears twice"
        found[m["name"]] = m["code"]
    return found


def plugin_section(text: str) -> str:
    start = text.index("## Writing an encoder plugin")
    return text[start:text.index("\n## ", start + 1)]


def file_of(code: str) -> str:
    """The file a snippet belongs to, from its first line: ``# my_plugin/encoder.py``."""
    first = code.splitlines()[0]
    assert first.startswith("# ") and "." in first, f"snippet does not start with '# path': {first!r}"
    return first[2:].strip()


@pytest.fixture
def readme_plugin(tmp_path, monkeypatch):
    """The README's plugin package in tmp_path, registered as its entry point would register it."""
    code = snippets(README.read_text(encoding="utf-8"))
    for name in ("plugin-encoder", "plugin-hook", "plugin-pyproject", "plugin-use"):
        assert name in code, f"README.md lost the snippet {name!r}"
    pyproject = tomllib.loads(code["plugin-pyproject"])
    (entry_name, entry_module), = pyproject["project"]["entry-points"][plugins.ENTRY_POINT_GROUP].items()
    package = entry_module.split(".")[0]
    for name in ("plugin-encoder", "plugin-hook"):
        path = tmp_path / file_of(code[name])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code[name], encoding="utf-8")
    (tmp_path / package / "__init__.py").touch()
    assert (tmp_path / Path(*entry_module.split("."))).with_suffix(".py").is_file(), \
        f"the entry point {entry_module!r} names no module written by the README's snippets"

    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.load_plugins()
    assert not plugins.pm.has_plugin(entry_name)
    saved_failures = list(plugins.failures)
    module = importlib.import_module(entry_module)
    name = plugins.register_plugin(module, name=entry_name, distribution=pyproject["project"]["name"])
    try:
        yield {"name": name, "code": code, "pyproject": pyproject}
    finally:
        plugins.unregister_plugin(name)
        plugins.failures[:] = saved_failures
        for mod in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[mod]


def the_encoder(plugin_name: str):
    """The one acoustic encoder the README's plugin registers."""
    rows = {row["name"]: row for row in plugins.plugin_report()}
    assert not [f for f in plugins.failures if f.plugin == plugin_name], plugins.failures
    registered = rows[plugin_name]["components"]
    assert {kind: names for kind, names in registered.items() if names} == \
        {"acoustic_encoder": registered["acoustic_encoder"]}
    (name,) = registered["acoustic_encoder"]
    return fusion.get_acoustic_encoder(name)


def test_readme_plugin_registers_a_lazy_acoustic_encoder(readme_plugin):
    component = the_encoder(readme_plugin["name"])
    assert isinstance(component.target, str), "the README should register by 'module:Class'"
    for alias in component.aliases:
        assert fusion.get_acoustic_encoder(alias) is component
    assert component.description
    cls = component.load()
    assert issubclass(cls, AcousticEncoder)
    assert cls.name == component.name, "the class attribute `name` is the registered name"
    assert dataclasses.is_dataclass(cls.Config) and cls.Config.__dataclass_params__.frozen
    cls.Config()  # every field has a default


def test_readme_encoder_featurizes_and_runs_forward(readme_plugin):
    component = the_encoder(readme_plugin["name"])
    encoder = component.build()
    assert isinstance(encoder.output_dim, int) and encoder.output_dim > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(encoder.config, dataclasses.fields(encoder.config)[0].name, None)
    with pytest.raises(ConfigError, match="valid options"):
        component.build({"no_such_option": 1})
    key = encoder.featurize_key()
    assert key["name"] == component.name and key["config"] == dataclasses.asdict(encoder.config)

    sr = encoder.sample_rate
    clips = [torch.from_numpy(tone(1.0, sr=sr)), torch.from_numpy(tone(0.55, sr=sr, freq=330.0, seed=1))]
    encoder.eval()
    with torch.no_grad():
        feats = [encoder.featurize(wav) for wav in clips]                        # [T_i, ...]
    for f in feats:
        assert f.dim() >= 2 and f.shape[0] >= 1 and f.dtype == torch.float32 and torch.isfinite(f).all()
    assert feats[0].shape[1:] == feats[1].shape[1:] and feats[0].shape[0] > feats[1].shape[0]
    lengths = torch.tensor([f.shape[0] for f in feats])                          # [B]
    batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)             # [B, T, ...]

    out = encoder(batch, lengths)
    assert isinstance(out, Encoded)
    d = encoder.output_dim
    assert out.seq.dim() == 3 and out.seq.shape[0] == 2 and out.seq.shape[2] == d
    assert out.mask.dtype == torch.bool and out.mask.shape == out.seq.shape[:2]
    assert out.pooled.shape == (2, d) and out.dim == d
    assert (out.lengths >= 1).all() and out.lengths[0] > out.lengths[1]
    assert torch.isfinite(out.pooled).all()
    # the shorter clip gets the same embedding alone as padded inside the batch
    alone = encoder(feats[1][None], lengths[1:])
    torch.testing.assert_close(alone.pooled[0], out.pooled[1], atol=1e-5, rtol=1e-5)

    encoder.train()
    encoder(batch, lengths).pooled.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters()), "forward is trainable"


def test_readme_encoder_through_fusion_feature_pipeline(readme_plugin, make_wav):
    """Decoded, mixed down and resampled by fusion, featurized once, then read from the cache."""
    from fusion.features import acoustic_features

    encoder = the_encoder(readme_plugin["name"]).build()
    utterances = [
        Utterance("a", make_wav("a.wav", duration=0.8), "happy", "s1"),
        Utterance("b", make_wav("b.wav", duration=0.5, sr=44100, channels=2), "sad", "s2"),
    ]
    first = acoustic_features(utterances, encoder)
    assert first.errors == {} and first.computed == 2
    again = acoustic_features(utterances, encoder)
    assert again.cached == 2 and again.computed == 0
    for u in utterances:
        torch.testing.assert_close(again.features[u.id], first.features[u.id])
    assert first.features["a"].shape[0] > first.features["b"].shape[0]


def test_readme_use_snippet_runs(readme_plugin):
    namespace: dict = {}
    exec(compile(readme_plugin["code"]["plugin-use"], "README.md:plugin-use", "exec"), namespace)
    encoder, feats, out = namespace["encoder"], namespace["feats"], namespace["out"]
    assert out.seq.shape == (1, feats.shape[0], encoder.output_dim)
    assert out.pooled.shape == (1, encoder.output_dim)


def test_readme_pyproject_depends_on_fusion_ser():
    pyproject = tomllib.loads(snippets(README.read_text(encoding="utf-8"))["plugin-pyproject"])
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    deps = [re.split(r"[ <>=!~;\[]", d, maxsplit=1)[0] for d in pyproject["project"]["dependencies"]]
    assert ours in deps and "fusion" not in deps
    section = plugin_section(README.read_text(encoding="utf-8"))
    assert f"`{ours}`" in section and f"`{plugins.ENTRY_POINT_GROUP}` entry-point group" in section


def _documented_signature(text: str) -> inspect.Signature:
    m = re.search(r"`register\((?P<params>[^`]*)\)`", text)
    assert m, "the text does not state register(...)'s signature"
    tree = ast.parse(f"def register({m['params']}): pass")
    namespace: dict = {}
    exec(compile(tree, "<doc>", "exec"), namespace)
    return inspect.signature(namespace["register"])


def _without_annotations(sig: inspect.Signature) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("doc", [README, ROOT / "examples" / "custom-encoder-plugin" / "README.md"],
                         ids=["README", "example-README"])
def test_documented_register_signature_is_the_real_one(doc):
    real = inspect.signature(make_register("acoustic_encoder", "p", lambda component: None))
    assert _without_annotations(_documented_signature(doc.read_text(encoding="utf-8"))) == _without_annotations(real)


def test_readme_names_the_default_components():
    from fusion import experiment

    section = plugin_section(README.read_text(encoding="utf-8"))
    defaults = [experiment.DEFAULT_ACOUSTIC_ENCODER, experiment.DEFAULT_TRANSCRIBER,
                experiment.DEFAULT_TEXT_ENCODER, experiment.DEFAULT_HEAD]
    for name in defaults:
        assert f"`{name}`" in section, f"the plugin section does not name the default {name!r}"
