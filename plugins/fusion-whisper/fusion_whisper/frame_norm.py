"""Per-dimension standardisation of the valid frames of a padded batch (a masked BatchNorm).

Frozen Whisper states have a few dimensions with huge activations; a per-vector LayerNorm keeps
them dominant, whereas standardising each dimension over the training frames (as a feature
scaler would) lets every dimension count. Statistics come from the valid frames only (padding
and frames dropped by augmentation never contribute); eval mode uses the running statistics,
so a clip's output does not depend on its batch.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class MaskedBatchNorm(nn.BatchNorm1d):
    """x [B, T, D], mask [B, T] -> x with each dimension standardised over the valid frames
    (learned affine after it); padded frames come out as 0."""

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.unsqueeze(-1).to(x.dtype)                              # [B, T, 1]
        if self.training and int(mask.sum()) >= 2:  # batch statistics of the valid frames only
            out = x.new_zeros(x.shape)                                     # [B, T, D]
            out[mask] = super().forward(x[mask]).to(x.dtype)              # [N, D] -> valid frames
            return out
        # eval, or a single valid frame (no variance): the running statistics, which stay unchanged;
        # no boolean indexing here, so the eval graph has static shapes (ONNX export)
        flat = F.batch_norm(x.reshape(-1, x.shape[-1]), self.running_mean, self.running_var, self.weight,
                            self.bias, False, 0.0, self.eps)              # [B*T, D]
        return flat.reshape(x.shape) * keep                                # [B, T, D], padding -> 0
