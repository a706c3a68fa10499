"""VGG-19 on spectrogram images with the multi-corpus study's head.

Simonyan & Zisserman, "Very deep convolutional networks for large-scale image recognition",
ICLR 2015 (configuration E: 16 conv layers + 3 FC). By default the plain network (no BatchNorm),
matching torchvision's ``vgg19`` and its ImageNet file ``vgg19-dcbb9e9d.pth``; ``batch_norm=True``
builds ``vgg19_bn`` (``vgg19_bn-c79401a0.pth``). State-dict keys equal torchvision's
(``features.{i}.*``; the ImageNet ``classifier.*`` is replaced by the study's head, see
:mod:`ser_core.models._image`). Blocks for ``freeze_layers``: the 5 conv stages (each ends with a
max-pool). ``width_mult`` scales every conv's channels (64 … 512 → ×``width_mult``, at least
8; same 16 conv layers and 5 pools).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from ._config import ModelConfig
from ._image import ImageBackbone, ImageCNNConfig, ImageSERModel
from ._registry import register_model

__all__ = ["VGG19", "VGG19Backbone", "VGG19Config", "vgg19"]

_CFG_E: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
    512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)  # fmt: skip

REFERENCE = (
    "Simonyan & Zisserman, 'Very deep convolutional networks for large-scale image recognition', "
    "ICLR 2015, with the multi-corpus SER study's head (FC128-BN-drop0.6-FC64-BN-drop0.6)"
)


class VGG19Backbone(ImageBackbone):
    """torchvision-compatible VGG-19 (``include_top`` adds the ImageNet classifier)."""

    def __init__(
        self,
        batch_norm: bool = False,
        include_top: bool = False,
        num_classes: int = 1000,
        width_mult: float = 1.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for entry in _CFG_E:
            if entry == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            assert isinstance(entry, int)
            v = max(8, round(entry * width_mult))
            layers.append(nn.Conv2d(in_ch, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            in_ch = v
        self.features = nn.Sequential(*layers)
        self.out_channels = in_ch
        if include_top:
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(in_ch * 7 * 7, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, num_classes),
            )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def blocks(self) -> list[nn.Module]:
        """The 5 conv stages, each ending with its max-pool."""
        stages: list[nn.Module] = []
        current: list[nn.Module] = []
        for layer in self.features:
            current.append(layer)
            if isinstance(layer, nn.MaxPool2d):
                stages.append(nn.Sequential(*current))
                current = []
        return stages

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


@dataclass
class VGG19Config(ImageCNNConfig):
    """Config of :class:`VGG19` (see :class:`ImageCNNConfig`); ``batch_norm`` picks vgg19_bn."""

    batch_norm: bool = False


class VGG19(ImageSERModel):
    """VGG-19 (plain by default) with the multi-corpus study's head."""

    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = VGG19Config
    default_name: ClassVar[str] = "vgg19"
    top_prefixes: ClassVar[tuple[str, ...]] = ("classifier.",)
    config: VGG19Config

    @property
    def weight_files(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("vgg19_bn-c79401a0.pth",) if self.config.batch_norm else ("vgg19-dcbb9e9d.pth",)

    def card_notes(self) -> list[str]:
        notes = super().card_notes()
        if self.config.batch_norm:
            notes.append(
                "BatchNorm after every conv (torchvision's vgg19_bn), which lets the 16-conv "
                "stack train from scratch without the paper's staged initialisation"
            )
        return notes

    def build_backbone(self) -> ImageBackbone:
        return VGG19Backbone(batch_norm=self.config.batch_norm, width_mult=self.config.width_mult)


@register_model(VGG19)
def vgg19(num_classes: int, **config: Any) -> VGG19:
    """VGG-19 on spectrogram images (Simonyan & Zisserman 2015; multi-corpus study head)."""
    return VGG19(VGG19Config.from_dict(config), num_classes)
