"""MobileNetV3-Large on spectrogram images with the multi-corpus study's head.

Howard et al., "Searching for MobileNetV3", ICCV 2019 (the Large configuration, width 1.0).
State-dict keys equal torchvision's ``mobilenet_v3_large`` (``features.{0..16}.*``; ImageNet files
``mobilenet_v3_large-5c1a4163.pth`` (V2) or ``mobilenet_v3_large-8738ca79.pth`` (V1); the ImageNet
``classifier.*`` is replaced by the study's head, see :mod:`ser_core.models._image`). Blocks for
``freeze_layers``: the 17 entries of ``features`` (stem conv, 15 inverted residual blocks, last
1×1 conv). ``width_mult`` scales every channel count as torchvision's ``width_mult`` does
(``_make_divisible(c * width_mult, 8)``; the last conv keeps 6× the last block's output).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from ._config import ModelConfig
from ._image import ImageBackbone, ImageCNNConfig, ImageSERModel
from ._registry import register_model

__all__ = ["MobileNetV3", "MobileNetV3Backbone", "MobileNetV3Config", "mobilenet_v3"]

REFERENCE = (
    "Howard et al., 'Searching for MobileNetV3', ICCV 2019 (Large), with the multi-corpus SER "
    "study's head (FC128-BN-drop0.6-FC64-BN-drop0.6)"
)

# (in, kernel, expanded, out, squeeze-excite, activation, stride) — torchvision's Large table.
_LARGE: tuple[tuple[int, int, int, int, bool, str, int], ...] = (
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
)


def _make_divisible(value: float, divisor: int = 8) -> int:
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def _conv_bn_act(
    in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, act: str | None = None
) -> nn.Sequential:
    """torchvision's ``Conv2dNormActivation``: conv (no bias) → BN(eps 1e-3) → activation."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch, eps=0.001, momentum=0.01),
    ]
    if act is not None:
        layers.append(nn.Hardswish(inplace=True) if act == "HS" else nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation with a hard sigmoid (keys ``fc1``, ``fc2`` as torchvision)."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


class InvertedResidual(nn.Module):
    """MobileNetV3 bottleneck: expand 1×1 → depthwise k×k → (SE) → project 1×1 (+ residual)."""

    def __init__(
        self, in_ch: int, kernel: int, expanded: int, out_ch: int, se: bool, act: str, stride: int
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if expanded != in_ch:
            layers.append(_conv_bn_act(in_ch, expanded, 1, act=act))
        layers.append(_conv_bn_act(expanded, expanded, kernel, stride, groups=expanded, act=act))
        if se:
            layers.append(SqueezeExcitation(expanded, _make_divisible(expanded // 4)))
        layers.append(_conv_bn_act(expanded, out_ch, 1))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return out + x if self.use_res_connect else out


class MobileNetV3Backbone(ImageBackbone):
    """torchvision-compatible MobileNetV3-Large (``include_top`` adds the ImageNet classifier).

    ``width_mult`` scales the channels as torchvision's ``mobilenet_v3_large(width_mult=...)``.
    """

    def __init__(
        self, include_top: bool = False, num_classes: int = 1000, width_mult: float = 1.0
    ) -> None:
        super().__init__()

        def adjust(channels: int) -> int:
            return _make_divisible(channels * width_mult)

        rows = [
            (adjust(i), k, adjust(e), adjust(o), se, act, s) for i, k, e, o, se, act, s in _LARGE
        ]
        last_in = rows[-1][3]
        last_out = 6 * last_in
        layers: list[nn.Module] = [_conv_bn_act(3, rows[0][0], 3, stride=2, act="HS")]
        layers += [InvertedResidual(*row) for row in rows]
        layers.append(_conv_bn_act(last_in, last_out, 1, act="HS"))
        self.features = nn.Sequential(*layers)
        self.out_channels = last_out
        if include_top:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(
                nn.Linear(last_out, 1280),
                nn.Hardswish(inplace=True),
                nn.Dropout(p=0.2, inplace=True),
                nn.Linear(1280, num_classes),
            )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def blocks(self) -> list[nn.Module]:
        """The 17 entries of ``features``."""
        return list(self.features)

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


@dataclass
class MobileNetV3Config(ImageCNNConfig):
    """Config of :class:`MobileNetV3` (see :class:`ImageCNNConfig`)."""


class MobileNetV3(ImageSERModel):
    """MobileNetV3-Large with the multi-corpus study's head."""

    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = MobileNetV3Config
    default_name: ClassVar[str] = "mobilenet_v3"
    weight_files: ClassVar[tuple[str, ...]] = (
        "mobilenet_v3_large-5c1a4163.pth",
        "mobilenet_v3_large-8738ca79.pth",
    )
    top_prefixes: ClassVar[tuple[str, ...]] = ("classifier.",)
    config: MobileNetV3Config

    def build_backbone(self) -> ImageBackbone:
        return MobileNetV3Backbone(width_mult=self.config.width_mult)


@register_model(MobileNetV3)
def mobilenet_v3(num_classes: int, **config: Any) -> MobileNetV3:
    """MobileNetV3-Large on spectrogram images (Howard et al. 2019; multi-corpus study head)."""
    return MobileNetV3(MobileNetV3Config.from_dict(config), num_classes)
