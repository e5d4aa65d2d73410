"""``cnn-lstm`` (alias ``crnn``): the CNN front end over log-mel, then a BiLSTM/BiGRU, then pooling.

The recurrent layer runs on packed sequences, so padded frames are never read; the
returned frame sequence [B, T', 2 * hidden] is what cross-modal attention heads attend over.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from fusion.components import Encoded

from .cnn import CNNEncoder, build_front_end
from .encoder import FrameEncoder
from .features import LogMel
from .rnn import BiRNN


class CNNLSTMEncoder(FrameEncoder):
    """Log-mel -> CNN -> BiLSTM/BiGRU -> frames [B, T', 2 * hidden] + pooled [B, 2 * hidden]."""

    name = "cnn-lstm"

    @dataclass(frozen=True)
    class Config(CNNEncoder.Config):
        dim: int = 128              # size of the CNN's per-frame projection (the RNN's input)
        pooling: str = "attention"  # "attention" or "mean" over the RNN's frames
        rnn: str = "lstm"           # "lstm" or "gru"
        hidden: int = 128           # RNN hidden size per direction; output_dim = 2 * hidden
        layers: int = 1             # stacked RNN layers
        rnn_dropout: float = 0.1    # dropout between RNN layers and on the RNN's output

    def __init__(self, config: Config | None = None):
        config = config or self.Config()
        super().__init__(config, LogMel)
        self.front_end = build_front_end(config, self.features.dim, self.where)
        self.rnn = BiRNN(config.dim, config.hidden, config.layers, config.rnn, config.rnn_dropout, self.where)
        self.dropout = nn.Dropout(config.rnn_dropout)
        self.build_pooling(self.rnn.output_dim)

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        feats, lengths = self.augment(feats, lengths)     # [B, T, F], [B]
        frames, lengths = self.front_end(feats, lengths)  # [B, T', dim], [B]
        seq = self.dropout(self.rnn(frames, lengths))     # [B, T', 2H]
        return self.pool(seq, lengths)
