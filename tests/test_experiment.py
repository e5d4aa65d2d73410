"""fusion.experiment: training items with augmented copies, and augment_inputs' checks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
import torch

from fusion import hookimpl
from fusion.augment import AugmentConfig
from fusion.components import AcousticEncoder
from fusion.data import Utterance
from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig, Inputs, augment_inputs


def _inputs(n=4, copies=2) -> Inputs:
    utts = [Utterance(id=f"u{i}", audio=None, label=("a", "b")[i % 2], speaker=f"s{i}") for i in range(n)]
    inputs = Inputs(utts, ("a", "b"))
    inputs.audio = {u.id: torch.full((3 + i, 2), float(i)) for i, u in enumerate(utts)}          # [T, 2]
    inputs.text = {u.id: torch.tensor([i + 1]) for i, u in enumerate(utts)}                      # [1]
    inputs.augmented = [{u.id: torch.full((2, 2), 100.0 * (c + 1) + i) for i, u in enumerate(utts)}  # [2, 2]
                        for c in range(copies)]
    return inputs


def test_train_items_add_the_copies_of_the_given_clips_only():
    inputs = _inputs()
    train = [0, 2]
    items = inputs.train_items(train, "audio")
    assert len(items) == 3 * len(train)
    assert items[:2] == inputs.items(train, "audio")  # the clips themselves first, unchanged
    assert [it["copy_of"] for it in items[2:]] == ["u0", "u2", "u0", "u2"]
    assert [it["label"] for it in items] == [0, 0] * 3
    assert all(it["text"] is None for it in items)
    assert torch.equal(items[2]["audio"], inputs.augmented[0]["u0"])
    assert torch.equal(items[5]["audio"], inputs.augmented[1]["u2"])
    assert all("copy_of" not in it for it in inputs.items([0, 1, 2, 3], "audio"))  # validation / test items


def test_fused_copies_keep_the_clip_transcript_and_text_mode_ignores_them():
    inputs = _inputs()
    fused = inputs.train_items([1, 3], "fused")
    assert len(fused) == 6
    for it, (copy, uid) in zip(fused[2:], [(0, "u1"), (0, "u3"), (1, "u1"), (1, "u3")]):
        assert it["copy_of"] == uid and it["audio"] is inputs.augmented[copy][uid]
        assert it["text"] is inputs.text[uid]  # the clip's own transcript features
    assert inputs.train_items([1, 3], "text") == inputs.items([1, 3], "text")


def test_without_copies_train_items_are_items():
    inputs = _inputs(copies=0)
    assert inputs.train_items([0, 1, 2], "fused") == inputs.items([0, 1, 2], "fused")
    partial = _inputs(copies=1)
    del partial.augmented[0]["u1"]  # a copy whose featurize failed is left out
    assert [it.get("copy_of") for it in partial.train_items([0, 1], "audio")] == [None, None, "u0"]


class NoWaveformEncoder(AcousticEncoder):
    """An acoustic encoder that does not featurize audio (the base class's featurize)."""

    name = "no-waveform"

    @dataclass(frozen=True)
    class Config:
        pass

    def __init__(self, config=None):
        super().__init__()
        self.config = config or self.Config()
        self.output_dim = 4


class NoWaveformPlugin:
    @hookimpl
    def register_acoustic_encoders(self, register):
        register("no-waveform", NoWaveformEncoder)


@pytest.fixture
def no_waveform_plugin():
    from fusion.plugins import register_plugin, unregister_plugin

    name = register_plugin(NoWaveformPlugin(), name="no-waveform")
    yield
    unregister_plugin(name)


def test_copies_need_an_encoder_with_a_waveform_featurize(no_waveform_plugin):
    inputs = _inputs(copies=0)
    cfg = ExperimentConfig(dataset="x", modes=("audio",), acoustic_encoder="no-waveform",
                           augment=AugmentConfig(copies=1))
    with pytest.raises(ConfigError, match=r"augment.copies=1: acoustic encoder 'no-waveform' has no waveform "
                                          r"featurize"):
        augment_inputs(cfg, inputs, [0, 1])
    augment_inputs(cfg.replace(augment=AugmentConfig()), inputs, [0, 1])  # off: no check, nothing added
    assert inputs.augmented == [] and "augment" not in inputs.stats


def test_text_only_experiments_ignore_the_option(no_waveform_plugin):
    inputs = _inputs(copies=0)
    cfg = ExperimentConfig(dataset="x", modes=("text",), acoustic_encoder="no-waveform",
                           augment=AugmentConfig(copies=2))
    augment_inputs(cfg, inputs, [0, 1])  # no encoder is built, nothing featurized
    assert inputs.augmented == [] and "augment" not in inputs.stats


# ---------------------------------------------------------------------- noisy-text copies (augment.text_copies)
def _with_text_copies(inputs: Inputs, copies: int = 1) -> Inputs:
    inputs.text_augmented = [{u.id: torch.tensor([50 * (c + 1) + i]) for i, u in enumerate(inputs.utterances)}  # [1]
                             for c in range(copies)]
    return inputs


def test_text_copies_are_added_in_text_and_fused_modes_only():
    inputs = _with_text_copies(_inputs(copies=1), copies=2)
    train = [0, 3]
    text = inputs.train_items(train, "text")
    assert text[:2] == inputs.items(train, "text") and len(text) == 6
    for it, (copy, uid) in zip(text[2:], [(0, "u0"), (0, "u3"), (1, "u0"), (1, "u3")]):
        assert it["copy_of"] == uid and it["text"] is inputs.text_augmented[copy][uid] and it["audio"] is None
    assert [it["label"] for it in text] == [0, 1] * 3
    # fused: the perturbed-audio copies (own transcript), then the noisy-text copies (own audio features)
    fused = inputs.train_items(train, "fused")
    assert len(fused) == 2 + 2 + 4
    for it, uid in zip(fused[2:4], ["u0", "u3"]):
        assert it["audio"] is inputs.augmented[0][uid] and it["text"] is inputs.text[uid]
    for it, (copy, uid) in zip(fused[4:], [(0, "u0"), (0, "u3"), (1, "u0"), (1, "u3")]):
        assert it["audio"] is inputs.audio[uid] and it["text"] is inputs.text_augmented[copy][uid]
    # audio mode reads no text: its items are the clips and their perturbed-audio copies only
    without = dataclasses.replace(inputs, text_augmented=[])
    assert inputs.train_items(train, "audio") == without.train_items(train, "audio")
    assert len(without.train_items(train, "audio")) == 4
    assert all("copy_of" not in it for it in inputs.items([0, 1, 2, 3], "fused"))  # validation / test items


def test_text_copies_in_an_audio_only_run_are_a_note_not_silence(no_waveform_plugin):
    inputs = _inputs(copies=0)
    logs = []
    cfg = ExperimentConfig(dataset="x", modes=("audio",), acoustic_encoder="no-waveform",
                           augment=AugmentConfig(text_copies=1))
    augment_inputs(cfg, inputs, [0, 1], log=logs.append)  # no encoder built, nothing featurized
    assert inputs.text_augmented == [] and "text_augment" not in inputs.stats
    assert logs == ["note: augment.text_copies=1 adds nothing: no mode of this run reads text"]
