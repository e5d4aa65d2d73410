"""examples/head_in_own_model.py: a fusion head inside the user's own nn.Module learns a task that
needs both modalities, and exposes its HeadOutput: logits, loss, branches and attention weights."""

from __future__ import annotations

import runpy
import subprocess
import sys

import pytest
import torch

from fusion.components import lengths_to_mask
from fusion.errors import UnknownComponentError
from fusion.heads import CrossAttentionHead, LateHead
from tests.conftest import ROOT

SCRIPT = ROOT / "examples" / "head_in_own_model.py"


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(SCRIPT))


def test_cross_attention_learns_the_fused_task(example, capsys):
    r = example["main"](["--head", "cross-attention", "--steps", "60"])
    losses = r["losses"]
    assert len(losses) == 60 and all(map(torch.isfinite, torch.tensor(losses)))
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:10]) / 10
    logits, labels = r["logits"], r["labels"]
    assert logits.shape == (256, 4) and r["eval_loss"] is None  # no targets -> no loss
    assert r["accuracy"] > 0.6  # chance: 0.25
    # each unimodal branch only sees one modality, so it cannot solve every sample
    assert set(r["branches"]) == {"audio", "text"}
    assert all(b.shape == (256, 4) for b in r["branches"].values())
    assert all(acc < r["accuracy"] for acc in r["branch_accuracy"].values())

    batch = r["batch"]
    a2t, t2a = r["attention"]["audio_to_text"], r["attention"]["text_to_audio"]
    ta, tt = batch["frames"].shape[1], batch["tokens"].shape[1]
    assert a2t.shape == (256, ta, tt) and t2a.shape == (256, tt, ta)
    token_mask = lengths_to_mask(batch["token_lengths"], tt)      # [B, Tt]
    assert torch.all(a2t.masked_select(~token_mask[:, None, :].expand_as(a2t)) == 0)  # padding never attended
    torch.testing.assert_close(a2t.sum(-1), torch.ones(256, ta), atol=1e-5, rtol=0)
    printed = capsys.readouterr().out
    assert f"cross-attention: held-out accuracy {r['accuracy']:.2f}" in printed
    assert f"attention['audio_to_text']: {tuple(a2t.shape)}" in printed


@pytest.mark.parametrize("head", ["concat", "gated", "late", "tensor"])
def test_every_head_fits_the_same_model(example, head):
    r = example["main"](["--head", head, "--steps", "40"])
    assert r["logits"].shape == (256, 4) and r["eval_loss"] is None
    assert sum(r["losses"][-10:]) < sum(r["losses"][:10])
    assert r["accuracy"] > 0.4
    assert (set(r["branches"]) == {"audio", "text"}) == (head == "late")


def test_the_model_uses_the_imported_head_class(example):
    model = example["MyEmotionModel"](LateHead)
    assert isinstance(model.head, LateHead) and model.head.num_classes == 4
    assert example["HEADS"]["cross-attention"] is CrossAttentionHead
    batch, labels = example["synthetic_batch"](5, torch.Generator().manual_seed(1))
    out = model(batch, labels)
    logits, loss = out.logits, out.loss
    assert logits.shape == (5, 4) and loss.ndim == 0
    loss.backward()
    assert model.audio.conv.weight.grad.abs().sum() > 0 and model.text.embedding.weight.grad.abs().sum() > 0


def test_synthetic_batch_is_padded_and_carries_the_label(example):
    batch, labels = example["synthetic_batch"](64, torch.Generator().manual_seed(0))
    tokens, frames = batch["tokens"], batch["frames"]
    for i in range(64):
        assert torch.all(tokens[i, batch["token_lengths"][i]:] == 0)
        assert torch.all(frames[i, batch["frame_lengths"][i]:] == 0)
        assert torch.all(tokens[i, :batch["token_lengths"][i]] > 0)
    keyword = (tokens == (labels + 1)[:, None]).any(1)  # the class keyword is in the text ...
    assert 0 < int(keyword.sum()) < 64  # ... for some samples only


def test_unknown_head(example):
    with pytest.raises(UnknownComponentError, match="unknown fusion head 'nope'; valid choices: concat, "
                                                    "cross-attention, gated, late, tensor"):
        example["main"](["--head", "nope"])
    run = subprocess.run([sys.executable, str(SCRIPT), "--head", "nope"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1 and run.stderr.startswith("error: unknown fusion head 'nope'")
    assert "Traceback" not in run.stderr
