"""A small trainable text encoder with no pretrained weights and no vocabulary fitting.

featurize: :class:`~fusion_transformers.hashing_tokenizer.HashingTokenizer` ids [T, 1 + N] (per word,
the word id then N character-n-gram ids). forward: mean of each word's id embeddings (EmbeddingBag,
padding ignored) -> BiGRU packed by lengths -> attention pooling.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fusion.components import Encoded, TextEncoder, lengths_to_mask
from fusion.errors import ConfigError

from .attention_pooling import AttentionPooling
from .hashing_tokenizer import FIRST_HASH_ID, PAD_ID, HashingTokenizer


class GRUTextEncoder(TextEncoder):
    """Hashed word + character-n-gram embeddings -> BiGRU -> attention pooling."""

    name = "gru"

    @dataclass(frozen=True)
    class Config:
        buckets: int = 20000                 # hashed id space (0 = padding, 1 = <empty>, 2.. = words/n-grams)
        max_tokens: int = 128                # words kept per transcript; longer transcripts are truncated
        ngram_sizes: tuple[int, ...] = (3,)  # character n-gram lengths hashed besides the whole word
        max_ngrams: int = 12                 # n-gram ids kept per word (the first ones, in order)
        embed_dim: int = 128                 # embedding size of a word (mean of its id embeddings)
        hidden: int = 128                    # GRU hidden size per direction; output_dim = 2 * hidden
        layers: int = 1                      # stacked BiGRU layers
        attn_dim: int = 64                   # hidden size of the attention-pooling scorer
        dropout: float = 0.2                 # dropout on word embeddings and GRU outputs (training only)

    def __init__(self, config: "GRUTextEncoder.Config | None" = None):
        super().__init__()
        self.config = c = config or self.Config()
        self._validate()
        self.tokenizer = HashingTokenizer(c.buckets, c.max_tokens, tuple(c.ngram_sizes), c.max_ngrams)
        self.embed = nn.EmbeddingBag(c.buckets, c.embed_dim, mode="mean", padding_idx=PAD_ID)
        self.gru = nn.GRU(c.embed_dim, c.hidden, num_layers=c.layers, batch_first=True, bidirectional=True,
                          dropout=c.dropout if c.layers > 1 else 0.0)
        self.dropout = nn.Dropout(c.dropout)
        self.pool = AttentionPooling(2 * c.hidden, c.attn_dim)
        self.output_dim = 2 * c.hidden
        self.attention: Tensor | None = None  # last pooling weights [B, T], for inspection

    def _validate(self) -> None:
        c, where = self.config, f"text encoder {self.name!r}"
        checks = {
            "buckets": (c.buckets > FIRST_HASH_ID, f"> {FIRST_HASH_ID}"),
            "max_tokens": (c.max_tokens >= 1, ">= 1"),
            "ngram_sizes": (all(isinstance(n, int) and n >= 1 for n in c.ngram_sizes), "positive integers"),
            "max_ngrams": (c.max_ngrams >= 0, ">= 0"),
            "embed_dim": (c.embed_dim >= 1, ">= 1"),
            "hidden": (c.hidden >= 1, ">= 1"),
            "layers": (c.layers >= 1, ">= 1"),
            "attn_dim": (c.attn_dim >= 1, ">= 1"),
            "dropout": (0.0 <= c.dropout < 1.0, "in [0, 1)"),
        }
        for field, (ok, rule) in checks.items():
            if not ok:
                raise ConfigError(f"{where}: {field} must be {rule}, got {getattr(c, field)!r}")

    def featurize_key(self) -> dict:
        """Only the tokenizer settings shape the ids."""
        c = self.config
        return {"name": self.name, "buckets": c.buckets, "max_tokens": c.max_tokens,
                "ngram_sizes": list(c.ngram_sizes), "max_ngrams": c.max_ngrams}

    def featurize(self, text: str) -> Tensor:
        """text -> LongTensor [T, 1 + max_ngrams], T >= 1."""
        if not isinstance(text, str):
            raise ConfigError(f"text encoder {self.name!r}: transcript must be a str, got {type(text).__name__}")
        return self.tokenizer(text)

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        """feats [B, T, 1 + N] ids zero-padded, lengths [B] -> Encoded (D = 2 * hidden)."""
        batch, steps, width = feats.shape
        words = self.embed(feats.reshape(batch * steps, width))             # [B*T, E]
        words = self.dropout(words.view(batch, steps, -1))                  # [B, T, E]
        packed = pack_padded_sequence(words, lengths.cpu().clamp(min=1), batch_first=True,
                                      enforce_sorted=False)
        out, _ = self.gru(packed)
        seq, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)  # [B, T, 2H], zeros at padding
        seq = self.dropout(seq)
        mask = lengths_to_mask(lengths.to(seq.device), steps)               # [B, T]
        pooled, weights = self.pool(seq, mask)                              # [B, 2H], [B, T]
        self.attention = weights.detach()
        return Encoded(seq=seq, mask=mask, pooled=pooled)
