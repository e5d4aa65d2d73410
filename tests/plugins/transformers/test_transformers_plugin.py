"""The plugin registers `transformers` (alias `hf`), `minilm` and `gru` lazily."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

import fusion
from fusion.components import TextEncoder
from fusion_transformers.hf_models import DEFAULT_MODEL


@pytest.mark.parametrize("name,canonical,cls_name", [
    ("transformers", "transformers", "TransformersTextEncoder"),
    ("hf", "transformers", "TransformersTextEncoder"),
    ("minilm", "minilm", "MiniLMTextEncoder"),
    ("gru", "gru", "GRUTextEncoder"),
])
def test_registered_names_resolve_to_text_encoders(name, canonical, cls_name):
    component = fusion.get_text_encoder(name)
    cls = component.load()
    assert component.name == canonical and component.plugin == "transformers"
    assert cls.__name__ == cls_name and issubclass(cls, TextEncoder) and cls.name == canonical
    assert dataclasses.is_dataclass(cls.Config) and cls.Config.__dataclass_params__.frozen
    assert component.description


def test_minilm_defaults_to_the_offline_minilm():
    cls = fusion.get_text_encoder("minilm").load()
    assert cls.Config().model == DEFAULT_MODEL and cls.Config().finetune_layers == 0


def test_unknown_option_lists_valid_ones():
    with pytest.raises(fusion.ConfigError, match="finetune_layers"):
        fusion.get_text_encoder("gru").build({"finetune_layers": 1})


def test_fusion_plugins_lists_them_without_importing_torch():
    code = ("import json, sys; from fusion.plugins import plugin_report;"
            "rows = plugin_report(); print(json.dumps({'rows': rows, 'torch': 'torch' in sys.modules}))")
    env = {**os.environ, "FUSION_LOAD_PLUGINS": "transformers"}
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    env=env).stdout)
    ours = [row for row in out["rows"] if row["name"] == "transformers"]
    assert ours and ours[0]["components"] == {"text_encoder": ["gru", "minilm", "mpnet", "transformers"],
                                              "transcriber": ["gold-context"]}
    assert out["torch"] is False
