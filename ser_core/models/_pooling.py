"""Pooling shared by heads on pretrained encoders: over layers, then over time.

* :class:`WeightedLayerSum` — the SUPERB featurizer: a learned softmax-weighted sum of every
  hidden layer (Yang et al., "SUPERB: Speech processing Universal PERformance Benchmark",
  Interspeech 2021), optionally normalising each layer first (s3prl's ``layer_norm`` option), so
  layers of very different scale (Whisper's residual stream grows with depth) mix fairly.
* :class:`StatisticsPooling` — mean and standard deviation over the valid frames (the default of
  the pretrained-encoder heads).
* :class:`AttentiveStatisticsPooling` — attention-weighted mean and standard deviation over the
  valid frames (Okabe, Koshinaka & Shinoda, "Attentive statistics pooling for deep speaker
  embedding", Interspeech 2018). Its attention is the zoo's :class:`AdditiveAttention`
  (``v · tanh(W h_t + b)``, softmax over valid frames), the form Okabe et al. use, started at
  uniform weights.
* :class:`RunningStandardizer` — per-feature standardisation of pooled vectors with running
  training statistics (optional).

Padded frames never contribute, so a padded batch gives the same numbers as its items alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._layers import AdditiveAttention, lengths_to_mask

__all__ = [
    "AttentiveStatisticsPooling",
    "RunningStandardizer",
    "StatisticsPooling",
    "WeightedLayerSum",
]


class WeightedLayerSum(nn.Module):
    """``Σ_l softmax(w)_l · norm(h_l)`` over the layers of ``(B, L, D, T)`` states → (B, T, D).

    The input is time-last, as the ``encoder_states`` feature stores it; the output is
    frame-major, ready for a per-frame projection. The weights start equal (uniform mixture).
    ``normalize=True`` applies a LayerNorm without parameters over ``D`` to every layer and frame
    first (s3prl's featurizer option).
    """

    def __init__(self, num_layers: int, normalize: bool = True) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be positive, got {num_layers}")
        self.weights = nn.Parameter(torch.zeros(num_layers))
        self.normalize = normalize

    def layer_weights(self) -> Tensor:
        """The mixture weights (L,), summing to 1."""
        return torch.softmax(self.weights, dim=0)

    def forward(self, states: Tensor) -> Tensor:
        """``states`` (B, L, D, T) → (B, T, D)."""
        batch, layers, dim, steps = states.shape
        if layers != self.weights.shape[0]:
            raise ValueError(f"expected {self.weights.shape[0]} layers on axis 1, got {layers}")
        weights = self.layer_weights().to(states.dtype).view(1, 1, layers)
        if self.normalize:
            # layer_norm writes a (B, L, T, D) result, so the transposed view costs no extra copy
            # (int(): the ONNX exporter needs the normalised shape as a constant.)
            normed = F.layer_norm(states.transpose(2, 3), (int(dim),))
            return torch.matmul(weights, normed.reshape(batch, layers, -1)).view(batch, steps, dim)
        mixed = torch.matmul(weights, states.reshape(batch, layers, -1)).view(batch, dim, steps)
        return mixed.transpose(1, 2)


class AttentiveStatisticsPooling(nn.Module):
    """Attention-weighted mean and standard deviation over valid frames (Okabe et al. 2018).

    ``forward(h (B, T, D), lengths) -> (stats (B, 2D), weights (B, T))``; ``stats`` is
    ``[mean, std]``, ``weights`` are zero at padded frames and sum to 1 over the valid ones.
    """

    def __init__(
        self,
        in_features: int,
        attention_dim: int = 128,
        eps: float = 1e-5,
        uniform_init: bool = True,
    ) -> None:
        super().__init__()
        self.attention = AdditiveAttention(in_features, attention_dim)
        if uniform_init:
            # Start from plain mean and std (equal scores) and let training learn where to look:
            # random scores make a small-data head latch onto a few frames and overfit.
            nn.init.zeros_(self.attention.score.weight)
        self.eps = eps
        self.out_features = 2 * in_features

    def forward(self, h: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mean, weights = self.attention(h, lengths)
        centred = h - mean.unsqueeze(1)
        var = torch.bmm(weights.unsqueeze(1), centred * centred).squeeze(1)
        std = torch.sqrt(var.clamp_min(self.eps))
        return torch.cat([mean, std], dim=-1), weights


class StatisticsPooling(nn.Module):
    """Plain mean (and standard deviation) over valid frames, uniform weights.

    ``forward(h (B, T, D), lengths) -> (stats (B, D) or (B, 2D), weights (B, T))``; the weights
    are ``1 / length`` on valid frames, so explanations still get a (flat) map.
    """

    def __init__(self, in_features: int, std: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.std = std
        self.eps = eps
        self.out_features = in_features * (2 if std else 1)

    def forward(self, h: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        batch, steps, _ = h.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=h.device)
        valid = lengths_to_mask(lengths, steps).to(h.dtype)
        weights = valid / valid.sum(dim=1, keepdim=True).clamp_min(1.0)
        mean = torch.bmm(weights.unsqueeze(1), h).squeeze(1)
        if not self.std:
            return mean, weights
        centred = h - mean.unsqueeze(1)
        var = torch.bmm(weights.unsqueeze(1), centred * centred).squeeze(1)
        return torch.cat([mean, torch.sqrt(var.clamp_min(self.eps))], dim=-1), weights

    def forward_channels_first(
        self, x: Tensor, lengths: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """The same statistics of ``x`` laid out ``(B, D, T)`` (time last, as encoder states
        are stored): no transposed copy of the frames, which dominates on long batches."""
        batch, _, steps = x.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=x.device)
        valid = lengths_to_mask(lengths, steps).to(x.dtype)
        weights = valid / valid.sum(dim=1, keepdim=True).clamp_min(1.0)
        mean = torch.bmm(x, weights.unsqueeze(2))  # (B, D, 1)
        if not self.std:
            return mean.squeeze(2), weights
        centred = x - mean
        var = torch.bmm(centred * centred, weights.unsqueeze(2)).squeeze(2)
        return torch.cat([mean.squeeze(2), torch.sqrt(var.clamp_min(self.eps))], dim=-1), weights


class RunningStandardizer(nn.BatchNorm1d):
    """Per-feature standardisation of pooled vectors (B, D) with running training statistics.

    A ``BatchNorm1d`` without affine parameters — the equivalent of fitting a ``StandardScaler``
    on the training set, learned as training goes and saved with the weights. A training batch
    of one item (possible as the last batch of an epoch) uses the running statistics instead of
    failing.
    """

    def __init__(self, num_features: int, momentum: float = 0.1) -> None:
        super().__init__(num_features, affine=False, momentum=momentum)

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.shape[0] >= 2:
            return super().forward(x)
        # Running statistics, written out: what batch_norm computes in eval mode, in a form the
        # ONNX exporter handles (its batch_norm needs a channel size its shape inference loses).
        assert self.running_mean is not None and self.running_var is not None
        return (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps)
