"""A Vision Transformer on the mel spectrogram.

Follows Dosovitskiy et al., "An image is worth 16x16 words: Transformers for image recognition at
scale", ICLR 2021, applied to the log-mel spectrogram as in Gong, Chung & Glass, "AST: Audio
Spectrogram Transformer", Interspeech 2021, and the ViT-for-SER line of work (e.g. Akinpelu,
Viriri & Adegun, "An enhanced speech emotion recognition using vision transformer", Scientific
Reports 14, 2024): the (n_mels × time) map is cut into 16×16 patches, linearly embedded, given
positional embeddings and a CLS token, passed through 8 pre-norm encoder layers, and the CLS
output goes through an MLP head.

CPU-sized defaults: width 192, 3 heads, MLP ratio 4 (the "Tiny" ViT width), ~3.6 M parameters.

Variable length: the time axis is zero-padded to a multiple of the patch size; patches past an
item's length are masked out of attention, so a padded batch equals its items alone. Position
embeddings are factorised into a frequency table and a time table learned for ``max_frames``
frames (default 1024 ≈ 10 s at a 10 ms hop); longer inputs interpolate the time table (and then
padded batches are no longer exactly equal to single items).

Explanation: attention rollout (Abnar & Zuidema, "Quantifying attention flow in transformers",
ACL 2020) from the CLS token to the patches, stretched over the input → (B, F, T).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._base import SERModel
from ._config import ModelConfig, check_choice
from ._cpu_size import from_scratch_card
from ._explain import attention_rollout, resample_time_freq
from ._layers import (
    ClassifierMLP,
    MultiHeadSelfAttention,
    TransformerLayer,
    mask_time,
    pad_to_multiple,
)
from ._registry import register_model

__all__ = ["MelViT", "MelViTConfig", "vit"]

REFERENCE = (
    "Dosovitskiy et al., 'An image is worth 16x16 words', ICLR 2021, on mel spectrograms as in "
    "Gong, Chung & Glass, 'AST: Audio Spectrogram Transformer', Interspeech 2021"
)


@dataclass
class MelViTConfig(ModelConfig):
    """Config of :class:`MelViT`.

    Attributes:
        features: ``"logmel"`` (or ``"mfcc"``).
        n_features: mel bands (rows); the rows past the last whole patch are dropped.
        patch_size: square patch side (frequency bins × frames).
        embed_dim: width of the encoder.
        depth: number of encoder layers.
        num_heads: attention heads.
        mlp_ratio: encoder MLP width / embed_dim.
        dropout: dropout in the encoder and head.
        head_hidden: hidden layer(s) of the MLP head.
        max_frames: frames covered by the learned time position table.
    """

    features: str = "logmel"
    n_features: int = 64
    patch_size: int = 16
    embed_dim: int = 192
    depth: int = 8
    num_heads: int = 3
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    head_hidden: tuple[int, ...] = (192,)
    max_frames: int = 1024

    def __post_init__(self) -> None:
        check_choice("features", self.features, ("logmel", "mfcc"))
        if self.n_features < self.patch_size:
            raise ValueError(f"n_features={self.n_features} < patch_size={self.patch_size}")
        if self.embed_dim % self.num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")


class MelViT(SERModel):
    """ViT on (B, F, T) log-mel maps with a CLS token and factorised position embeddings."""

    input_kind = "logmel"
    default_features: ClassVar[str] = "logmel"
    supports_variable_length: ClassVar[bool] = True
    explanation: ClassVar[str] = "attention"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = MelViTConfig
    default_name: ClassVar[str] = "vit"
    config: MelViTConfig

    def __init__(self, config: MelViTConfig, num_classes: int) -> None:
        super().__init__(config, num_classes)
        c = config
        p, d = c.patch_size, c.embed_dim
        self.freq_patches = c.n_features // p
        self.max_time_patches = math.ceil(c.max_frames / p)
        self.patch_embed = nn.Conv2d(1, d, kernel_size=p, stride=p)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_freq = nn.Parameter(torch.zeros(1, self.freq_patches, 1, d))
        self.pos_time = nn.Parameter(torch.zeros(1, 1, self.max_time_patches, d))
        self.pos_cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            TransformerLayer(
                d,
                MultiHeadSelfAttention(d, c.num_heads, dropout=c.dropout),
                int(d * c.mlp_ratio),
                dropout=c.dropout,
                activation="gelu",
                norm_first=True,
            )
            for _ in range(c.depth)
        )
        self.norm = nn.LayerNorm(d)
        self.head = ClassifierMLP(
            d, c.head_hidden, num_classes, activation="gelu", dropout=c.dropout
        )
        for param in (self.cls_token, self.pos_freq, self.pos_time, self.pos_cls):
            nn.init.trunc_normal_(param, std=0.02)
        self.apply(_init_weights)

    def _time_positions(self, n: int) -> Tensor:
        if n <= self.max_time_patches:
            return self.pos_time[:, :, :n]
        table = self.pos_time[0, 0].T.unsqueeze(0)  # (1, d, max)
        return F.interpolate(table, size=n, mode="linear", align_corners=True)[0].T[None, None]

    def _encode(
        self, x: Tensor, lengths: Tensor | None, keep_attention: bool = False
    ) -> tuple[Tensor, list[Tensor], Tensor | None]:
        """CLS output (B, d), per-layer attention (B, H, N, N) if asked, valid tokens (B,)."""
        c = self.config
        p = c.patch_size
        x = mask_time(x, lengths)[:, : self.freq_patches * p]
        x = pad_to_multiple(x, p).unsqueeze(1)
        patches = self.patch_embed(x)  # (B, d, Fp, Tp)
        b, d, fp, tp = patches.shape
        tokens = patches.permute(0, 2, 3, 1) + self.pos_freq + self._time_positions(tp)
        tokens = tokens.reshape(b, fp * tp, d)
        cls = (self.cls_token + self.pos_cls).expand(b, -1, -1)
        h = self.pos_drop(torch.cat([cls, tokens], dim=1))
        token_lengths, key_mask = None, None
        if lengths is not None:
            # Tokens are frequency-major (row by row), so the key mask is not a prefix: hide every
            # time patch at or past ceil(length / p) in every frequency row.
            token_lengths = torch.div(lengths + p - 1, p, rounding_mode="floor")
            time_index = torch.arange(tp, device=x.device).repeat(fp)
            key_mask = torch.cat(
                [
                    torch.ones(b, 1, dtype=torch.bool, device=x.device),
                    time_index[None, :] < token_lengths[:, None],
                ],
                dim=1,
            )
        attentions: list[Tensor] = []
        for block in self.blocks:
            h, record = block(h, key_mask)
            if keep_attention:
                attentions.append(record["weights"])
        return self.norm(h[:, 0]), attentions, token_lengths

    def card(self) -> dict[str, Any]:
        c = self.config
        return {
            **super().card(),
            **from_scratch_card(
                f"trained on {c.n_features}-band {c.features} maps (no "
                "external pretrained weights), one torch thread",
                "a Transformer has no convolutional prior: from scratch it needs far more than "
                "a few hundred clips (ViTs are normally pretrained)",
            ),
        }

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self._encode(x, lengths)[0]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(features, pre_logits=pre_logits)

    def attention_maps(self, x: Tensor, lengths: Tensor | None = None) -> list[Tensor]:
        """Per-layer attention weights (B, heads, 1 + Fp·Tp, 1 + Fp·Tp), CLS first."""
        x, lengths = self.check_input(x, lengths)
        with torch.inference_mode():
            return self._encode(x, lengths, keep_attention=True)[1]

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        with torch.inference_mode():
            _, attentions, token_lengths = self._encode(x, lengths, keep_attention=True)
        n = attentions[0].shape[-1]
        rollout = attention_rollout(attentions)[-1]  # (I + A) / 2, renormalised, layer by layer
        fp = self.freq_patches
        tp = (n - 1) // fp
        grid = rollout[:, 0, 1:].reshape(-1, fp, tp)  # CLS → patches, (B, Fp, Tp)
        p = self.config.patch_size
        # Patches cover freq_patches·p rows; stretch that grid over the input rows it covers.
        frames = token_lengths * p if token_lengths is not None else None
        covered = resample_time_freq(grid, token_lengths, frames, (fp * p, tp * p))
        out = x.new_zeros(x.shape)
        out[:, : fp * p] = covered[:, :, : x.shape[-1]]
        return out


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


@register_model(MelViT)
def vit(num_classes: int, **config: Any) -> MelViT:
    """Vision Transformer on the mel spectrogram (Dosovitskiy et al. 2021; AST-style patches)."""
    return MelViT(MelViTConfig.from_dict(config), num_classes)
