"""Pieces of one training run: seeding, the device, a fresh model, the refit and speaker
adaptation.

Split from :mod:`ser_core.training.trainer`; :mod:`ser_core.training._run` calls them.
"""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.errors import SERError
from ser_core.features import AugmentConfig
from ser_core.pipeline import InputPipeline, build_model
from ser_core.training._distill import Teacher
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


@dataclasses.dataclass(frozen=True)
class StartingPoint:
    """Where ``init_from``'s weights came from: a note for the card, and every corpus they were
    trained on (their licences bind the new weights too)."""

    note: str
    corpora: list[str]


def _fresh_model(config: TrainConfig, labels: list[str]) -> tuple[Any, Any, StartingPoint | None]:
    """The seeded model of ``config`` for ``labels`` (untrained, or holding ``init_from``'s
    weights), its feature config, and where the starting weights came from."""
    _seed_everything(config.seed)
    model, feature_config = _built(config, len(labels))
    model.labels = labels
    start = None
    if config.init_from:
        start = _load_initial_weights(model, feature_config, config)
    return model, feature_config, start


def _built(config: TrainConfig, num_classes: int) -> tuple[Any, Any]:
    try:
        return build_model(
            config.model, num_classes, config.model_config, config.feature_config or None
        )
    except ValueError as exc:
        if isinstance(exc, SERError):
            raise
        raise TrainConfigError(str(exc)) from exc


def _load_initial_weights(model: Any, feature_config: Any, config: TrainConfig) -> StartingPoint:
    """Copy ``config.init_from``'s weights into ``model``; returns where they came from.

    The source must be the same model with the same config and features. Tensors sized by the
    number of classes (found by building the model with one class more) are copied row by row
    for the labels both share; rows of the other labels keep their fresh initialisation.
    """
    import torch
    from safetensors.torch import load_file

    from ser_core.checkpoint_config import read_checkpoint_config
    from ser_core.models import is_torch_model
    from ser_core.models._base import WEIGHTS_NAME

    source = Path(str(config.init_from))
    if not is_torch_model(model):
        raise TrainConfigError(f"init_from is for torch models; {model.model_name} is not one")
    try:
        payload = read_checkpoint_config(source, require_labels=True)
    except SERError as exc:
        raise TrainConfigError(f"init_from: {exc}") from exc
    if payload["name"] != model.model_name:
        raise TrainConfigError(
            f"init_from holds a {payload['name']} model, this run trains {model.model_name}"
        )
    for what, theirs, ours in (
        ("feature config", payload.get("feature_config") or {}, feature_config.to_dict()),
        ("model config", payload["config"], model.config.to_dict()),
    ):
        if theirs != ours:
            keys = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            raise TrainConfigError(
                f"init_from's {what} differs from this run's in {', '.join(keys)}: the weights "
                "were trained for other inputs or another shape"
            )
    weights = source / WEIGHTS_NAME
    if not weights.is_file():
        raise TrainConfigError(f"init_from: {source} has no {WEIGHTS_NAME}")
    theirs = load_file(str(weights))
    with torch.random.fork_rng():  # the probe must not shift this run's random stream
        probe, _ = _built(config, model.num_classes + 1)
    state = model.state_dict()
    per_class = {k for k, v in probe.state_dict().items() if v.shape != state[k].shape}
    source_labels = list(payload["labels"])
    shared = [label for label in model.labels if label in source_labels]
    for key in model._saved_keys():  # a frozen pretrained encoder is rebuilt, not stored
        tensor = state[key]
        if key not in theirs:
            raise TrainConfigError(f"init_from has no tensor {key!r}")
        if key in per_class:
            for row, label in enumerate(model.labels):
                if label in source_labels:
                    tensor[row] = theirs[key][source_labels.index(label)]
        elif theirs[key].shape == tensor.shape:
            tensor.copy_(theirs[key])
        else:
            raise TrainConfigError(f"init_from's {key!r} has shape {tuple(theirs[key].shape)}")
    model.load_state_dict(state)
    data = payload.get("data") or {}
    corpora = sorted({*data.get("corpora", []), *data.get("pretrained_on", [])})
    note = _init_note(source, payload, shared, [x for x in model.labels if x not in shared])
    return StartingPoint(note, corpora)


def _init_note(source: Path, payload: dict[str, Any], shared: list[str], fresh: list[str]) -> str:
    data = payload.get("data") or {}
    metrics = payload.get("metrics") or {}
    val_ua = (metrics.get("val") or {}).get("ua")
    trained = ", ".join(data.get("corpora") or []) or "its own data"
    val = f", validation UA {100 * val_ua:.1f}" if val_ua is not None else ""
    return (
        f"initialised from {source.name} ({payload['name']} trained on {trained}; best epoch "
        f"{metrics.get('best_epoch', '?')}{val}); output rows copied for "
        f"{', '.join(shared) or 'no label'}, fresh for {', '.join(fresh) or 'no label'}"
    )


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
    teacher: Teacher | None = None,
) -> Any:
    """A fresh model (same seed and config as ``first``) trained ``epochs`` epochs on ``rows``
    with no validation: the chosen epoch count, now with the validation speakers' data too."""
    config = data.config
    model, _, _ = _fresh_model(config, labels)
    if getattr(first.config, "speaker_adapted", False):
        model.config.speaker_adapted = True
    # The warm-up stays as trained: the refit runs at least past it.
    epochs = max(epochs, 1, math.floor(config.warmup_epochs) + 1)
    data.config = config.replace(epochs=epochs, patience=0)
    try:
        no_val = np.empty(0, dtype=np.int64)
        _fit_torch(
            model, pipe, data, rows, no_val, y_all, labels, augment, device, summarized, teacher
        )
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
