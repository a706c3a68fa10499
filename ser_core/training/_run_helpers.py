"""Pieces of one training run: seeding, the device, a fresh model, the refit and speaker
adaptation.

Split from :mod:`ser_core.training.trainer`; :mod:`ser_core.training._run` calls them.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

import numpy as np
import pandas as pd

from ser_core.errors import SERError
from ser_core.features import AugmentConfig
from ser_core.pipeline import InputPipeline, build_model
from ser_core.training.config import TrainConfig, TrainConfigError
from ser_core.training.loop import _fit_torch
from ser_core.training.store import _Data


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - third-party code (audiomentations) reads the global state
    torch.manual_seed(seed)


def _device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainConfigError(f"device {name!r} asked for, but CUDA is not available here")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise TrainConfigError(f"unknown device {name!r}: {exc}") from exc


def _fresh_model(config: TrainConfig, labels: list[str]) -> tuple[Any, Any]:
    """The seeded, untrained model of ``config`` for ``labels``, and its feature config."""
    _seed_everything(config.seed)
    try:
        model, feature_config = build_model(
            config.model, len(labels), config.model_config, config.feature_config or None
        )
    except ValueError as exc:
        if isinstance(exc, SERError):
            raise
        raise TrainConfigError(str(exc)) from exc
    model.labels = labels
    return model, feature_config


def _refit(
    first: Any,
    data: _Data,
    pipe: InputPipeline,
    rows: np.ndarray,
    y_all: np.ndarray,
    labels: list[str],
    augment: AugmentConfig | None,
    device: Any,
    summarized: bool,
    epochs: int,
) -> Any:
    """A fresh model (same seed and config as ``first``) trained ``epochs`` epochs on ``rows``
    with no validation: the chosen epoch count, now with the validation speakers' data too."""
    config = data.config
    model, _ = _fresh_model(config, labels)
    if getattr(first.config, "speaker_adapted", False):
        model.config.speaker_adapted = True
    # The warm-up stays as trained: the refit runs at least past it.
    epochs = max(epochs, 1, math.floor(config.warmup_epochs) + 1)
    data.config = config.replace(epochs=epochs, patience=0)
    try:
        no_val = np.empty(0, dtype=np.int64)
        _fit_torch(model, pipe, data, rows, no_val, y_all, labels, augment, device, summarized)
    finally:
        data.config = config
    return model


def _speaker_adapted(data: _Data, model: Any, rows: np.ndarray, notes: list[str]) -> _Data:
    """A view of ``data`` whose features are normalised per speaker, each clip with the
    statistics of its speaker's other clips (leave-one-out; labels never used)."""
    from ser_core.adaptation import SpeakerNormalizer

    if not hasattr(model.config, "speaker_adapted"):
        raise TrainConfigError(
            f"speaker_adapt is available for the pretrained-encoder heads (whisper_base, "
            f"whisper_tiny, wav2vec2, pretrained), not {model.model_name}"
        )
    model.config.speaker_adapted = True
    rows = np.unique(rows.astype(np.int64))
    speakers = data.manifest["speaker"].astype(str).to_numpy()[rows]
    features = [data.features[int(r)] for r in rows]
    normalizer = SpeakerNormalizer.for_feature(features[0])
    counts = pd.Series(speakers).value_counts()
    alone = sorted(counts[counts < 2].index)
    if alone:
        raise TrainConfigError(
            f"speaker adaptation needs two or more clips per speaker; {', '.join(alone[:5])} "
            "have one"
        )
    adapted = normalizer.fit_transform(features, list(speakers), leave_one_out=True)
    notes.append(
        "speaker-adapted: every clip normalised (mean and standard deviation per channel) with "
        "its speaker's other clips, test speakers included (their other test clips, no labels)"
    )
    return dataclasses.replace(
        data, features=dict(zip(map(int, rows), adapted, strict=True)), signals={}, summaries={}
    )
