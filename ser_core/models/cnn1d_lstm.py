"""1-D CNN-LSTM on the raw waveform (the EMO-DB study).

Follows the 1-D CNN LSTM network of Zhao, Mao & Chen, "Speech emotion recognition using deep 1D &
2D CNN LSTM networks", Biomedical Signal Processing and Control 47 (2019) 312-323, evaluated on
EMO-DB: four 1-D local feature learning blocks (conv, BatchNorm, ELU, max-pool) with 64, 64, 128,
128 filters learn local features from the raw signal, one LSTM layer learns the long-term
dependencies, and fully connected layers classify.

Input: (B, T) waveform at 16 kHz. Variable length: yes (masked blocks, packed LSTM).
Explanation: Grad-CAM on the last conv block, stretched over the samples → (B, T).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor

from ._base import SERModel
from ._config import ModelConfig
from ._cpu_size import cpu_size_card
from ._explain import grad_cam, resample_time
from ._layers import ClassifierMLP, LSTMEncoder, MaskedConvStack
from ._registry import register_model

__all__ = ["CNN1DLSTM", "CNN1DLSTMConfig", "cnn1d_lstm"]

REFERENCE = (
    "Zhao, Mao & Chen, 'Speech emotion recognition using deep 1D & 2D CNN LSTM networks', "
    "Biomed. Signal Process. Control 47 (2019) 312-323 (1-D CNN LSTM on raw EMO-DB speech)"
)
#: The paper's network (the config defaults); the model card lists what a CPU-sized variant cut.
FULL_SIZE = {"channels": (64, 64, 128, 128), "lstm_hidden": 256, "fc_hidden": (128,)}


@dataclass
class CNN1DLSTMConfig(ModelConfig):
    """Config of :class:`CNN1DLSTM`.

    Attributes:
        features: always ``"waveform"``.
        sample_rate: expected sampling rate (Hz).
        channels: filters of the four local feature learning blocks.
        kernel_size: 1-D conv kernel.
        pool: max-pool factor per block (4 → 256× downsampling, 62.5 steps per second).
        activation: block and dense activation.
        conv_dropout: dropout after each block.
        lstm_hidden: LSTM units.
        fc_hidden: dense layers before the output.
        dropout: dropout after each dense layer.
    """

    features: str = "waveform"
    sample_rate: int = 16000
    channels: tuple[int, ...] = (64, 64, 128, 128)
    kernel_size: int = 3
    pool: int = 4
    activation: str = "elu"
    conv_dropout: float = 0.1
    lstm_hidden: int = 256
    fc_hidden: tuple[int, ...] = (128,)
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.features != "waveform":
            raise ValueError("cnn1d_lstm takes the raw waveform: features must be 'waveform'")


class CNN1DLSTM(SERModel):
    """1-D CNN-LSTM on the raw waveform (Zhao et al., 2019)."""

    input_kind = "waveform"
    default_features: ClassVar[str] = "waveform"
    supports_variable_length: ClassVar[bool] = True
    explanation: ClassVar[str] = "gradcam"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = CNN1DLSTMConfig
    default_name: ClassVar[str] = "cnn1d_lstm"
    # The EMO-DB CNN-LSTM study trained with SGD and momentum rather than Adam.
    default_optimizer: ClassVar[dict[str, Any]] = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}
    config: CNN1DLSTMConfig

    def __init__(self, config: CNN1DLSTMConfig, num_classes: int) -> None:
        super().__init__(config, num_classes)
        c = config
        self.convs = MaskedConvStack.of_widths(
            c.channels,
            dims=1,
            kernel_size=c.kernel_size,
            pool=c.pool,
            activation=c.activation,
            dropout=c.conv_dropout,
        )
        self.lstm = LSTMEncoder(self.convs.out_channels, c.lstm_hidden)
        self.head = ClassifierMLP(
            self.lstm.out_features,
            c.fc_hidden,
            num_classes,
            activation=c.activation,
            dropout=c.dropout,
        )

    def card(self) -> dict[str, Any]:
        return {**super().card(), **cpu_size_card(self.config, FULL_SIZE)}

    @property
    def min_input_length(self) -> int:
        return self.convs.time_reduction

    def _encode(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """(B, T) → embedding (B, D) and the conv output (B, C, T')."""
        conv_out, lengths = self.convs(x.unsqueeze(1), lengths)
        return self.lstm(conv_out.transpose(1, 2), lengths)[1], conv_out

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self._encode(x, lengths)[0]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(features, pre_logits=pre_logits)

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        def run() -> tuple[Tensor, Tensor]:
            embedding, conv_out = self._encode(x, lengths)
            return self.forward_head(embedding), conv_out

        cam = grad_cam(run, target)
        frame_lengths = self.convs.out_lengths(lengths) if lengths is not None else None
        return resample_time(cam, frame_lengths, lengths, x.shape[-1])


@register_model(CNN1DLSTM)
def cnn1d_lstm(num_classes: int, **config: Any) -> CNN1DLSTM:
    """1-D CNN-LSTM on the raw waveform (EMO-DB study: Zhao, Mao & Chen 2019)."""
    return CNN1DLSTM(CNN1DLSTMConfig.from_dict(config), num_classes)
