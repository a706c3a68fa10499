"""SERCT: the CNN-Transformer on the raw waveform with deformable speech attention.

Raw waveform → a 1-D conv feature encoder in the style of wav2vec 2.0's (Baevski et al.,
"wav2vec 2.0: A framework for self-supervised learning of speech representations", NeurIPS 2020:
bias-free convolutions, LayerNorm over channels, GELU; here 6 layers, first kernel 10 stride 5,
then kernels 3, 3, 3, 2, 2 with stride 2 → one frame per 10 ms at 16 kHz) → LayerNorm and a linear
projection → sinusoidal positions → Transformer layers (post-norm, as in DST) whose self-attention
is **deformable speech attention** → dense layers applied per frame → average pooling over the
valid frames → output logits (softmax left to the caller).

Deformable speech attention follows Chen, Xing, Xu, Pang & Du, "DST: Deformable Speech Transformer
for Emotion Recognition", ICASSP 2023: for every query frame *i* and head *h* a linear layer on the
query predicts an offset ``o = tanh(.) · max_offset`` and a window size ``s = sigmoid(.) ·
max_window``, so each head attends to a window centred at ``i + o`` of width ``s`` that moves and
resizes with the input. Where DST masks a hard window over all frames (with soft boundary
weights), this implementation samples ``num_points`` keys/values at
``i + o + s · linspace(-1/2, 1/2, K)`` with linear interpolation (as in deformable DETR, Zhu et
al., ICLR 2021), which makes the output
differentiable in ``o`` and ``s`` everywhere; sampling positions are clamped to each item's valid
frames, so padding is never read. As in DST, offsets start at 0 and the heads' initial windows
are spread from 50 ms to 1000 ms. Bounds are absolute durations (ms), not fractions of a fixed
sequence length, so a window means the same time span whatever the clip length. (Since
interpolation is linear, the sampled scores are read off the dense ``q·kᵀ`` matrix and the
weights scattered back for one matmul with V: exact, and fast on CPU; queries are chunked so long
inputs stay within memory.)

Ablation options (the thesis's): ``attention="vanilla"`` swaps in plain multi-head attention,
``use_cnn=False`` replaces the conv encoder by a linear embedding of raw 25 ms frames (hop 10 ms),
``use_transformer=False`` drops the Transformer layers.

Defaults, chosen to train on a 2-core CPU: Transformer width 256, FFN 512, 4 layers, 8 heads,
16 sampled keys per query, 128 conv channels (wav2vec 2.0 uses 512), dense layers 128 → 64
(DST's d/2 → d/4): ~2.4 M parameters, ~0.45 GMAC per 3 s clip in the conv encoder, about 1.5 s
per training step of 8 × 3 s clips and ~45 ms to classify one 3 s clip. The thesis used width
1024 and FFN 512: ``d_model=1024`` reproduces it (~21.6 M parameters; ~25 M with
``conv_channels=512``).

Input: (B, T) waveform, 16 kHz. Variable length: yes (valid convolutions never see padding,
attention clamps/masks to valid frames, masked average pooling).
Explanation: attention mass received by each frame (from the sampled positions for deformable
attention), averaged over layers, heads and valid queries, stretched over the samples → (B, T);
input × gradient when ``use_transformer=False``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ._base import SERModel
from ._config import ModelConfig, check_choice
from ._cpu_size import cpu_size_card
from ._explain import resample_time
from ._layers import (
    ClassifierMLP,
    MultiHeadSelfAttention,
    TransformerLayer,
    conv_out_lengths,
    lengths_to_mask,
    masked_mean,
    sinusoidal_positions,
)
from ._registry import register_model

__all__ = ["SERCT", "DeformableSpeechAttention", "SERCTConfig", "WaveformConvEncoder", "serct"]

REFERENCE = (
    "SERCT CNN-Transformer (thesis); deformable speech attention after Chen et al., 'DST: "
    "Deformable Speech Transformer for Emotion Recognition', ICASSP 2023; conv encoder after "
    "Baevski et al., 'wav2vec 2.0', NeurIPS 2020"
)
#: The thesis's size (conv channels: wav2vec 2.0's); the model card lists what a CPU-sized
#: variant cut.
FULL_SIZE = {"conv_channels": 512, "d_model": 1024, "ffn_dim": 512, "num_layers": 4, "num_heads": 8}


@dataclass
class SERCTConfig(ModelConfig):
    """Config of :class:`SERCT`.

    Attributes:
        features: always ``"waveform"``.
        sample_rate: expected sampling rate (Hz).
        use_cnn: wav2vec 2.0-style conv encoder (else a linear embedding of raw frames).
        use_transformer: keep the Transformer layers.
        attention: ``"deformable"`` (DST) or ``"vanilla"`` multi-head attention.
        conv_channels: channels of the conv encoder.
        conv_norm: normalisation of the conv encoder, as in wav2vec 2.0's two variants:
            ``"layer"`` (LARGE: LayerNorm over the channels of every frame after every conv)
            or ``"group"`` (BASE: one group per channel, over time, after the first conv only,
            here over each item's valid frames). ``"layer"`` makes the bias-free encoder blind
            to the signal's level frame by frame (scaling a frame scales the first conv's output,
            which the LayerNorm undoes), so the loudness contour, a strong cue of arousal, never
            reaches the Transformer; ``"group"`` removes only each channel's level over the whole
            clip (the microphone gain) and keeps the contour.
        conv_kernels: kernel of each conv layer.
        conv_strides: stride of each conv layer.
        frame_length: samples per frame of the linear embedding (``use_cnn=False``).
        frame_hop: hop of that embedding.
        d_model: Transformer width.
        ffn_dim: Transformer feed-forward width.
        num_layers: Transformer layers.
        num_heads: attention heads.
        num_points: keys sampled per query and head (deformable attention).
        window_init_ms: initial window widths, spread linearly over the heads.
        max_window_ms: largest window width a head can take.
        max_offset_ms: largest shift of a window centre from its query.
        head_hidden: dense layers applied per frame before pooling and the output
            (``None``: ``(d_model // 2, d_model // 4)`` as in DST).
        dropout: dropout in the Transformer and the dense layers.
        activation: activation of the Transformer FFN and the dense layers.
    """

    features: str = "waveform"
    sample_rate: int = 16000
    use_cnn: bool = True
    use_transformer: bool = True
    attention: str = "deformable"
    conv_channels: int = 128
    conv_norm: str = "layer"
    conv_kernels: tuple[int, ...] = (10, 3, 3, 3, 2, 2)
    conv_strides: tuple[int, ...] = (5, 2, 2, 2, 2, 2)
    frame_length: int = 400
    frame_hop: int = 160
    d_model: int = 256
    ffn_dim: int = 512
    num_layers: int = 4
    num_heads: int = 8
    num_points: int = 16
    window_init_ms: tuple[float, float] = (50.0, 1000.0)
    max_window_ms: float = 2000.0
    max_offset_ms: float = 1000.0
    head_hidden: tuple[int, ...] | None = None
    dropout: float = 0.1
    activation: str = "relu"

    def __post_init__(self) -> None:
        if self.features != "waveform":
            raise ValueError("serct takes the raw waveform: features must be 'waveform'")
        check_choice("attention", self.attention, ("deformable", "vanilla"))
        check_choice("conv_norm", self.conv_norm, ("layer", "group"))
        if len(self.conv_kernels) != len(self.conv_strides):
            raise ValueError("conv_kernels and conv_strides must have the same length")
        if self.d_model % self.num_heads:
            raise ValueError("d_model must be divisible by num_heads")
        if not 0 < self.window_init_ms[0] <= self.window_init_ms[1] < self.max_window_ms:
            raise ValueError("need 0 < window_init_ms[0] <= window_init_ms[1] < max_window_ms")


class ChannelNorm(nn.Module):
    """GroupNorm with one group per channel (wav2vec 2.0 BASE's first layer) over each item's
    valid frames only, so padding changes nothing: (B, C, T) → (B, C, T)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, h: Tensor, lengths: Tensor | None) -> Tensor:
        if lengths is None:
            mean = h.mean(dim=-1, keepdim=True)
            var = h.var(dim=-1, unbiased=False, keepdim=True)
        else:
            mask = lengths_to_mask(lengths, h.shape[-1]).unsqueeze(1).to(h.dtype)
            count = lengths.clamp(min=1).to(h.dtype).view(-1, 1, 1)
            mean = (h * mask).sum(dim=-1, keepdim=True) / count
            var = (((h - mean) * mask) ** 2).sum(dim=-1, keepdim=True) / count
        normed = (h - mean) / torch.sqrt(var + self.eps)
        return normed * self.weight.view(1, -1, 1) + self.bias.view(1, -1, 1)


class WaveformConvEncoder(nn.Module):
    """wav2vec 2.0-style feature encoder: ``[Conv1d (no bias) → norm → GELU] × N``, the norm a
    LayerNorm over channels after every conv (``norm="layer"``) or :class:`ChannelNorm` after
    the first only (``norm="group"``).

    Valid (unpadded) convolutions: every output frame reads only samples inside the item, so
    padding never leaks; :meth:`out_lengths` gives the valid frames.
    """

    def __init__(
        self, channels: int, kernels: Sequence[int], strides: Sequence[int], norm: str = "layer"
    ) -> None:
        super().__init__()
        self.kernels, self.strides = tuple(kernels), tuple(strides)
        self.norm_kind = norm
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        in_ch = 1
        for i, (k, s) in enumerate(zip(self.kernels, self.strides, strict=True)):
            self.convs.append(nn.Conv1d(in_ch, channels, k, stride=s, bias=False))
            if norm == "layer":
                self.norms.append(nn.LayerNorm(channels))
            elif i == 0:
                self.norms.append(ChannelNorm(channels))
            in_ch = channels
        self.act = nn.GELU()
        self.out_channels = channels

    @property
    def receptive_field(self) -> int:
        field, jump = 1, 1
        for k, s in zip(self.kernels, self.strides, strict=True):
            field += (k - 1) * jump
            jump *= s
        return field

    @property
    def hop(self) -> int:
        return math.prod(self.strides)

    def out_lengths(self, lengths: Tensor) -> Tensor:
        for k, s in zip(self.kernels, self.strides, strict=True):
            lengths = conv_out_lengths(lengths, k, s)
        return lengths

    def forward(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(B, T) samples (``lengths`` valid in each) → (B, T', C) frames."""
        h = wav.unsqueeze(1)
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if self.norm_kind == "layer":
                h = self.norms[i](h.transpose(1, 2)).transpose(1, 2)
            elif i == 0:
                valid = None
                if lengths is not None:
                    valid = conv_out_lengths(lengths, self.kernels[0], self.strides[0])
                h = self.norms[0](h, valid)
            h = self.act(h)
        return h.transpose(1, 2)


class FrameEmbedding(nn.Module):
    """Linear embedding of raw frames (``use_cnn=False``): a strided Conv1d + LayerNorm."""

    def __init__(self, dim: int, frame_length: int, hop: int) -> None:
        super().__init__()
        self.proj = nn.Conv1d(1, dim, frame_length, stride=hop)
        self.norm = nn.LayerNorm(dim)
        self.receptive_field, self.hop, self.out_channels = frame_length, hop, dim

    def out_lengths(self, lengths: Tensor) -> Tensor:
        return conv_out_lengths(lengths, self.receptive_field, self.hop)

    def forward(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        del lengths  # per-frame LayerNorm: padding cannot reach a valid frame
        return self.norm(self.proj(wav.unsqueeze(1)).transpose(1, 2))


class DeformableSpeechAttention(nn.Module):
    """Deformable speech attention (DST, Chen et al., ICASSP 2023), sampled with interpolation.

    For query frame ``i`` and head ``h``: ``(o, z) = W q_i + b``; centre ``c = i + tanh(o) ·
    max_offset``; width ``s = sigmoid(z) · max_window``; keys and values are read at ``c + s ·
    linspace(-1/2, 1/2, K)`` (clamped to the item's valid frames, linearly interpolated) and the
    query attends over those K samples. ``W`` starts at zero, ``b`` puts every window at its query
    with widths spread over ``init_windows`` (frames), as in DST.
    """

    grid: Tensor
    #: Largest (B·H·chunk·T) score block held at once (queries are chunked to stay below it).
    max_chunk_elements: int = 1 << 24

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        num_points: int,
        init_windows: Sequence[float],
        max_window: float,
        max_offset: float,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads, self.head_dim, self.num_points = num_heads, dim // num_heads, num_points
        self.max_window, self.max_offset = float(max_window), float(max_offset)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.offset_size = nn.Linear(dim, 2 * num_heads)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer(
            "grid", torch.linspace(-0.5, 0.5, num_points) if num_points > 1 else torch.zeros(1)
        )
        ratios = torch.tensor([w / self.max_window for w in init_windows]).clamp(1e-4, 1 - 1e-4)
        with torch.no_grad():
            self.offset_size.weight.zero_()
            self.offset_size.bias.copy_(torch.cat([torch.zeros(num_heads), torch.logit(ratios)]))

    def forward(
        self, x: Tensor, key_mask: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``x`` (B, T, D); ``key_mask`` (B, T) valid-prefix mask. Returns output and a record
        with ``weights`` and sampling ``positions`` (B, H, T, K) in frames."""
        b, t, d = x.shape
        h, hd = self.num_heads, self.head_dim
        if key_mask is None:
            last = torch.full((b,), t - 1, device=x.device, dtype=x.dtype)
        else:
            last = (key_mask.sum(dim=1) - 1).to(x.dtype)
        q, key, value = self.qkv(x).chunk(3, dim=-1)
        offset, size = self.offset_size(q).view(b, t, 2, h).unbind(dim=2)  # (B, T, H) each
        centre = torch.arange(t, device=x.device, dtype=x.dtype)[None, :, None]
        centre = centre + torch.tanh(offset) * self.max_offset
        width = torch.sigmoid(size) * self.max_window
        positions = centre.unsqueeze(-1) + width.unsqueeze(-1) * self.grid  # (B, T, H, K)
        positions = positions.permute(0, 2, 1, 3)  # (B, H, T, K)
        positions = torch.minimum(positions.clamp_min(0.0), last.view(b, 1, 1, 1))
        left = positions.detach().floor()
        frac = positions - left
        left_idx = left.long()
        right_idx = torch.minimum(left_idx + 1, last.long().view(b, 1, 1, 1))

        # Keys and values enter linearly in the interpolation, so q·k(p) = (1 - f) q·k[⌊p⌋] +
        # f q·k[⌊p⌋ + 1]: take the dense scores q·kᵀ (one matmul), read them at the sampled
        # indices, and scatter the attention back onto frames for a second matmul with V. This is
        # exactly the sampled attention, far faster on CPU than gathering K×hd vectors per query;
        # queries are processed in chunks so memory stays bounded for long inputs.
        queries, keys, values = (
            z.reshape(b, t, h, hd).transpose(1, 2) for z in (q, key, value)
        )  # (B, H, T, hd)
        chunk = max(1, self.max_chunk_elements // max(1, b * h * t))
        outputs, all_weights = [], []
        for start in range(0, t, chunk):
            rows = slice(start, start + chunk)
            li, ri, f = left_idx[:, :, rows], right_idx[:, :, rows], frac[:, :, rows]
            dense = (queries[:, :, rows] @ keys.transpose(-2, -1)) * hd**-0.5  # (B, H, c, T)
            scores = (1 - f) * dense.gather(-1, li) + f * dense.gather(-1, ri)  # (B, H, c, K)
            weights = torch.softmax(scores, dim=-1)
            dropped = self.dropout(weights)
            spread = torch.zeros_like(dense).scatter_add(-1, li, dropped * (1 - f))
            spread = spread.scatter_add(-1, ri, dropped * f)
            outputs.append(spread @ values)  # (B, H, c, hd)
            all_weights.append(weights)
        out = torch.cat(outputs, dim=2)
        weights = torch.cat(all_weights, dim=2)
        out = self.proj(out.transpose(1, 2).reshape(b, t, d))
        return out, {"weights": weights, "positions": positions}


class SERCT(SERModel):
    """CNN-Transformer with deformable speech attention on the raw waveform (see module doc)."""

    input_kind = "waveform"
    default_features: ClassVar[str] = "waveform"
    supports_variable_length: ClassVar[bool] = True
    explanation: ClassVar[str] = "attention"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = SERCTConfig
    default_name: ClassVar[str] = "serct"
    config: SERCTConfig

    def __init__(self, config: SERCTConfig, num_classes: int) -> None:
        super().__init__(config, num_classes)
        c = config
        self.encoder: WaveformConvEncoder | FrameEmbedding
        if c.use_cnn:
            self.encoder = WaveformConvEncoder(
                c.conv_channels, c.conv_kernels, c.conv_strides, norm=c.conv_norm
            )
        else:
            self.encoder = FrameEmbedding(c.d_model, c.frame_length, c.frame_hop)
        width = self.encoder.out_channels
        self.feature_norm = nn.LayerNorm(width)
        self.projection = nn.Linear(width, c.d_model)
        self.input_dropout = nn.Dropout(c.dropout)
        ms_per_frame = 1000.0 * self.encoder.hop / c.sample_rate
        self.layers = nn.ModuleList()
        if c.use_transformer:
            lo, hi = c.window_init_ms
            inits = torch.linspace(lo, hi, c.num_heads).tolist() if c.num_heads > 1 else [lo]
            for _ in range(c.num_layers):
                attention: nn.Module
                if c.attention == "deformable":
                    attention = DeformableSpeechAttention(
                        c.d_model,
                        c.num_heads,
                        num_points=c.num_points,
                        init_windows=[w / ms_per_frame for w in inits],
                        max_window=c.max_window_ms / ms_per_frame,
                        max_offset=c.max_offset_ms / ms_per_frame,
                        dropout=c.dropout,
                    )
                else:
                    attention = MultiHeadSelfAttention(c.d_model, c.num_heads, dropout=c.dropout)
                self.layers.append(
                    TransformerLayer(
                        c.d_model,
                        attention,
                        c.ffn_dim,
                        dropout=c.dropout,
                        activation=c.activation,
                        norm_first=False,
                    )
                )
        hidden = c.head_hidden if c.head_hidden is not None else (c.d_model // 2, c.d_model // 4)
        self.head = ClassifierMLP(
            c.d_model, hidden, num_classes, activation=c.activation, dropout=c.dropout
        )

    def card(self) -> dict[str, Any]:
        return {**super().card(), **cpu_size_card(self.config, FULL_SIZE)}

    @classmethod
    def explanation_for(cls, config: ModelConfig) -> str:
        return "attention" if getattr(config, "use_transformer", True) else "saliency"

    @property
    def min_input_length(self) -> int:
        return self.encoder.receptive_field

    @property
    def frame_hop(self) -> int:
        """Samples per output frame (160 = 10 ms at 16 kHz by default)."""
        return self.encoder.hop

    def _frames(
        self, x: Tensor, lengths: Tensor | None, keep_attention: bool = False
    ) -> tuple[Tensor, Tensor | None, list[dict[str, Tensor]]]:
        """Waveform → Transformer outputs (B, T', d), frame lengths, per-layer records."""
        h = self.projection(self.feature_norm(self.encoder(x, lengths)))
        frame_lengths = self.encoder.out_lengths(lengths) if lengths is not None else None
        h = h + sinusoidal_positions(h.shape[1], h.shape[2], h.device, h.dtype)
        h = self.input_dropout(h)
        key_mask = lengths_to_mask(frame_lengths, h.shape[1]) if frame_lengths is not None else None
        records: list[dict[str, Tensor]] = []
        for layer in self.layers:
            h, record = layer(h, key_mask)
            if keep_attention:
                records.append(record)
        return h, frame_lengths, records

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        h, frame_lengths, _ = self._frames(x, lengths)
        # Dense layers per frame, then average pooling (DST's order); the output layer is linear,
        # so it commutes with the pooling and lives in forward_head.
        return masked_mean(self.head(h, pre_logits=True), frame_lengths)

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return features if pre_logits else self.head.output(features)

    def attention_maps(
        self, x: Tensor, lengths: Tensor | Sequence[int] | None = None
    ) -> tuple[list[dict[str, Tensor]], Tensor]:
        """Per-layer attention records and the valid frames per item.

        Deformable layers give ``weights`` and ``positions`` (B, H, T', K) — where in frames each
        query looked and how much; vanilla layers give ``weights`` (B, H, T', T').
        """
        x, lens = self.check_input(x, lengths)
        with torch.inference_mode():
            h, frame_lengths, records = self._frames(x, lens, keep_attention=True)
        if frame_lengths is None:
            frame_lengths = torch.full((x.shape[0],), h.shape[1], dtype=torch.long)
        return records, frame_lengths

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        if not self.layers:
            return super()._explain_maps(x, lengths, target)
        records, frame_lengths = self.attention_maps(x, lengths)
        n_frames = records[0]["weights"].shape[2]
        query_mask = lengths_to_mask(frame_lengths, n_frames).to(x.dtype)  # (B, T')
        total = x.new_zeros(x.shape[0], n_frames)
        for record in records:
            received = _attention_received(record, n_frames) * query_mask[:, None, :, None]
            received = received.sum(dim=(1, 2))  # over heads and queries → (B, T')
            total += received / received.sum(dim=1, keepdim=True).clamp_min(1e-12)
        return resample_time(total / len(records), frame_lengths, lengths, x.shape[-1])


def _attention_received(record: dict[str, Tensor], n_frames: int) -> Tensor:
    """(B, H, T, n_frames): attention each query gives to each key frame."""
    weights = record["weights"]
    if "positions" not in record:
        return weights
    positions = record["positions"]
    left = positions.floor()
    frac = positions - left
    left_idx = left.long().clamp(0, n_frames - 1)
    right_idx = (left_idx + 1).clamp(max=n_frames - 1)
    out = weights.new_zeros(*weights.shape[:3], n_frames)
    out.scatter_add_(3, left_idx, weights * (1 - frac))
    out.scatter_add_(3, right_idx, weights * frac)
    return out


@register_model(SERCT)
def serct(num_classes: int, **config: Any) -> SERCT:
    """SERCT CNN-Transformer with deformable speech attention (DST, Chen et al. ICASSP 2023)."""
    return SERCT(SERCTConfig.from_dict(config), num_classes)
