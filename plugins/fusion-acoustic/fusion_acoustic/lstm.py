"""``lstm`` (alias ``bilstm``): a BiLSTM/BiGRU over MFCC (+ delta, delta-delta) frames, attention pooling.

No time downsampling: the output frames are the 10 ms feature frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from fusion.components import Encoded

from .augment import SpecAugmentOptions
from .encoder import FrameEncoder
from .features import MFCC, MFCCOptions
from .rnn import BiRNN


class LSTMEncoder(FrameEncoder):
    """MFCC frames -> BiLSTM/BiGRU -> frames [B, T, 2 * hidden] + pooled [B, 2 * hidden]."""

    name = "lstm"

    @dataclass(frozen=True)
    class Config(SpecAugmentOptions, MFCCOptions):
        rnn: str = "lstm"           # "lstm" or "gru"
        hidden: int = 128           # RNN hidden size per direction; output_dim = 2 * hidden
        layers: int = 2             # stacked RNN layers
        dropout: float = 0.1        # dropout between RNN layers and on the RNN's output
        pooling: str = "attention"  # "attention" or "mean"

    def __init__(self, config: Config | None = None):
        config = config or self.Config()
        super().__init__(config, MFCC)
        self.rnn = BiRNN(self.features.dim, config.hidden, config.layers, config.rnn, config.dropout, self.where)
        self.dropout = nn.Dropout(config.dropout)
        self.build_pooling(self.rnn.output_dim)

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        feats, lengths = self.augment(feats, lengths)  # [B, T, F], [B]
        seq = self.dropout(self.rnn(feats, lengths))   # [B, T, 2H]
        return self.pool(seq, lengths)
