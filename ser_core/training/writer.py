"""Writing a trained model's checkpoint folder: weights, config, log, test predictions, card."""

from __future__ import annotations

import csv
import math
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.data import Split
from ser_core.scoring import save_predictions
from ser_core.training._optim import effective_optimizer, effective_weight_decay
from ser_core.training.config import TrainConfig
from ser_core.training.data import (
    file_ids,
    resolve_data_root,
)
from ser_core.training.loop import LOG_COLUMNS

LOG_NAME = "train_log.csv"


TRAIN_CONFIG_NAME = "train_config.json"


PREDICTIONS_NAME = "predictions.parquet"


CARD_NAME = "README.md"


def predictions_frame(
    rows: pd.DataFrame,
    proba: np.ndarray,
    labels: Sequence[str],
    model_name: str,
    split: Split | None = None,
    protocol: str | None = None,
) -> pd.DataFrame:
    """The predictions table: manifest columns + true, predicted, prob_<label>, model, protocol.

    ``fold`` is added for multi-fold protocols (``split.fold`` set).
    """
    frame = rows.reset_index(drop=True).copy()
    names = np.asarray(list(labels), dtype=object)
    frame["true"] = frame["emotion"].astype(object)
    frame["predicted"] = names[np.asarray(proba).argmax(axis=1)] if len(frame) else []
    for i, label in enumerate(labels):
        frame[f"prob_{label}"] = np.asarray(proba, dtype=np.float64)[:, i] if len(frame) else []
    frame["model"] = model_name
    frame["protocol"] = split.protocol if split is not None else (protocol or "")
    if split is not None and split.fold is not None:
        frame["fold"] = int(split.fold)
    return frame


def _versions() -> dict[str, str]:
    import sklearn
    import torch

    from ser_core._version import __version__

    return {
        "python": platform.python_version(),
        "ser_core": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "sklearn": sklearn.__version__,
        "cpu": _cpu_name(),
    }


def _cpu_name() -> str:
    """The processor model and core count, for "training took N s on ..." in model cards."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def _speakers(manifest: pd.DataFrame, rows: np.ndarray) -> list[str]:
    values = manifest["speaker"].iloc[rows].dropna().astype(str)
    return sorted(set(values))


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        return _json_safe(value.item())
    return value


def _write_checkpoint(
    out_dir: Path,
    *,
    model: Any,
    config: TrainConfig,
    feature_config: dict[str, Any],
    spec: dict[str, Any],
    split: Split,
    parts: dict[str, np.ndarray],
    manifest: pd.DataFrame,
    notes: list[str],
    pretrained_on: list[str],
    metrics: dict[str, dict[str, float]],
    history: pd.DataFrame,
    best_epoch: int,
    seconds: float,
    predictions: pd.DataFrame | None,
) -> None:
    root = resolve_data_root(config.data_root) if not config.manifest else None
    emotions = manifest["emotion"].astype(str)
    data = {
        "corpora": sorted(map(str, manifest["corpus"].unique())),
        "data_root": str(root) if root is not None else None,
        "manifest": config.manifest,
        "protocol": split.protocol,
        "fold": split.fold,
        "split": {k: v for k, v in split.to_dict().items() if k not in ("train", "val", "test")},
        "train_speakers": _speakers(manifest, parts["train"]),
        "val_speakers": _speakers(manifest, parts["val"]),
        "test_speakers": _speakers(manifest, parts["test"]),
        "n_train": len(parts["train"]),
        "n_val": len(parts["val"]),
        "n_test": len(parts["test"]),
        "label_counts": {
            part: emotions.iloc[rows].value_counts().sort_index().to_dict()
            for part, rows in parts.items()
        },
        "test_files": file_ids(manifest["path"].iloc[parts["test"]], root),
        "notes": notes,
        # corpora the starting weights (init_from) were trained on: their licences apply too
        **({"pretrained_on": pretrained_on} if pretrained_on else {}),
    }
    extra = _json_safe(
        {
            "feature_config": feature_config,
            "input": spec,
            "training": config.to_dict(),
            "effective": {
                "weight_decay": effective_weight_decay(model, config),
                **effective_optimizer(model, config),
            },
            "data": data,
            "metrics": {**metrics, "best_epoch": best_epoch},
            "versions": _versions(),
            "training_seconds": round(seconds, 2),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )
    model.save_pretrained(out_dir, extra=extra)
    config.save(out_dir / TRAIN_CONFIG_NAME)
    with open(out_dir / LOG_NAME, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(LOG_COLUMNS)
        for record in history.to_dict("records"):
            writer.writerow(["" if _missing(record[c]) else _fmt(record[c]) for c in LOG_COLUMNS])
    if predictions is not None:
        save_predictions(predictions, out_dir / PREDICTIONS_NAME)
    from ser_core.training.card import write_model_card

    write_model_card(
        out_dir / CARD_NAME, model=model, config=config, extra=extra, predictions=predictions
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: Any) -> str:
    if isinstance(value, float) and not float(value).is_integer():
        return f"{value:.6g}"
    return str(int(value)) if isinstance(value, float) else str(value)
