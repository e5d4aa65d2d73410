"""EmotionModel: collate/batch_to, ``run`` -> HeadOutput vs ``forward`` -> (logits, loss), loss settings
given at construction, and heads written for the earlier contract (a ``(logits, loss)`` tuple)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from fusion import hookimpl
from fusion.components import HeadOutput, LossConfig
from fusion.errors import ConfigError
from fusion.heads import FusionHead
from fusion.model import Batch, EmotionModel, ModelConfig, batch_to, collate
from fusion.plugins import register_plugin, unregister_plugin


def items(n: int = 4, seed: int = 0, text: bool = False) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [{"audio": torch.randn(5 + i, 8, generator=g),
             "text": torch.randint(1, 30, (2 + i % 3,), generator=g) if text else None, "label": i % 2}
            for i in range(n)]


class LegacyHead(FusionHead):
    """A third-party head written for the earlier contract: (logits, loss), branches in an attribute."""

    name: ClassVar[str] = "legacy"
    needs_audio: ClassVar[bool] = False
    needs_text: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Config:
        pass

    def __init__(self, config, audio_dim, text_dim, num_classes):
        super().__init__(config, audio_dim, text_dim, num_classes)
        self.linear = torch.nn.Linear(audio_dim, num_classes)

    def forward(self, audio, text, targets=None):
        logits = self.linear(audio.pooled)  # [B, C]
        self.branch_logits = {"audio": logits}
        return logits, None if targets is None else self.loss(logits, targets)


class LegacyHeldOutHead(LegacyHead):
    name: ClassVar[str] = "legacy-held-out"

    def fit_held_out(self, logits, branch_logits, targets):
        return {"logits": logits}


class NotAnOutputHead(LegacyHead):
    name: ClassVar[str] = "not-an-output"

    def forward(self, audio, text, targets=None):
        return self.linear(audio.pooled)  # a bare tensor


class HeadPlugin:
    @hookimpl
    def register_fusion_heads(self, register):
        for cls in (LegacyHead, LegacyHeldOutHead, NotAnOutputHead):
            register(cls.name, cls)


@pytest.fixture
def heads(fake_plugins):
    name = register_plugin(HeadPlugin(), name="legacy-heads")
    yield
    unregister_plugin(name)


def model(head: str = "unimodal", mode: str = "audio", loss: LossConfig | None = None, **head_config):
    text = {"text_encoder": "fake-bag"} if mode == "fused" else {}
    return EmotionModel(ModelConfig(mode=mode, labels=("neg", "pos"), acoustic_encoder="fake-frames", head=head,
                                    head_config=head_config, **text), loss=loss)


def test_collate_pads_and_keeps_lengths():
    batch, y = collate(items(4))
    assert batch.audio.shape == (4, 8, 8) and batch.text is None
    assert batch.audio_lengths.tolist() == [5, 6, 7, 8]
    assert torch.all(batch.audio[0, 5:] == 0)
    assert y.tolist() == [0, 1, 0, 1]


def test_batch_to_moves_every_tensor_and_keeps_absent_modalities():
    batch = Batch(audio=torch.zeros(2, 3, 4), audio_lengths=torch.tensor([3, 2]))
    moved = batch_to(batch, torch.device("meta"))
    assert moved.audio.device.type == "meta" and moved.audio_lengths.device.type == "meta"
    assert moved.text is None and moved.text_lengths is None
    assert batch.audio.device.type == "cpu"  # the original is untouched


def test_run_gives_the_head_output_and_forward_its_logits_and_loss(fake_plugins):
    torch.manual_seed(0)
    m = model("late", "fused").eval()
    batch, y = collate(items(4, text=True))
    out = m.run(batch, y)
    assert isinstance(out, HeadOutput) and set(out.branches) == {"audio", "text"}
    logits, loss = m(batch, y)
    assert torch.equal(logits, out.logits) and torch.equal(loss, out.loss)
    assert m(batch)[1] is None and m.run(batch).loss is None


def test_loss_settings_are_given_through_the_model(fake_plugins):
    batch, y = collate(items(4))
    torch.manual_seed(0)
    plain = model().eval()
    torch.manual_seed(0)
    smoothed = model(loss=LossConfig(label_smoothing=0.3)).eval()
    assert smoothed.head.loss_config.label_smoothing == 0.3 and plain.head.loss_config == LossConfig()
    assert not torch.isclose(smoothed(batch, y)[1], plain(batch, y)[1])
    plain.set_loss(LossConfig(label_smoothing=0.3))
    torch.testing.assert_close(plain(batch, y)[1], smoothed(batch, y)[1])


def test_a_head_returning_a_tuple_still_works_with_one_deprecation_warning(heads):
    m = model("legacy")
    batch, y = collate(items(4))
    with pytest.warns(DeprecationWarning, match="'legacy' returns \\(logits, loss\\).*HeadOutput") as caught:
        out = m.run(batch, y)
    assert len([w for w in caught if issubclass(w.category, DeprecationWarning)]) == 1
    assert out.logits.shape == (4, 2) and out.loss.ndim == 0
    assert out.branches == {} and out.attention == {}  # its branch_logits attribute is not read
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call does not warn again
        logits, loss = m(batch, y)
    torch.testing.assert_close(logits, out.logits)
    m.set_loss(LossConfig(label_smoothing=0.2))  # inherited from FusionHead: the trainer can set its loss
    assert m.head.label_smoothing == 0.2


def test_a_head_without_loss_argument_cannot_be_built_with_loss_settings(heads):
    with pytest.raises(ConfigError, match="'legacy' was written for the earlier head contract.*loss=None"):
        model("legacy", loss=LossConfig(label_smoothing=0.1))


def test_an_undeclared_held_out_stage_is_an_error_naming_the_change(heads):
    with pytest.raises(ConfigError, match="overrides fit_held_out but does not declare fits_held_out = True"):
        model("legacy-held-out")


def test_a_head_returning_something_else_is_a_clear_error(heads):
    m = model("not-an-output")
    with pytest.raises(ConfigError, match="'not-an-output' returned Tensor; a head's forward returns "
                                          "fusion.components.HeadOutput"):
        m.run(collate(items(2))[0])


# ---------------------------------------------------------------- checkpoints: encoder configs in full

def fake_audio_model(**options) -> EmotionModel:
    return EmotionModel(ModelConfig(mode="audio", labels=("a", "b"), acoustic_encoder="fake-frames",
                                    acoustic_config=options))


def test_a_checkpoint_writes_the_encoder_config_in_full(fake_plugins):
    from tests.fakes import FrameEnergyEncoder

    ckpt = fake_audio_model().checkpoint()
    assert ckpt["format"] == 2 and ckpt["config"]["acoustic_config"] == {"dim": FrameEnergyEncoder.Config().dim}
    assert EmotionModel.from_checkpoint(ckpt).acoustic.config == FrameEnergyEncoder.Config()


def test_a_model_saved_before_full_configs_loads_with_the_legacy_defaults(fake_plugins, monkeypatch):
    from fusion.errors import CheckpointError
    from tests.fakes import FrameEnergyEncoder

    old = fake_audio_model(dim=8).checkpoint()  # trained when dim's default was 8, saved as given: {}
    old["format"], old["config"]["acoustic_config"] = 1, {}
    with pytest.raises(CheckpointError, match="do not fit"):  # today's default (16) does not fit its weights
        EmotionModel.from_checkpoint(old)
    monkeypatch.setattr(FrameEnergyEncoder, "legacy_defaults", {"dim": 8}, raising=False)
    assert EmotionModel.from_checkpoint(old).acoustic.output_dim == 8
    set_by_itself = fake_audio_model(dim=4).checkpoint()
    set_by_itself["format"], set_by_itself["config"]["acoustic_config"] = 1, {"dim": 4}
    assert EmotionModel.from_checkpoint(set_by_itself).acoustic.output_dim == 4  # its own option wins
