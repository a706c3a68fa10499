"""Loading a checkpoint folder into a model and its feature config, checked, for
:meth:`Predictor.from_checkpoint <ser_core.inference.predictor.Predictor.from_checkpoint>`, and
the synthetic tone its warm-up predicts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ser_core.errors import CheckpointError, SERError
from ser_core.features import FeatureConfig, config_from_dict
from ser_core.inference.checkpoint import read_config, resolve_checkpoint, weights_file

__all__ = ["load_checkpoint", "warmup_tone"]


def load_checkpoint(
    path_or_name: str | os.PathLike[str],
) -> tuple[Path, dict[str, Any], Any, FeatureConfig | None]:
    """The folder, ``config.json`` payload, loaded model and feature config of a checkpoint
    folder (or a name in ``checkpoints/``).

    Raises:
        CheckpointError: no such checkpoint, a model this version does not know, a bad
            feature config, or weights that cannot be loaded.
    """
    from ser_core.models import is_registered, load_model  # torch: only when a model loads

    folder = resolve_checkpoint(path_or_name)
    payload = read_config(folder)
    weights_file(folder)
    if not is_registered(payload["name"]):
        raise CheckpointError(
            f"{folder}: model {payload['name']!r} is not in this version's registry "
            "(see `ser models`); upgrade ser_core or retrain"
        )
    feature = payload.get("feature_config")
    if feature is not None:
        try:
            feature = config_from_dict(feature)
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{folder}/config.json: bad feature_config: {exc}") from exc
    try:
        model = load_model(folder)
    except SERError:
        raise
    except Exception as exc:  # corrupt safetensors / skops files raise library errors
        raise CheckpointError(f"{folder}: cannot load the weights: {exc}") from exc
    return folder, payload, model, feature


def warmup_tone(rate: int = 16000) -> np.ndarray:
    """One second of a modulated 220 Hz tone at ``rate``: enough to run every stage once."""
    t = np.arange(rate, dtype=np.float32) / rate
    return (0.3 * np.sin(2 * np.pi * 220.0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )
