"""CNN → bidirectional LSTM → additive attention on a log-mel map (and ``cnn_bilstm`` without it).

Follows the CNN-BiLSTM with attention of the model-zoo issue: four conv blocks (32, 64, 128, 256
filters, 3×3, BatchNorm, 2×2 max-pool, dropout; L2 regularisation as weight decay), a
bidirectional LSTM of 128 units per direction, additive attention (Bahdanau et al., ICLR 2015) of
size 128 pooling the time steps, a dense layer with dropout and the output. The pattern (CNN for
local spectral patterns, BiLSTM for context, attention pooling to weigh emotionally salient frames)
is that of Zhao et al. 2019 and of attention-based SER such as Mirsamadi, Barsoum & Zhang,
"Automatic speech emotion recognition using recurrent neural networks with local attention",
ICASSP 2017. ``weight_decay`` is recorded in the config for the trainer's optimiser (L2).

Input: (B, F, T) log-mel or MFCC. Variable length: yes.
Explanation: ``cnn_bilstm_attn`` returns its attention weights stretched over the input frames →
(B, T); ``cnn_bilstm`` returns Grad-CAM on the last conv block → (B, F, T).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from ._base import SERModel
from ._config import ModelConfig, check_choice
from ._cpu_size import from_scratch_card
from ._explain import grad_cam, resample_time, resample_time_freq
from ._layers import AdditiveAttention, ClassifierMLP, LSTMEncoder, MaskedConvStack
from ._registry import register_model

__all__ = ["CNNBiLSTMAttention", "CNNBiLSTMAttentionConfig", "cnn_bilstm", "cnn_bilstm_attn"]

REFERENCE = (
    "CNN-BiLSTM with additive attention (conv 32-64-128-256, BiLSTM 128, attention 128); "
    "attention after Bahdanau, Cho & Bengio, ICLR 2015, and Mirsamadi, Barsoum & Zhang, "
    "'Automatic speech emotion recognition using recurrent neural networks with local "
    "attention', ICASSP 2017"
)


@dataclass
class CNNBiLSTMAttentionConfig(ModelConfig):
    """Config of :class:`CNNBiLSTMAttention`.

    Attributes:
        features: ``"logmel"`` or ``"mfcc"``.
        n_features: rows of the input map.
        channels: filters of the four conv blocks.
        kernel_size: conv kernel.
        pool: max-pool factor per block.
        activation: conv and dense activation.
        conv_dropout: dropout after each conv block.
        lstm_hidden: units per LSTM direction.
        use_attention: additive attention pooling (``cnn_bilstm`` sets False and uses the final
            hidden states of both directions instead).
        attention_dim: size of the additive attention's hidden layer.
        fc_hidden: dense layer before the output.
        dropout: dropout after the dense layer.
        weight_decay: L2 strength for the trainer's optimiser.
    """

    features: str = "logmel"
    n_features: int = 64
    channels: tuple[int, ...] = (32, 64, 128, 256)
    kernel_size: int = 3
    pool: int = 2
    activation: str = "relu"
    conv_dropout: float = 0.25
    lstm_hidden: int = 128
    use_attention: bool = True
    attention_dim: int = 128
    fc_hidden: int = 128
    dropout: float = 0.5
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        check_choice("features", self.features, ("logmel", "mfcc"))
        if self.n_features < self.pool ** len(self.channels):
            raise ValueError(
                f"n_features={self.n_features} is too small for {len(self.channels)} pools"
            )


class CNNBiLSTMAttention(SERModel):
    """CNN → BiLSTM → additive attention (or final states) → dense → output."""

    input_kind = "logmel"
    default_features: ClassVar[str] = "logmel"
    supports_variable_length: ClassVar[bool] = True
    explanation: ClassVar[str] = "attention"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = CNNBiLSTMAttentionConfig
    default_name: ClassVar[str] = "cnn_bilstm_attn"
    config: CNNBiLSTMAttentionConfig

    def __init__(self, config: CNNBiLSTMAttentionConfig, num_classes: int) -> None:
        super().__init__(config, num_classes)
        c = config
        self.convs = MaskedConvStack.of_widths(
            c.channels,
            dims=2,
            kernel_size=c.kernel_size,
            pool=c.pool,
            activation=c.activation,
            dropout=c.conv_dropout,
        )
        width = self.convs.out_channels * (c.n_features // self.convs.time_reduction)
        self.lstm = LSTMEncoder(width, c.lstm_hidden, bidirectional=True)
        self.attention = (
            AdditiveAttention(self.lstm.out_features, c.attention_dim) if c.use_attention else None
        )
        self.head = ClassifierMLP(
            self.lstm.out_features,
            (c.fc_hidden,),
            num_classes,
            activation=c.activation,
            dropout=c.dropout,
        )

    def card(self) -> dict[str, Any]:
        c = self.config
        return {
            **super().card(),
            **from_scratch_card(
                f"trained on {c.n_features}-band {c.features} maps (no "
                "external pretrained weights), one torch thread"
            ),
        }

    @classmethod
    def explanation_for(cls, config: ModelConfig) -> str:
        return "attention" if getattr(config, "use_attention", True) else "gradcam"

    @property
    def min_input_length(self) -> int:
        return self.convs.time_reduction

    def _encode(
        self, x: Tensor, lengths: Tensor | None
    ) -> tuple[Tensor, Tensor | None, Tensor, Tensor | None]:
        """Returns (embedding, attention weights or None, conv output, step lengths)."""
        conv_out, lengths = self.convs(x.unsqueeze(1), lengths)
        b, ch, f, t = conv_out.shape
        steps = conv_out.permute(0, 3, 1, 2).reshape(b, t, ch * f)
        outputs, last = self.lstm(steps, lengths)
        if self.attention is None:
            return last, None, conv_out, lengths
        context, weights = self.attention(outputs, lengths)
        return context, weights, conv_out, lengths

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self._encode(x, lengths)[0]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(features, pre_logits=pre_logits)

    def attention_weights(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Attention over the BiLSTM steps (B, T') and the steps' valid lengths (B,)."""
        if self.attention is None:
            raise ValueError("this model has no attention (use_attention=False)")
        x, lengths = self.check_input(x, lengths)
        with torch.inference_mode():
            _, weights, _, step_lengths = self._encode(x, lengths)
        assert weights is not None
        if step_lengths is None:
            step_lengths = torch.full((x.shape[0],), weights.shape[1], dtype=torch.long)
        return weights, step_lengths

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        if self.attention is not None:
            weights, step_lengths = self.attention_weights(x, lengths)
            return resample_time(weights, step_lengths, lengths, x.shape[-1])

        def run() -> tuple[Tensor, Tensor]:
            embedding, _, conv_out, _ = self._encode(x, lengths)
            return self.forward_head(embedding), conv_out

        cam = grad_cam(run, target)
        frame_lengths = self.convs.out_lengths(lengths) if lengths is not None else None
        return resample_time_freq(cam, frame_lengths, lengths, (x.shape[1], x.shape[2]))


@register_model(CNNBiLSTMAttention)
def cnn_bilstm_attn(num_classes: int, **config: Any) -> CNNBiLSTMAttention:
    """CNN-BiLSTM with additive attention on log-mel (Bahdanau 2015 / Mirsamadi 2017 attention)."""
    return CNNBiLSTMAttention(CNNBiLSTMAttentionConfig.from_dict(config), num_classes)


@register_model(CNNBiLSTMAttention, use_attention=False)
def cnn_bilstm(num_classes: int, **config: Any) -> CNNBiLSTMAttention:
    """CNN-BiLSTM without attention: final states of both directions feed the dense layer."""
    return CNNBiLSTMAttention(
        CNNBiLSTMAttentionConfig.from_dict({"use_attention": False, **config}), num_classes
    )
