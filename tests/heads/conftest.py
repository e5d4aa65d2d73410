"""Synthetic :class:`Encoded` inputs for the head tests (no encoders, no audio)."""

from __future__ import annotations

import pytest
import torch

from fusion.components import Encoded, lengths_to_mask, masked_mean

AUDIO_DIM, TEXT_DIM, NUM_CLASSES = 32, 16, 4


class Synthetic:
    """Builders for Encoded batches; ``pooled`` is always the masked mean of ``seq``."""

    audio_dim, text_dim, num_classes = AUDIO_DIM, TEXT_DIM, NUM_CLASSES

    @staticmethod
    def encoded(seq: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        mask = lengths_to_mask(lengths, seq.shape[1])  # [B, T]
        seq = seq.masked_fill(~mask.unsqueeze(-1), 0.0)
        return Encoded(seq=seq, mask=mask, pooled=masked_mean(seq, mask))

    def random(self, batch: int, steps: int, dim: int, seed: int) -> Encoded:
        """Random features with random lengths in [1, steps] (one row always full length)."""
        gen = torch.Generator().manual_seed(seed)
        lengths = torch.randint(1, steps + 1, (batch,), generator=gen)
        lengths[0] = steps
        return self.encoded(torch.randn(batch, steps, dim, generator=gen), lengths)

    def pair(self, batch: int = 3, audio_steps: int = 12, text_steps: int = 7, seed: int = 0):
        return (self.random(batch, audio_steps, self.audio_dim, seed),
                self.random(batch, text_steps, self.text_dim, seed + 1))

    @staticmethod
    def with_garbage(x: Encoded, extra: int, seed: int = 99) -> Encoded:
        """Same valid content and pooled, ``extra`` more steps, and large garbage at every
        padded position (the mask is unchanged on the valid part)."""
        gen = torch.Generator().manual_seed(seed)
        batch, steps, dim = x.seq.shape
        mask = torch.cat([x.mask, torch.zeros(batch, extra, dtype=torch.bool)], dim=1)  # [B, T+extra]
        seq = 100 * torch.randn(batch, steps + extra, dim, generator=gen)              # [B, T+extra, D]
        seq[:, :steps][x.mask] = x.seq[x.mask]
        return Encoded(seq=seq, mask=mask, pooled=x.pooled.clone())

    def task(self, batch: int = 64, seed: int = 0, noise: float = 0.3):
        """Labels in 4 classes = 2 * (audio sign) + (text sign): recoverable only from both
        modalities. Audio carries its sign in feature 0, text in feature 0, plus noise."""
        gen = torch.Generator().manual_seed(seed)
        audio_bit = torch.randint(0, 2, (batch,), generator=gen)
        text_bit = torch.randint(0, 2, (batch,), generator=gen)
        audio_seq = noise * torch.randn(batch, 10, self.audio_dim, generator=gen)
        text_seq = noise * torch.randn(batch, 6, self.text_dim, generator=gen)
        audio_seq[..., 0] += 2.0 * audio_bit[:, None] - 1.0
        text_seq[..., 0] += 2.0 * text_bit[:, None] - 1.0
        audio = self.encoded(audio_seq, torch.randint(4, 11, (batch,), generator=gen))
        text = self.encoded(text_seq, torch.randint(2, 7, (batch,), generator=gen))
        return audio, text, audio_bit, text_bit


@pytest.fixture
def synth() -> Synthetic:
    torch.manual_seed(0)
    return Synthetic()


def train_losses(head, audio, text, targets, steps: int = 40, lr: float = 3e-3) -> list[float]:
    """Full-batch Adam steps; returns the loss before each step."""
    optimizer = torch.optim.Adam([p for p in head.parameters() if p.requires_grad], lr=lr)
    head.train()
    losses = []
    for _ in range(steps):
        loss = head(audio, text, targets).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.fixture
def train():
    return train_losses
