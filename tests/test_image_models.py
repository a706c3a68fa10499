"""The spectrogram-image CNNs (``mobilenet_v3``, ``resnet50``, ``vgg19``) as trained from scratch.

The shipped checkpoints train these networks on a few hundred clips (about a dozen optimiser steps
per epoch): their BatchNorm running statistics must keep up with so few steps, or every eval-mode
prediction is the same class. Also the CPU-sized variants (``width_mult``): same topology, fewer
channels, never ImageNet weights, and the model card says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ser_core.errors import CheckpointError
from ser_core.models import create_model, load_model
from ser_core.models.mobilenet_v3 import MobileNetV3Backbone
from ser_core.training.card import model_card
from ser_core.training.config import TrainConfig

IMAGE = 32
N_CLASSES = 3


def _bands(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Separable toy spectrogram images: class k is a bright band in the k-th third of the rows,
    on noise, scaled like ``SpectrogramImageConfig``'s ImageNet-normalised output."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % N_CLASSES
    x = 0.3 * torch.rand(n, 1, IMAGE, 2 * IMAGE, generator=g)
    third = IMAGE // N_CLASSES
    for i, k in enumerate(y.tolist()):
        x[i, :, k * third : (k + 1) * third] += 0.6
    x = (x - 0.45) / 0.225
    return x.expand(-1, 3, -1, -1).contiguous(), y


def _train_briefly(model: nn.Module, steps: int) -> None:
    """A few Adam steps, as in the first epochs on a small corpus."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for step in range(steps):
        x, y = _bands(24, seed=step)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("mobilenet_v3", {}),  # the paper's width: torchvision's BatchNorm momentum was 0.01
        ("resnet50", {"width_mult": 0.25}),
        ("vgg19", {"width_mult": 0.25, "batch_norm": True}),
    ],
)
def test_eval_mode_predictions_do_not_collapse_after_brief_training(
    name: str, config: dict[str, object]
) -> None:
    """Regression: with torchvision's MobileNetV3 BatchNorm momentum (0.01) the running variances
    stay near their initial 1 after 80 steps (0.99 ** 80 = 0.45 of it) while the batch variances
    are far smaller, so the eval-mode activations vanish and every clip gets the same class."""
    torch.manual_seed(0)
    model = create_model(name, N_CLASSES, pretrained=None, image_size=IMAGE, **config)
    _train_briefly(model, steps=80)
    x, y = _bands(60, seed=1000)
    model.train()
    with torch.no_grad():
        # dropout off, batch statistics on: what training saw
        for module in model.modules():
            if isinstance(module, nn.Dropout):
                module.eval()
        train_mode = model(x).argmax(dim=1)
        model.eval()
        eval_mode = model(x).argmax(dim=1)
    assert len(set(eval_mode.tolist())) > 1, f"eval-mode predictions collapsed: {eval_mode}"
    assert (eval_mode == y).float().mean() >= 0.6
    assert (eval_mode == train_mode).float().mean() >= 0.8


@pytest.mark.parametrize("name", ["mobilenet_v3", "resnet50", "vgg19"])
def test_bn_momentum_reaches_every_batchnorm(name: str) -> None:
    extra = {"batch_norm": True} if name == "vgg19" else {}
    model = create_model(name, N_CLASSES, pretrained=None, width_mult=0.25, **extra)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all(m.momentum == 0.1 for m in norms)
    model = create_model(
        name, N_CLASSES, pretrained=None, width_mult=0.25, bn_momentum=0.3, **extra
    )
    assert all(
        m.momentum == 0.3 for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    )
    with pytest.raises(ValueError, match="bn_momentum"):
        create_model(name, N_CLASSES, pretrained=None, bn_momentum=0.0)
    with pytest.raises(ValueError, match="width_mult"):
        create_model(name, N_CLASSES, pretrained=None, width_mult=0)


@pytest.mark.parametrize("name", ["mobilenet_v3", "resnet50", "vgg19"])
def test_reduced_width_keeps_the_topology_and_round_trips(name: str, tmp_path: Path) -> None:
    with torch.device("meta"):
        full = create_model(name, N_CLASSES, pretrained=None)
    small = create_model(name, N_CLASSES, pretrained=None, width_mult=0.25, image_size=IMAGE)
    # the same layers under the same names, only narrower
    assert list(full.state_dict()) == list(small.state_dict())
    assert small.num_parameters() < full.num_parameters() / 8
    x, _ = _bands(4, seed=3)
    small.eval()
    with torch.no_grad():
        before = small(x)
    small.save_pretrained(tmp_path / name)
    again = load_model(tmp_path / name)
    assert again.config.width_mult == 0.25
    with torch.no_grad():
        assert torch.allclose(again(x), before, atol=1e-5)


def test_mobilenet_width_mult_follows_torchvision() -> None:
    """torchvision's ``mobilenet_v3_large(width_mult=0.5)``: stem 8 channels, last conv 480."""
    net = MobileNetV3Backbone(width_mult=0.5)
    assert net.features[0][0].out_channels == 8
    assert net.out_channels == 480
    assert net.features[-1][0].in_channels == 80


def test_reduced_width_never_takes_imagenet_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    weights = hub / "mobilenet_v3_large-5c1a4163.pth"
    torch.save(MobileNetV3Backbone(include_top=True).state_dict(), weights)
    assert create_model("mobilenet_v3", 4).config.pretrained_source == str(weights)
    small = create_model("mobilenet_v3", 4, width_mult=0.5)  # "auto": nothing fits
    assert small.config.pretrained_source == "scratch"
    with pytest.raises(CheckpointError, match="width_mult"):
        create_model("mobilenet_v3", 4, width_mult=0.5, pretrained=str(weights))


def test_card_says_scratch_and_cpu_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    model = create_model("resnet50", N_CLASSES, image_size=64, width_mult=0.25)
    model.labels = ["a", "b", "c"]
    notes = model.card()["notes"]
    assert any("No ImageNet weights" in note for note in notes)
    assert any("CPU-sized" in note and "0.25" in note and "64" in note for note in notes)
    text = model_card(model, TrainConfig(model="resnet50", corpora=["emodb"]), {})
    architecture = text.split("## Architecture")[1].split("## Data")[0]
    assert "No ImageNet weights" in architecture and "CPU-sized" in architecture
    full = create_model("resnet50", N_CLASSES, image_size=224)
    assert not any("CPU-sized" in note for note in full.card()["notes"])
    # the target for the corpus: missed by how much and why, or met
    data = {"corpora": ["emodb"], "n_train": 359, "train_speakers": ["a", "b"], "n_val": 49}
    missed = model_card(
        model,
        TrainConfig(model="resnet50", corpora=["emodb"]),
        {"data": data, "metrics": {"test": {"ua": 0.462}}},
    )
    assert "missed by 3.8 points" in missed and "no ImageNet pretraining" in missed
    assert "359 training clips" in missed and "width × 0.25" in missed
    met = model_card(
        model,
        TrainConfig(model="resnet50", corpora=["emodb"]),
        {"data": data, "metrics": {"test": {"ua": 0.55}}},
    )
    assert "met (55.0 %)" in met and "missed" not in met
