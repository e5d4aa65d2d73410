"""A bidirectional LSTM/GRU over padded frames, run as packed sequences so padding is never read."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .validation import check_choice, check_fraction, check_int

RNN_TYPES: dict[str, type[nn.RNNBase]] = {"gru": nn.GRU, "lstm": nn.LSTM}


class BiRNN(nn.Module):
    """seq [B, T, D_in] zero-padded, lengths [B] -> [B, T, 2 * hidden] (zeros past each length)."""

    def __init__(self, input_dim: int, hidden: int, layers: int, kind: str, dropout: float, where: str):
        super().__init__()
        check_choice(where, "rnn", kind, RNN_TYPES)
        check_int(where, 1, hidden=hidden, layers=layers)
        check_fraction(where, dropout=dropout)
        self.rnn = RNN_TYPES[kind](input_dim, hidden, num_layers=layers, batch_first=True,
                                   bidirectional=True, dropout=dropout if layers > 1 else 0.0)
        self.output_dim = 2 * hidden

    def forward(self, seq: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(seq, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=seq.shape[1])  # [B, T, 2H]
        return out
