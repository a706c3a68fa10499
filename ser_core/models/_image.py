"""Shared base of the spectrogram-image CNNs (``vgg19``, ``resnet50``, ``mobilenet_v3``).

torchvision is not a dependency: PyPI's torchvision wheels link CUDA libraries and fail to import
beside the CPU torch build ("operator torchvision::nms does not exist"). The three backbones are
therefore re-implemented compactly in their own files with state-dict keys and shapes identical to
torchvision's, so ImageNet weights published for torchvision load into them with
``torch.load(weights_only=True)`` — never pickle.

ImageNet weights are used when present on the machine: ``pretrained="auto"`` (the default) looks
for torchvision's file names in the torch hub cache (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``), a path loads that file, ``None`` / ``False`` trains from
scratch. Nothing is ever downloaded. The choice is recorded in ``config.pretrained_source`` (the
file used, or ``"scratch"``) and shown by :meth:`ImageSERModel.card`; a model rebuilt from a
checkpoint (``pretrained_source`` already set) skips the lookup, its weights come from the file.

The head is the multi-corpus study's: global average pooling → FC 128 → BatchNorm → dropout 0.6 →
FC 64 → BatchNorm → dropout 0.6 → output. ``freeze_layers=N`` freezes the first N blocks of the
backbone (requires_grad off, BatchNorm statistics frozen); what a block is is listed per model.
Input: (B, 3, H, W) spectrogram images as ``SpectrogramImageConfig`` makes them (ImageNet mean/std
normalisation applied there by default; set ``imagenet_normalize=True`` to feed [0, 1] images
instead); time runs along W. Explanation: Grad-CAM on the last feature map → (B, H, W).

CPU-sized variants: ``width_mult`` scales every channel count of the backbone (same topology:
same layers, kernels, strides and blocks; torchvision's ``width_mult`` for MobileNetV3), and the
networks pool globally, so small images (64×128) work too. Only ``width_mult=1`` fits ImageNet
weights; a reduced width always trains from scratch.

BatchNorm: every BatchNorm layer (backbone and head) updates its running statistics with
``bn_momentum`` (PyTorch's default 0.1). torchvision's MobileNetV3 uses 0.01, tuned for ImageNet's
hundreds of thousands of steps; on a small corpus (about 11 steps per EMO-DB epoch) the running
variances then stay near their initial 1 while the true batch variances are far smaller, the
eval-mode activations shrink layer after layer and every prediction collapses to one class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ser_core.errors import CheckpointError

from ._base import SERModel
from ._config import ModelConfig, check_choice
from ._cpu_size import from_scratch_card
from ._explain import grad_cam
from ._layers import image_head

__all__ = [
    "ImageBackbone",
    "ImageCNNConfig",
    "ImageSERModel",
    "find_hub_weights",
    "hub_checkpoint_dir",
]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def hub_checkpoint_dir() -> Path:
    """The torch hub cache's ``checkpoints`` folder (honours ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_hub_weights(filenames: Sequence[str]) -> Path | None:
    """The first of ``filenames`` present in the torch hub cache, or ``None``."""
    folder = hub_checkpoint_dir()
    for name in filenames:
        if (folder / name).is_file():
            return folder / name
    return None


class ImageBackbone(nn.Module):
    """What the image models need from a backbone (torchvision key names are the subclass's)."""

    out_channels: int

    def blocks(self) -> list[nn.Module]:
        """Backbone blocks in input-to-output order, the units of ``freeze_layers``."""
        raise NotImplementedError

    def forward_features(self, x: Tensor) -> Tensor:
        """Feature map (B, C, h, w)."""
        raise NotImplementedError


@dataclass
class ImageCNNConfig(ModelConfig):
    """Config shared by the image CNNs.

    Attributes:
        features: always ``"spectrogram_image"``.
        image_size: expected image side (H = W); the networks pool globally, so other sizes
            work too, but the feature config should produce this one.
        pretrained: ``"auto"`` / ``True`` (hub cache if present), a file path, or ``None`` /
            ``False`` (scratch).
        pretrained_source: filled in at construction: the weights file used, or ``"scratch"``.
        freeze_layers: freeze the first N backbone blocks.
        head_dropout: dropout of the head (0.6 in the study).
        imagenet_normalize: normalise [0, 1] inputs with ImageNet's mean and std inside the
            model (off: ``SpectrogramImageConfig(imagenet_norm=True)`` already does it).
        width_mult: channel multiplier of the backbone (1.0: the paper's network; 0.25: a
            CPU-sized variant of the same topology). ImageNet weights need 1.0.
        bn_momentum: momentum of every BatchNorm's running statistics (see the module doc).
    """

    features: str = "spectrogram_image"
    image_size: int = 224
    pretrained: str | bool | None = "auto"
    pretrained_source: str | None = None
    freeze_layers: int = 0
    head_dropout: float = 0.6
    imagenet_normalize: bool = False
    width_mult: float = 1.0
    bn_momentum: float = 0.1

    def __post_init__(self) -> None:
        check_choice("features", self.features, ("spectrogram_image",))
        if self.freeze_layers < 0:
            raise ValueError("freeze_layers must be >= 0")
        if not self.width_mult > 0:
            raise ValueError(f"width_mult must be > 0, got {self.width_mult}")
        if not 0.0 < self.bn_momentum <= 1.0:
            raise ValueError(f"bn_momentum must be in (0, 1], got {self.bn_momentum}")


class ImageSERModel(SERModel):
    """Base of the torchvision-compatible image CNNs with the multi-corpus study's head.

    Subclasses implement :meth:`build_backbone` returning a module with ``forward_features(x)
    -> (B, C, h, w)``, ``out_channels`` and ``blocks()``, and list torchvision's ImageNet file
    names in ``weight_files`` and the key prefixes of torchvision's classifier in
    ``top_prefixes`` (dropped when loading ImageNet weights).
    """

    input_kind = "image"
    default_features: ClassVar[str] = "spectrogram_image"
    supports_variable_length: ClassVar[bool] = False
    explanation: ClassVar[str] = "gradcam"
    weight_files: ClassVar[tuple[str, ...]] = ()
    top_prefixes: ClassVar[tuple[str, ...]] = ()
    config: ImageCNNConfig
    backbone: ImageBackbone
    mean: Tensor
    std: Tensor

    def __init__(self, config: ImageCNNConfig, num_classes: int) -> None:
        super().__init__(config, num_classes)
        self.backbone = self.build_backbone()
        self.head = image_head(self.backbone.out_channels, num_classes, config.head_dropout)
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.momentum = config.bn_momentum
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        if config.pretrained_source is None:
            path = self._resolve_pretrained(config.pretrained)
            if path is not None:
                self.load_imagenet_weights(path)
            config.pretrained_source = str(path) if path is not None else "scratch"
        self._frozen = self.freeze(config.freeze_layers)

    def build_backbone(self) -> ImageBackbone:
        raise NotImplementedError

    # ------------------------------------------------------------------ weights and freezing
    def _resolve_pretrained(self, request: str | bool | None) -> Path | None:
        if request in (None, False, "", "none", "scratch"):
            return None
        if request in (True, "auto", "imagenet"):
            # ImageNet weights exist for the paper's width only
            return find_hub_weights(self.weight_files) if self.config.width_mult == 1 else None
        path = Path(str(request)).expanduser()
        if self.config.width_mult != 1:
            raise CheckpointError(
                f"ImageNet weights fit width_mult=1 only, not {self.config.width_mult}; "
                "pass pretrained=None to train the reduced width from scratch"
            )
        if not path.is_file():
            raise CheckpointError(
                f"ImageNet weights file {path} does not exist; pass pretrained='auto' to use "
                f"the torch hub cache ({hub_checkpoint_dir()}) or None to train from scratch"
            )
        return path

    def load_imagenet_weights(self, path: str | Path) -> None:
        """Load torchvision ImageNet weights (its classifier is dropped) into the backbone.

        Raises:
            CheckpointError: when the file does not hold this architecture's weights.
        """
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        state = {k: v for k, v in state.items() if not k.startswith(self.top_prefixes)}
        try:
            result = self.backbone.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            raise CheckpointError(f"{path} does not fit {self.default_name}: {exc}") from exc
        if result.missing_keys or result.unexpected_keys:
            raise CheckpointError(
                f"{path} is not a torchvision {self.default_name} checkpoint: missing "
                f"{result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]}"
            )

    def freeze(self, n_blocks: int) -> list[nn.Module]:
        """Freeze the first ``n_blocks`` backbone blocks; returns them."""
        blocks = list(self.backbone.blocks())
        if n_blocks > len(blocks):
            raise ValueError(
                f"freeze_layers={n_blocks} but {self.default_name} has {len(blocks)} blocks"
            )
        frozen = blocks[:n_blocks]
        for block in frozen:
            for param in block.parameters():
                param.requires_grad_(False)
            block.eval()
        return frozen

    def train(self, mode: bool = True) -> ImageSERModel:
        super().train(mode)
        for block in getattr(self, "_frozen", []):
            block.eval()  # frozen BatchNorm keeps its ImageNet statistics
        return self

    def card(self) -> dict[str, Any]:
        info = super().card()
        source = self.config.pretrained_source
        info["weights"] = (
            "trained from scratch (no ImageNet weights found)"
            if source in (None, "scratch")
            else f"initialised from ImageNet weights {source}"
        )
        info["frozen_blocks"] = self.config.freeze_layers
        info["notes"] = self.card_notes()
        reasons = []
        if self.config.pretrained_source in (None, "scratch"):
            reasons.append("no ImageNet pretraining (none installs offline)")
        if self.config.width_mult != 1 or self.config.image_size != 224:
            reasons.append(
                f"the CPU budget: width × {self.config.width_mult:g}, "
                f"{self.config.image_size}-pixel-high images, one torch thread"
            )
        return {**info, **from_scratch_card(*reasons)}

    def card_notes(self) -> list[str]:
        """Sentences for the model card: where the weights come from, and the CPU-size
        reduction (if any) against the paper's 224×224 images at full width."""
        config = self.config
        if config.pretrained_source in (None, "scratch"):
            weights = (
                "weights: trained from scratch. No ImageNet weights are installed on this "
                "offline machine (nothing is downloaded), so none of the paper's ImageNet "
                "pretraining is used"
            )
            if config.width_mult != 1:
                weights += f"; ImageNet weights would not fit width_mult={config.width_mult} anyway"
        else:
            weights = f"weights: initialised from ImageNet weights {config.pretrained_source}"
        notes = [weights]
        reductions = []
        if config.width_mult != 1:
            reductions.append(f"every channel count × {config.width_mult:g} (width_mult)")
        if config.image_size != 224:
            reductions.append(
                f"images {config.image_size} pixels high (width: the feature config) instead "
                "of 224 × 224"
            )
        if reductions:
            notes.append(
                f"CPU-sized variant of the same topology: {'; '.join(reductions)}. The "
                "full-size configuration stays available (model config width_mult=1, feature "
                "config height=width=224; train it with --device cuda)"
            )
        return notes

    # ------------------------------------------------------------------ forward
    def feature_map(self, x: Tensor) -> Tensor:
        """Backbone feature map (B, C, h, w) of a batch of [0, 1] images."""
        if self.config.imagenet_normalize:
            x = (x - self.mean) / self.std
        return self.backbone.forward_features(x)

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.feature_map(x).mean(dim=(2, 3))

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(features, pre_logits=pre_logits)

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        def run() -> tuple[Tensor, Tensor]:
            fmap = self.feature_map(x)
            return self.forward_head(fmap.mean(dim=(2, 3))), fmap

        cam = grad_cam(run, target)
        return F.interpolate(cam.unsqueeze(1), size=x.shape[-2:], mode="bilinear")[:, 0]
