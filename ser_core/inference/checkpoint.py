"""Finding and validating checkpoint folders (``config.json`` + weights), never unpickling.

A checkpoint is a folder written by ``ser train`` (or ``model.save_pretrained``)::

    config.json          name, num_classes, labels, config, feature_config, training, data, ...
    model.safetensors    torch models          (model.skops: the svm, in skops' secure format)
    README.md            model card            (optional)
    predictions.parquet  test predictions      (optional)

:func:`resolve_checkpoint` turns a folder path or a name into a folder: names are looked up in the
repository's ``checkpoints/`` folder (``$SER_CHECKPOINTS`` overrides it); ``"default"`` is
``checkpoints/default``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ser_core.checkpoint_config import read_checkpoint_config
from ser_core.errors import CheckpointError

__all__ = [
    "CHECKPOINTS_ENV",
    "DEFAULT_CHECKPOINT",
    "available_checkpoints",
    "checkpoints_dir",
    "read_config",
    "resolve_checkpoint",
    "weights_file",
]

#: Environment variable naming the folder of named checkpoints.
CHECKPOINTS_ENV = "SER_CHECKPOINTS"
#: Name loaded when no model is given.
DEFAULT_CHECKPOINT = "default"

_WEIGHT_FILES = ("model.safetensors", "model.skops")


def checkpoints_dir() -> Path:
    """``$SER_CHECKPOINTS``, else the ``checkpoints/`` folder beside the ``ser_core`` package."""
    value = os.environ.get(CHECKPOINTS_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    # This file is ser_core/inference/checkpoint.py: the repository root is three levels up.
    return Path(__file__).resolve().parents[2] / "checkpoints"


def available_checkpoints() -> list[str]:
    """Names of the checkpoint folders in :func:`checkpoints_dir` (those with a config.json)."""
    root = checkpoints_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def resolve_checkpoint(path_or_name: str | os.PathLike[str]) -> Path:
    """The checkpoint folder for a path or a name.

    Args:
        path_or_name: a folder (with ``config.json``), or the name of a folder in
            :func:`checkpoints_dir` (``"default"``, ``"cnn_lstm"``, ...).

    Raises:
        CheckpointError: nothing found; the message lists the available names.
    """
    text = os.fspath(path_or_name)
    candidate = Path(text).expanduser()
    if candidate.is_dir():
        return candidate
    looks_like_path = os.sep in text or "/" in text or candidate.suffix != ""
    named = checkpoints_dir() / text
    if not looks_like_path and named.is_dir():
        return named
    names = available_checkpoints()
    listing = ", ".join(names) if names else "none yet (train one with `ser train`)"
    if looks_like_path:
        raise CheckpointError(
            f"checkpoint folder {text} does not exist; available names: {listing}"
        )
    raise CheckpointError(
        f"no checkpoint named {text!r} in {checkpoints_dir()} (set ${CHECKPOINTS_ENV} to look "
        f"elsewhere, or pass a folder path); available: {listing}"
    )


def weights_file(folder: Path) -> Path:
    """The weights file of a checkpoint folder.

    Raises:
        CheckpointError: neither ``model.safetensors`` nor ``model.skops`` is there.
    """
    for name in _WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise CheckpointError(
        f"{folder} has no weights file ({' or '.join(_WEIGHT_FILES)}); the checkpoint is "
        "incomplete: train it again or copy the whole folder"
    )


def read_config(folder: Path) -> dict[str, Any]:
    """Read and check a checkpoint's ``config.json`` for prediction (labels required).

    The format has one validator (:mod:`ser_core.checkpoint_config`); this only insists on the
    class names a predictor reports.

    Raises:
        CheckpointError: a missing or malformed file, naming the problem.
    """
    return read_checkpoint_config(folder, require_labels=True)
