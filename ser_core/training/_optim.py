"""Optimiser, learning-rate schedule and warm-up, and the regularised loss of the epoch loop:
what the small-data recipe (AdamW, cosine after a linear warm-up, label smoothing, mixup) is
made of, apart from the loop itself (:mod:`ser_core.training.loop`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ser_core.training.config import TrainConfig

__all__ = [
    "WarmUp",
    "effective_optimizer",
    "effective_weight_decay",
    "make_optimizer",
    "make_scheduler",
    "mixup",
    "regularised_loss",
    "weight_average",
]


def effective_weight_decay(model: Any, config: TrainConfig) -> float:
    """``config.weight_decay``, else the model config's ``weight_decay``, else 0."""
    if config.weight_decay is not None:
        return float(config.weight_decay)
    return float(getattr(model.config, "weight_decay", 0.0) or 0.0)


def effective_optimizer(model: Any, config: TrainConfig) -> dict[str, Any]:
    """Optimiser name, learning rate and momentum: the user's, else the model's, else Adam 1e-3."""
    own = dict(getattr(model, "default_optimizer", {}) or {})
    return {
        "optimizer": config.optimizer or own.get("optimizer", "adam"),
        "lr": float(config.lr if config.lr is not None else own.get("lr", 1e-3)),
        "momentum": float(
            config.momentum if config.momentum is not None else own.get("momentum", 0.9)
        ),
    }


def make_optimizer(model: Any, config: TrainConfig) -> Any:
    import torch

    settings = effective_optimizer(model, config)
    lr = settings["lr"]
    weight_decay = effective_weight_decay(model, config)
    groups = getattr(model, "param_groups", None)
    # Models with parts that need their own learning rate (a fine-tuned encoder) say so.
    params: Any = groups(lr) if callable(groups) else None
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
    elif config.weight_decay is not None:  # an explicit setting beats the model's own
        params = [{**group, "weight_decay": config.weight_decay} for group in params]
    if settings["optimizer"] == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=settings["momentum"], weight_decay=weight_decay
        )
    if settings["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def make_scheduler(optimizer: Any, config: TrainConfig) -> Any:
    import torch

    if config.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.step_size, gamma=config.gamma
        )
    if config.scheduler == "cosine":
        # Anneals over the epochs after the warm-up (the scheduler does not step during it).
        span = max(config.epochs - math.ceil(config.warmup_epochs), 1)
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=span)
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=config.gamma, patience=config.step_size
        )
    return None


class WarmUp:
    """Linear learning-rate warm-up over the first ``steps`` optimiser steps: step ``i``
    (0-based) runs at ``(i + 1) / steps`` of each parameter group's base rate."""

    def __init__(self, optimizer: Any, steps: int) -> None:
        self.optimizer = optimizer
        self.steps = steps
        self.done = 0
        self.base = [float(group["lr"]) for group in optimizer.param_groups]
        if steps > 0:  # the first epoch's logged rate is the first step's
            for group, base in zip(optimizer.param_groups, self.base, strict=True):
                group["lr"] = base / steps

    @property
    def active(self) -> bool:
        return self.done < self.steps

    def before_step(self) -> None:
        if not self.active:
            return
        scale = (self.done + 1) / self.steps
        for group, base in zip(self.optimizer.param_groups, self.base, strict=True):
            group["lr"] = base * scale
        self.done += 1


def mixup(
    x: Any, lengths: Any, alpha: float, rng: np.random.Generator
) -> tuple[Any, Any, Any, float]:
    """Mixup of a batch with a shuffled copy of itself: ``(x, lengths, permutation, λ)`` with
    λ ~ Beta(α, α) folded to ≥ 0.5 so the first label dominates (train accuracy reads it)."""
    import torch

    lam = float(rng.beta(alpha, alpha))
    lam = max(lam, 1.0 - lam)
    perm = torch.as_tensor(rng.permutation(x.shape[0]), device=x.device)
    mixed = lam * x + (1.0 - lam) * x[perm]
    if lengths is not None:
        lengths = torch.maximum(lengths, lengths[perm])
    return mixed, lengths, perm, lam


def regularised_loss(
    logits: Any,
    y: Any,
    class_weights: Any,
    row_weights: Any,
    label_smoothing: float,
) -> Any:
    """Cross-entropy of one batch: class-weighted, or a row-weighted mean when ``row_weights``
    are given (``corpus_class`` balance), with optional label smoothing."""
    import torch.nn.functional as F

    if row_weights is None:
        return F.cross_entropy(logits, y, weight=class_weights, label_smoothing=label_smoothing)
    per_row = F.cross_entropy(logits, y, reduction="none", label_smoothing=label_smoothing)
    return (per_row * row_weights).sum() / row_weights.sum()


def weight_average(model: Any, decay: float) -> Any:
    """An exponential moving average of ``model``'s weights and buffers (torch's
    ``AveragedModel``), to be updated after each optimiser step; its ``module`` is a model."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
