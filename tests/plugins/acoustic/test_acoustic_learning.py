"""Each encoder + a linear layer learns to tell a 200 Hz tone from a 400 Hz tone in a few dozen steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.conftest import tone
from tests.plugins.acoustic.helpers import ENCODERS, build, pad

FREQS = (200.0, 400.0)  # class 0, class 1


def tone_batch(encoder, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Featurized tones of random length (0.2-0.8 s), loudness and noise seed; labels [B]."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size)
    feats = [encoder.featurize(torch.from_numpy(tone(float(rng.uniform(0.2, 0.8)), freq=FREQS[label],
                                                     amp=float(rng.uniform(0.05, 0.5)),
                                                     seed=int(rng.integers(1 << 30)))))
             for label in labels]
    padded, lengths = pad(feats)
    return padded, lengths, torch.from_numpy(labels)


@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_learns_two_tones(name):
    encoder = build(name, seed=0)
    classifier = nn.Linear(encoder.output_dim, 2)
    params = [*encoder.parameters(), *classifier.parameters()]
    optimizer = torch.optim.Adam(params, lr=3e-3)
    train = [tone_batch(encoder, 8, seed) for seed in range(4)]
    losses = []
    encoder.train()
    for step in range(30):
        feats, lengths, labels = train[step % len(train)]
        loss = F.cross_entropy(classifier(encoder(feats, lengths).pooled), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses

    encoder.eval()
    feats, lengths, labels = tone_batch(encoder, 16, seed=100)  # unseen clips
    with torch.no_grad():
        predicted = classifier(encoder(feats, lengths).pooled).argmax(1)
    assert (predicted == labels).float().mean() >= 0.9
