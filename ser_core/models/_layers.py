"""Layers shared by the model zoo: length masks, conv blocks, LSTM encoder, attention, heads.

Everything that more than one architecture uses lives here once (the transformers lesson: no copied
heads or pooling per model file). Time is always the last axis of conv inputs, ``lengths`` always
counts valid steps along it, and padded steps are zeroed after every block so that a padded batch
gives the same numbers as its items one by one (in eval mode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = [
    "AdditiveAttention",
    "ClassifierMLP",
    "ConvBlock",
    "FeedForward",
    "LSTMEncoder",
    "MaskedConvStack",
    "MultiHeadSelfAttention",
    "TransformerLayer",
    "conv_out_lengths",
    "image_head",
    "lengths_to_mask",
    "make_activation",
    "mask_time",
    "masked_mean",
    "sinusoidal_positions",
]


# --------------------------------------------------------------------------- lengths and masks
def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Boolean mask (B, max_len), ``True`` at valid steps."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] < lengths[:, None]


def mask_time(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Zero the steps of ``x`` (B, ..., T) at or beyond each item's length (no-op for ``None``)."""
    if lengths is None:
        return x
    mask = lengths_to_mask(lengths, x.shape[-1]).to(x.dtype)
    return x * mask.view(mask.shape[0], *([1] * (x.ndim - 2)), mask.shape[1])


def conv_out_lengths(
    lengths: Tensor, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> Tensor:
    """Valid output length of a conv / pool layer for each input length (PyTorch's formula)."""
    span = dilation * (kernel - 1) + 1
    return torch.div(lengths + 2 * padding - span, stride, rounding_mode="floor") + 1


def masked_mean(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Mean of ``x`` (B, T, D) over the valid steps of each item → (B, D)."""
    if lengths is None:
        return x.mean(dim=1)
    mask = lengths_to_mask(lengths, x.shape[1]).to(x.dtype).unsqueeze(-1)
    return (x * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


def sinusoidal_positions(length: int, dim: int, device: Any = None, dtype: Any = None) -> Tensor:
    """The Transformer's fixed sine/cosine position table (length, dim)."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div[: dim // 2])
    return table.to(dtype or torch.float32)


# --------------------------------------------------------------------------- activations, MLPs
_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "hardswish": nn.Hardswish,
}


def make_activation(name: str) -> nn.Module:
    """An activation module by name (``relu``, ``elu``, ``gelu``, ``tanh``, ``hardswish``)."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; choose one of {', '.join(_ACTIVATIONS)}"
        ) from None


class ClassifierMLP(nn.Module):
    """Dense layers then the output layer: ``[Linear → act → (BatchNorm) → Dropout]* → Linear``.

    ``forward(x, pre_logits=True)`` stops before the output layer (timm's ``pre_logits``), so the
    last hidden layer is the embedding. With no hidden layers it is a single ``Linear``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        num_classes: int,
        *,
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), make_activation(activation)]
            if batchnorm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(nn.Dropout(dropout))
            width = size
        self.hidden = nn.Sequential(*layers)
        self.out_features = width
        self.output = nn.Linear(width, num_classes)

    def forward(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        x = self.hidden(x)
        return x if pre_logits else self.output(x)


def image_head(in_features: int, num_classes: int, dropout: float = 0.6) -> ClassifierMLP:
    """The multi-corpus study's head on an image CNN: FC 128 → BN → dropout → FC 64 → BN → dropout
    → output (ReLU after each FC)."""
    return ClassifierMLP(
        in_features, (128, 64), num_classes, activation="relu", dropout=dropout, batchnorm=True
    )


# --------------------------------------------------------------------------- convolution
class ConvBlock(nn.Module):
    """``conv (same padding) → BatchNorm → activation → max-pool → dropout``, 1-D or 2-D.

    The building block of the CNN-LSTM family (Zhao et al.'s "local feature learning block").
    For 2-D inputs (B, C, F, T) the pool is square; ``pool`` is the factor along time.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        dims: int = 2,
        kernel_size: int = 3,
        pool: int = 2,
        activation: str = "elu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if dims not in (1, 2):
            raise ValueError(f"dims must be 1 or 2, got {dims}")
        conv_cls = nn.Conv1d if dims == 1 else nn.Conv2d
        norm_cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
        pool_cls = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
        self.conv = conv_cls(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.norm = norm_cls(out_channels)
        self.act = make_activation(activation)
        self.pool = pool_cls(pool) if pool > 1 else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.pool_factor = pool
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.pool(self.act(self.norm(self.conv(x)))))

    def forward_pre_pool(self, x: Tensor) -> Tensor:
        """The activation map before pooling (for Grad-CAM)."""
        return self.act(self.norm(self.conv(x)))


class MaskedConvStack(nn.Module):
    """A sequence of :class:`ConvBlock` that keeps padding out of the valid steps.

    The input is zeroed beyond each item's length, and so is every block's output after its pool
    (valid length ``floor(length / pool)``), so the next block's same-padding sees zeros exactly as
    it would on the item alone.
    """

    def __init__(self, blocks: Sequence[ConvBlock]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.pool_factors = [block.pool_factor for block in blocks]
        self.out_channels = blocks[-1].out_channels

    @classmethod
    def of_widths(
        cls,
        channels: Sequence[int],
        *,
        dims: int,
        kernel_size: int,
        pool: int,
        activation: str,
        dropout: float,
        in_channels: int = 1,
    ) -> MaskedConvStack:
        """One :class:`ConvBlock` per width in ``channels``, each pooling by ``pool``: the
        convolutional front end the CNN-LSTM family shares."""
        blocks, width = [], in_channels
        for out in channels:
            blocks.append(
                ConvBlock(
                    width,
                    out,
                    dims=dims,
                    kernel_size=kernel_size,
                    pool=pool,
                    activation=activation,
                    dropout=dropout,
                )
            )
            width = out
        return cls(blocks)

    @property
    def time_reduction(self) -> int:
        """Total pooling factor along time."""
        return math.prod(self.pool_factors)

    def out_lengths(self, lengths: Tensor) -> Tensor:
        """Valid steps after every block's pool."""
        for factor in self.pool_factors:
            lengths = torch.div(lengths, factor, rounding_mode="floor")
        return lengths

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        x = mask_time(x, lengths)
        for block, factor in zip(self.blocks, self.pool_factors, strict=True):
            x = block(x)
            if lengths is not None:
                lengths = torch.div(lengths, factor, rounding_mode="floor")
                x = mask_time(x, lengths)
        return x, lengths


# --------------------------------------------------------------------------- recurrent
class LSTMEncoder(nn.Module):
    """``nn.LSTM`` over (B, T, D) with packing, so padding never enters the recurrence.

    Returns the per-step outputs (zero beyond each length) and the final hidden state of the last
    layer (both directions concatenated when bidirectional: forward at the last valid step,
    backward at step 0).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out_features = hidden_size * (2 if bidirectional else 1)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if lengths is None:
            outputs, (h_n, _) = self.lstm(x)
        else:
            packed = pack_padded_sequence(
                x, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False
            )
            packed_out, (h_n, _) = self.lstm(packed)
            outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=x.shape[1])
        directions = 2 if self.lstm.bidirectional else 1
        last = h_n[-directions:]  # (directions, B, H) of the last layer
        return outputs, torch.cat(list(last), dim=-1)


# --------------------------------------------------------------------------- attention
class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention pooling: ``e_t = v · tanh(W h_t + b)``, softmax over valid t.

    Bahdanau, Cho & Bengio, "Neural machine translation by jointly learning to align and
    translate", ICLR 2015.
    """

    def __init__(self, in_features: int, attention_dim: int = 128) -> None:
        super().__init__()
        self.proj = nn.Linear(in_features, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, h: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Pool ``h`` (B, T, D) → context (B, D) and weights (B, T) (zero at padded steps)."""
        scores = self.score(torch.tanh(self.proj(h))).squeeze(-1)
        if lengths is not None:
            scores = scores.masked_fill(~lengths_to_mask(lengths, h.shape[1]), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights.unsqueeze(1), h).squeeze(1), weights


class MultiHeadSelfAttention(nn.Module):
    """Plain multi-head scaled dot-product self-attention (Vaswani et al., 2017) with key masking.

    Returns the attention weights (B, H, T, T) beside the output so models can explain themselves.
    """

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: Tensor, key_mask: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Attend over ``x`` (B, T, D); ``key_mask`` (B, T) is ``True`` at keys that may be seen."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) * self.head_dim**-0.5
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        out = (self.dropout(weights) @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(out), {"weights": weights}


class FeedForward(nn.Module):
    """Position-wise feed-forward: ``Linear → activation → dropout → Linear``."""

    def __init__(self, dim: int, hidden: int, activation: str = "gelu", dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.dropout(self.act(self.fc1(x))))


class TransformerLayer(nn.Module):
    """One encoder layer around any self-attention module ``attn(x, key_mask) -> (out, record)``.

    ``norm_first=True`` is the pre-norm layer of ViT; ``False`` the post-norm layer of the
    original Transformer and of DST.
    """

    def __init__(
        self,
        dim: int,
        attention: nn.Module,
        ffn_dim: int,
        *,
        dropout: float = 0.0,
        activation: str = "gelu",
        norm_first: bool = True,
    ) -> None:
        super().__init__()
        self.attention = attention
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, activation, dropout)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self, x: Tensor, key_mask: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``key_mask`` (B, T): ``True`` at valid tokens (``None``: all valid)."""
        if self.norm_first:
            attended, record = self.attention(self.norm1(x), key_mask)
            x = x + self.dropout(attended)
            x = x + self.dropout(self.ffn(self.norm2(x)))
        else:
            attended, record = self.attention(x, key_mask)
            x = self.norm1(x + self.dropout(attended))
            x = self.norm2(x + self.dropout(self.ffn(x)))
        return x, record


def valid_lengths(x: Tensor, lengths: Tensor | Sequence[int] | None) -> Tensor | None:
    """``lengths`` as a long tensor on ``x``'s device (``None`` stays ``None``)."""
    if lengths is None:
        return None
    return torch.as_tensor(lengths, dtype=torch.long, device=x.device)


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Zero-pad the last axis of ``x`` up to a multiple of ``multiple``."""
    remainder = x.shape[-1] % multiple
    return F.pad(x, (0, multiple - remainder)) if remainder else x
