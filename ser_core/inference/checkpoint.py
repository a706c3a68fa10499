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

import json
import os
from pathlib import Path
from typing import Any

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
    """Read and check ``config.json``: required keys, types, labels against ``num_classes``.

    Raises:
        CheckpointError: a missing or malformed file, naming the problem.
    """
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} has no config.json; it is not a checkpoint folder")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    problems = []
    if not isinstance(payload.get("name"), str):
        problems.append("'name' (the registered model name) is missing")
    n = payload.get("num_classes")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        problems.append("'num_classes' must be a positive integer")
    if not isinstance(payload.get("config"), dict):
        problems.append("'config' (the model config) must be an object")
    labels = payload.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        problems.append("'labels' must be the list of class names in output order")
    elif isinstance(n, int) and len(labels) != n:
        problems.append(f"{len(labels)} labels for num_classes={n}")
    elif len(set(labels)) != len(labels):
        problems.append("'labels' has duplicates")
    feature = payload.get("feature_config")
    if feature is not None and not (isinstance(feature, dict) and "kind" in feature):
        problems.append("'feature_config' must be an object with a 'kind'")
    if problems:
        raise CheckpointError(f"{path} is not a valid checkpoint config: " + "; ".join(problems))
    return payload
