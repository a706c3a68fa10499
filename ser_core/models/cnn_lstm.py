"""CNN-LSTM on a log-mel / MFCC map, and its two halves alone (``cnn``, ``lstm``).

Follows the CNN-LSTM of the RAVDESS study in the model-zoo issue: four convolution blocks
(3×3 kernels, same padding, BatchNorm, ELU, 2×2 max-pool, dropout 0.2) with 64, 64, 128, 128
channels, the map flattened per time step into an LSTM of 256 units, a 128-unit dense layer and the
output; that study's ablation trains the CNN alone and the LSTM alone. The blocks are the 2-D
"local feature learning blocks" of Zhao, Mao & Chen, "Speech emotion recognition using deep 1D &
2D CNN LSTM networks", Biomedical Signal Processing and Control 47 (2019) 312-323.

Input: (B, F, T) log-mel (``features="logmel"``, F = n_mels) or MFCC (``features="mfcc"``).
Variable length: yes (masked convolutions, packed LSTM, masked mean for ``cnn``).
Explanation: Grad-CAM on the last conv block as a (F, T) map; input × gradient for ``lstm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor

from ._base import SERModel
from ._config import ModelConfig, check_choice
from ._cpu_size import from_scratch_card
from ._explain import grad_cam, resample_time_freq
from ._layers import ClassifierMLP, LSTMEncoder, MaskedConvStack, masked_mean
from ._registry import register_model

__all__ = ["CNNLSTM", "CNNLSTMConfig", "cnn", "cnn_lstm", "lstm"]

REFERENCE = (
    "CNN-LSTM of the RAVDESS study (4 conv blocks 64-64-128-128 + LSTM 256 + FC 128, with its "
    "CNN-only / LSTM-only ablation); blocks after Zhao, Mao & Chen, 'Speech emotion recognition "
    "using deep 1D & 2D CNN LSTM networks', Biomed. Signal Process. Control 47 (2019) 312-323"
)


@dataclass
class CNNLSTMConfig(ModelConfig):
    """Config of :class:`CNNLSTM` (defaults: the RAVDESS study's CNN-LSTM).

    Attributes:
        features: ``"logmel"`` or ``"mfcc"``.
        n_features: rows of the input map (n_mels, or MFCC coefficients incl. deltas).
        channels: output channels of the conv blocks.
        kernel_size: conv kernel (square).
        pool: max-pool factor per block (square).
        activation: conv and dense activation.
        conv_dropout: dropout after each conv block.
        lstm_hidden: LSTM units.
        fc_hidden: units of the dense layer before the output.
        dropout: dropout after the dense layer.
        use_cnn: keep the convolutional half (``lstm`` sets it False).
        use_lstm: keep the LSTM (``cnn`` sets it False; time is then mean-pooled).
    """

    features: str = "logmel"
    n_features: int = 64
    channels: tuple[int, ...] = (64, 64, 128, 128)
    kernel_size: int = 3
    pool: int = 2
    activation: str = "elu"
    conv_dropout: float = 0.2
    lstm_hidden: int = 256
    fc_hidden: int = 128
    dropout: float = 0.2
    use_cnn: bool = True
    use_lstm: bool = True

    def __post_init__(self) -> None:
        check_choice("features", self.features, ("logmel", "mfcc"))
        if not (self.use_cnn or self.use_lstm):
            raise ValueError("use_cnn and use_lstm cannot both be False")
        if self.use_cnn and self.n_features < self.pool ** len(self.channels):
            raise ValueError(
                f"n_features={self.n_features} is too small for {len(self.channels)} pools of "
                f"{self.pool}; use at least {self.pool ** len(self.channels)}"
            )


class CNNLSTM(SERModel):
    """CNN-LSTM on a (B, F, T) map; ``use_cnn`` / ``use_lstm`` give the ablation halves."""

    input_kind = "logmel"
    default_features: ClassVar[str] = "logmel"
    supports_variable_length: ClassVar[bool] = True
    explanation: ClassVar[str] = "gradcam"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = CNNLSTMConfig
    default_name: ClassVar[str] = "cnn_lstm"
    config: CNNLSTMConfig

    def __init__(self, config: CNNLSTMConfig, num_classes: int) -> None:
        super().__init__(config, num_classes)
        c = config
        self.convs: MaskedConvStack | None = None
        width = c.n_features
        if c.use_cnn:
            self.convs = MaskedConvStack.of_widths(
                c.channels,
                dims=2,
                kernel_size=c.kernel_size,
                pool=c.pool,
                activation=c.activation,
                dropout=c.conv_dropout,
            )
            width = self.convs.out_channels * (c.n_features // self.convs.time_reduction)
        self.lstm = LSTMEncoder(width, c.lstm_hidden) if c.use_lstm else None
        self.embed_dim = self.lstm.out_features if self.lstm is not None else width
        self.head = ClassifierMLP(
            self.embed_dim,
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
                f"trained on {_input_rows(c)} maps (no external pretrained weights), one "
                "torch thread"
            ),
        }

    @classmethod
    def explanation_for(cls, config: ModelConfig) -> str:
        return "gradcam" if getattr(config, "use_cnn", True) else "saliency"

    @property
    def min_input_length(self) -> int:
        return self.convs.time_reduction if self.convs is not None else 1

    def _encode(
        self, x: Tensor, lengths: Tensor | None
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(B, F, T) → embedding, conv output (B, C, F', T') or None, its valid lengths."""
        conv_out = None
        if self.convs is None:
            steps = x.transpose(1, 2)
        else:
            conv_out, lengths = self.convs(x.unsqueeze(1), lengths)
            b, ch, f, t = conv_out.shape
            steps = conv_out.permute(0, 3, 1, 2).reshape(b, t, ch * f)
        if self.lstm is not None:
            return self.lstm(steps, lengths)[1], conv_out, lengths
        return masked_mean(steps, lengths), conv_out, lengths

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self._encode(x, lengths)[0]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(features, pre_logits=pre_logits)

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        if self.convs is None:
            return super()._explain_maps(x, lengths, target)

        def run() -> tuple[Tensor, Tensor]:
            embedding, conv_out, _ = self._encode(x, lengths)
            assert conv_out is not None
            return self.forward_head(embedding), conv_out

        cam = grad_cam(run, target)
        frame_lengths = self.convs.out_lengths(lengths) if lengths is not None else None
        return resample_time_freq(cam, frame_lengths, lengths, (x.shape[1], x.shape[2]))


def _input_rows(config: CNNLSTMConfig) -> str:
    """The input map's rows in words, e.g. ``40-band logmel`` or ``39-row MFCC``."""
    if config.features == "mfcc":
        return f"{config.n_features}-row MFCC (coefficients with deltas)"
    return f"{config.n_features}-band {config.features}"


def _build(num_classes: int, config: dict[str, Any]) -> CNNLSTM:
    return CNNLSTM(CNNLSTMConfig.from_dict(config), num_classes)


@register_model(CNNLSTM)
def cnn_lstm(num_classes: int, **config: Any) -> CNNLSTM:
    """CNN-LSTM on log-mel/MFCC (RAVDESS study; Zhao et al. 2019 blocks)."""
    return _build(num_classes, config)


@register_model(CNNLSTM, use_lstm=False)
def cnn(num_classes: int, **config: Any) -> CNNLSTM:
    """The CNN half of the CNN-LSTM alone (RAVDESS study's ablation), time mean-pooled."""
    return _build(num_classes, {"use_lstm": False, **config})


@register_model(CNNLSTM, use_cnn=False)
def lstm(num_classes: int, **config: Any) -> CNNLSTM:
    """The LSTM half of the CNN-LSTM alone on the frames (RAVDESS study's ablation)."""
    return _build(num_classes, {"use_cnn": False, **config})
