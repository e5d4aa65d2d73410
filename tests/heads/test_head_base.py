"""The shared building blocks in fusion.heads.base: Pooling, modality_keep, check_config."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from fusion.errors import ConfigError
from fusion.heads.base import Pooling, check_config, modality_keep


@pytest.mark.parametrize("kind", ["attention", "mean"])
def test_pooling_ignores_padding_even_non_finite(kind):
    torch.manual_seed(0)
    pool = Pooling(kind, 5)
    seq = torch.randn(2, 4, 5)
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    reference = pool(seq, mask)
    seq_bad = seq.clone()
    seq_bad[1, 2:] = float("inf")
    torch.testing.assert_close(pool(seq_bad, mask), reference)
    torch.testing.assert_close(pool(seq[1:, :2], mask[1:, :2]), reference[1:])
    if kind == "mean":
        torch.testing.assert_close(reference[1], seq[1, :2].mean(0))


def test_encoder_pooling_needs_pooled():
    pool = Pooling("encoder", 3)
    pooled = torch.randn(2, 3)
    assert pool(torch.randn(2, 4, 3), torch.ones(2, 4, dtype=torch.bool), pooled) is pooled
    with pytest.raises(ConfigError, match="attention, mean"):
        pool(torch.randn(2, 4, 3), torch.ones(2, 4, dtype=torch.bool))


def test_modality_keep_never_drops_both():
    ref = torch.zeros(1)
    torch.manual_seed(0)
    keep_a, keep_t = modality_keep(4000, True, True, 0.5, True, ref)
    assert (keep_a | keep_t).all()
    assert abs((~keep_a).float().mean() - 0.25) < 0.03 and abs((~keep_t).float().mean() - 0.25) < 0.03
    keep_a, keep_t = modality_keep(10, True, True, 0.5, False, ref)  # eval: no dropout
    assert keep_a.all() and keep_t.all()
    keep_a, keep_t = modality_keep(10, False, True, 0.5, True, ref)  # missing audio: absent everywhere
    assert not keep_a.any() and keep_t.all()


def test_check_config_names_the_head_and_the_choices():
    @dataclass(frozen=True)
    class Config:
        hidden: int = 0
        dropout: float = 0.1
        pool: str = "max"

    with pytest.raises(ConfigError, match="'demo': hidden must be > 0"):
        check_config("demo", Config(), positive=("hidden",))
    with pytest.raises(ConfigError, match="valid choices: a, b"):
        check_config("demo", Config(), choices={"pool": ("a", "b")})
    with pytest.raises(ConfigError, match="hidden must be >= 0"):
        check_config("demo", Config(hidden=-1), non_negative=("hidden",))
    check_config("demo", Config(hidden=0), non_negative=("hidden",))  # 0 is fine there
    with pytest.raises(ConfigError, match="dropout"):
        check_config("demo", Config(dropout=1.0), fractions=("dropout",))
