"""docs/plugin-guide.md: its example head runs as written, inside a model and through the trainer."""

from __future__ import annotations

import re

import torch

from fusion import hookimpl
from fusion.components import HeadOutput, LossConfig
from fusion.model import EmotionModel, ModelConfig, collate
from fusion.plugins import register_plugin, unregister_plugin
from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "plugin-guide.md"


def guide_namespace() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the plugin guide has no python example"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(GUIDE), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def test_the_guide_head_follows_the_protocol(fake_plugins):
    SumHead = guide_namespace()["SumHead"]

    class Plugin:
        @hookimpl
        def register_fusion_heads(self, register):
            register("sum", SumHead)

    name = register_plugin(Plugin(), name="guide-head")
    try:
        model = EmotionModel(ModelConfig(mode="fused", labels=("neg", "pos"), acoustic_encoder="fake-frames",
                                         text_encoder="fake-bag", head="sum"),
                             loss=LossConfig(label_smoothing=0.1))
        g = torch.Generator().manual_seed(0)
        items = [{"audio": torch.randn(4 + i, 8, generator=g), "text": torch.randint(1, 20, (3,), generator=g),
                  "label": i % 2} for i in range(6)]
        batch, targets = collate(items)
        out = model.run(batch, targets)
        assert isinstance(out, HeadOutput) and set(out.branches) == {"audio", "text"}
        torch.testing.assert_close(out.logits, out.branches["audio"] + out.branches["text"])
        assert model.head.label_smoothing == 0.1 and out.loss.ndim == 0
        audio_only = model.head(model.encode(batch)[0], None)
        torch.testing.assert_close(audio_only.logits, out.branches["audio"])
    finally:
        unregister_plugin(name)
