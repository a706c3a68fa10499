"""The checkpoint folder's ``config.json``: its name and its one validator (no torch import).

Every loader reads ``config.json`` through :func:`read_checkpoint_config` — the model loader
(``ser_core.models``), the predictor (``ser_core.inference``) and the app's first page, which
must not wait for torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ser_core.errors import CheckpointError

__all__ = ["CONFIG_NAME", "read_checkpoint_config"]

#: The file holding a checkpoint's name, class count, labels, model and feature configs.
CONFIG_NAME = "config.json"


def read_checkpoint_config(directory: str | Path, require_labels: bool = False) -> dict[str, Any]:
    """Read and check a checkpoint's ``config.json``: the one validator of the format.

    Checks the keys every loader relies on: ``name`` (a string), ``num_classes`` (a positive
    integer), ``config`` (an object), ``labels`` (class names in output order, one per class, no
    duplicates; optional for a bare ``save_pretrained`` folder unless ``require_labels``) and
    ``feature_config`` (an object with a ``kind``, when present).

    Raises:
        CheckpointError: a missing folder or file, invalid JSON, or the list of problems found.
    """
    directory = Path(directory)
    path = directory / CONFIG_NAME
    if not directory.is_dir():
        raise CheckpointError(f"Checkpoint folder {directory} does not exist.")
    if not path.is_file():
        raise CheckpointError(
            f"{directory} has no {CONFIG_NAME}; it is not a checkpoint folder (save models with "
            "model.save_pretrained(dir))"
        )
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
    if labels is None and not require_labels:
        pass
    elif not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
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
