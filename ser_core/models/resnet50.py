"""ResNet-50 on spectrogram images with the multi-corpus study's head.

He, Zhang, Ren & Sun, "Deep residual learning for image recognition", CVPR 2016 — the
torchvision variant ("ResNet v1.5": stride 2 in the 3×3 conv of each bottleneck). State-dict keys
equal torchvision's ``resnet50`` (``conv1``, ``bn1``, ``layer1..4.*``; ImageNet files
``resnet50-11ad3fa6.pth`` (V2) or ``resnet50-0676ba61.pth`` (V1); the ImageNet ``fc.*`` is
replaced by the study's head, see :mod:`ser_core.models._image`). Blocks for ``freeze_layers``:
the stem (conv1 + bn1), layer1, layer2, layer3, layer4. ``width_mult`` scales the stem's and
every bottleneck's width (64, 128, 256, 512 → ×``width_mult``, at least 8; same depth).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from ._config import ModelConfig
from ._image import ImageBackbone, ImageCNNConfig, ImageSERModel
from ._registry import register_model

__all__ = ["ResNet50", "ResNet50Backbone", "ResNet50Config", "resnet50"]

REFERENCE = (
    "He, Zhang, Ren & Sun, 'Deep residual learning for image recognition', CVPR 2016, with the "
    "multi-corpus SER study's head (FC128-BN-drop0.6-FC64-BN-drop0.6)"
)


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 bottleneck with expansion 4, torchvision's key names."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50Backbone(ImageBackbone):
    """torchvision-compatible ResNet-50 (``include_top`` adds the ImageNet ``fc``); ``width_mult``
    scales every width (1.0: the paper's network)."""

    def __init__(
        self, include_top: bool = False, num_classes: int = 1000, width_mult: float = 1.0
    ) -> None:
        super().__init__()

        def scaled(channels: int) -> int:
            return max(8, round(channels * width_mult))

        stem = scaled(64)
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_ch = stem
        for index, (width, n_blocks, stride) in enumerate(
            ((scaled(64), 3, 1), (scaled(128), 4, 2), (scaled(256), 6, 2), (scaled(512), 3, 2)),
            start=1,
        ):
            layers = []
            for i in range(n_blocks):
                layers.append(Bottleneck(in_ch, width, stride if i == 0 else 1))
                in_ch = width * Bottleneck.expansion
            setattr(self, f"layer{index}", nn.Sequential(*layers))
        self.out_channels = in_ch
        if include_top:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def blocks(self) -> list[nn.Module]:
        """Stem (conv1 + bn1), layer1, layer2, layer3, layer4."""
        return [
            nn.ModuleList([self.conv1, self.bn1]),
            *(getattr(self, f"layer{i}") for i in range(1, 5)),
        ]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return x


@dataclass
class ResNet50Config(ImageCNNConfig):
    """Config of :class:`ResNet50` (see :class:`ImageCNNConfig`)."""


class ResNet50(ImageSERModel):
    """ResNet-50 with the multi-corpus study's head."""

    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = ResNet50Config
    default_name: ClassVar[str] = "resnet50"
    weight_files: ClassVar[tuple[str, ...]] = ("resnet50-11ad3fa6.pth", "resnet50-0676ba61.pth")
    top_prefixes: ClassVar[tuple[str, ...]] = ("fc.",)
    config: ResNet50Config

    def build_backbone(self) -> ImageBackbone:
        return ResNet50Backbone(width_mult=self.config.width_mult)


@register_model(ResNet50)
def resnet50(num_classes: int, **config: Any) -> ResNet50:
    """ResNet-50 on spectrogram images (He et al. 2016; multi-corpus study head)."""
    return ResNet50(ResNet50Config.from_dict(config), num_classes)
