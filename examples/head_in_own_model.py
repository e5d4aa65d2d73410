"""Use a fusion head inside your own PyTorch model: your encoders, fusion's head.

    python examples/head_in_own_model.py [--head cross-attention] [--steps 150]

Two tiny encoders (a 1-D conv over audio frames, an embedding bag over token ids) turn padded
batches into :class:`fusion.components.Encoded`; the head takes both and returns a
:class:`fusion.components.HeadOutput` (``logits``, ``loss``, ``branches``, ``attention``), built with
its loss settings (``loss=LossConfig(...)``). The synthetic task can only be solved by fusing: every
sample carries its class in the audio frames *or* in one keyword token (sometimes both). After
training the script shows the output's ``branches`` (one unimodal classifier per modality, for the
heads that declare ``has_branches``) and its ``attention`` weights (cross-attention, filled in eval
mode: ``audio_to_text`` [B, Ta, Tt], each row a distribution over the valid tokens; the gated head
shows its gate there).
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import Tensor, nn

from fusion.components import Encoded, HeadOutput, LossConfig, lengths_to_mask, masked_mean
from fusion.errors import FusionError, UnknownComponentError
from fusion.heads import ConcatHead, CrossAttentionHead, GatedHead, LateHead, TensorHead

HEADS = {cls.name: cls for cls in (CrossAttentionHead, ConcatHead, GatedHead, LateHead, TensorHead)}
CLASSES = 4
FEATURES = 12    # audio features per frame
VOCABULARY = 50  # token ids 1..49; 0 is padding; ids 1..CLASSES are the keywords


class FrameEncoder(nn.Module):
    """Audio frames [B, T, F] -> Encoded (1-D conv over time, masked mean)."""

    def __init__(self, features: int, dim: int):
        super().__init__()
        self.output_dim = dim
        self.conv = nn.Conv1d(features, dim, kernel_size=3, padding=1)

    def forward(self, frames: Tensor, lengths: Tensor) -> Encoded:
        mask = lengths_to_mask(lengths, frames.shape[1])                      # [B, T]
        frames = frames.masked_fill(~mask.unsqueeze(-1), 0.0)                  # [B, T, F]
        seq = torch.relu(self.conv(frames.transpose(1, 2))).transpose(1, 2)   # [B, T, D]
        return Encoded(seq, mask, masked_mean(seq, mask))


class TokenEncoder(nn.Module):
    """Token ids [B, T] (0 = padding) -> Encoded (embeddings, masked mean)."""

    def __init__(self, vocabulary: int, dim: int):
        super().__init__()
        self.output_dim = dim
        self.embedding = nn.Embedding(vocabulary, dim, padding_idx=0)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Encoded:
        mask = lengths_to_mask(lengths, tokens.shape[1])                      # [B, T]
        seq = self.embedding(tokens)                                           # [B, T, D]
        return Encoded(seq, mask, masked_mean(seq, mask))


class MyEmotionModel(nn.Module):
    """The user's model: own encoders, a fusion head on top."""

    def __init__(self, head_class: type, audio_dim: int = 32, text_dim: int = 24):
        super().__init__()
        self.audio = FrameEncoder(FEATURES, audio_dim)
        self.text = TokenEncoder(VOCABULARY, text_dim)
        self.head = head_class(head_class.Config(), audio_dim=audio_dim, text_dim=text_dim, num_classes=CLASSES,
                               loss=LossConfig(label_smoothing=0.0))  # class_weights=(...) for imbalanced data

    def forward(self, batch: dict, targets: Tensor | None = None) -> HeadOutput:
        audio = self.audio(batch["frames"], batch["frame_lengths"])  # Encoded [B, Ta, 32]
        text = self.text(batch["tokens"], batch["token_lengths"])    # Encoded [B, Tt, 24]
        return self.head(audio, text, targets)  # logits [B, C], loss (None w/o targets), branches, attention


def synthetic_batch(size: int, generator: torch.Generator) -> tuple[dict, Tensor]:
    """A padded batch whose class is in the audio (a class-specific frame pattern), in the text
    (keyword token ``1 + class``) or in both; the uninformative modality is noise."""
    labels = torch.randint(0, CLASSES, (size,), generator=generator)                   # [B]
    where = torch.randint(0, 3, (size,), generator=generator)  # 0: audio only, 1: text only, 2: both
    frame_lengths = torch.randint(8, 25, (size,), generator=generator)                 # [B]
    token_lengths = torch.randint(3, 9, (size,), generator=generator)                  # [B]
    frames = torch.randn(size, int(frame_lengths.max()), FEATURES, generator=generator)  # [B, Ta, F]
    tokens = torch.randint(CLASSES + 1, VOCABULARY, (size, int(token_lengths.max())), generator=generator)
    patterns = torch.eye(CLASSES, FEATURES) * 1.5                                       # [C, F]
    for i in range(size):
        if where[i] != 1:
            frames[i] += patterns[labels[i]]
        if where[i] != 0:
            position = int(torch.randint(0, int(token_lengths[i]), (1,), generator=generator))
            tokens[i, position] = 1 + labels[i]
        frames[i, frame_lengths[i]:] = 0.0
        tokens[i, token_lengths[i]:] = 0
    return ({"frames": frames, "frame_lengths": frame_lengths, "tokens": tokens,
             "token_lengths": token_lengths}, labels)


def accuracy(logits: Tensor, labels: Tensor) -> float:
    return float((logits.argmax(-1) == labels).float().mean())


def main(argv=None) -> dict:
    """Train on synthetic batches; returns the losses, accuracies, branch logits and attention weights."""
    args = parse_args(argv)
    if args.head not in HEADS:
        raise UnknownComponentError("fusion head", args.head, HEADS)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = MyEmotionModel(HEADS[args.head])
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)

    losses = []
    model.train()
    for step in range(args.steps):
        batch, labels = synthetic_batch(32, generator)
        loss = model(batch, labels).loss  # scalar (with targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {loss.item():.3f}")

    model.eval()
    with torch.no_grad():
        batch, labels = synthetic_batch(256, generator)
        out = model(batch)  # without targets the loss is None
    logits, loss = out.logits, out.loss
    branches = {name: accuracy(b, labels) for name, b in out.branches.items()}
    attention = dict(out.attention)
    print(f"{args.head}: held-out accuracy {accuracy(logits, labels):.2f} (chance {1 / CLASSES:.2f}), "
          f"logits {tuple(logits.shape)}, loss without targets: {loss}")
    print("branch accuracy: " + (", ".join(f"{k} {v:.2f}" for k, v in branches.items())
                                        or "(this head has no unimodal branches)"))
    for name, weights in attention.items():
        print(f"attention[{name!r}]: {tuple(weights.shape)}")
    return {"head": args.head, "losses": losses, "logits": logits, "labels": labels, "batch": batch,
            "eval_loss": loss, "accuracy": accuracy(logits, labels), "branches": dict(out.branches),
            "branch_accuracy": branches, "attention": attention}


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--head", default=CrossAttentionHead.name, help="one of " + ", ".join(HEADS))
    parser.add_argument("--steps", type=int, default=150, help="training steps (batches of 32)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights and the synthetic data")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        main()
    except FusionError as exc:
        sys.exit(f"error: {exc}")
