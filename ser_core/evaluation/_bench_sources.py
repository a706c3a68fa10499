"""Where the benchmark's numbers come from: committed prediction tables → scored rows.

:func:`find_sources` reads every shipped checkpoint and cross-validation folder holding
``predictions.parquet``; :func:`benchmark_rows` scores each (source, corpus) pair with bootstrap
intervals and group breakdowns; :func:`validation_rows` reads the runs' ``folds.csv``.
:mod:`ser_core.evaluation.benchmark` renders them (and re-exports these names).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ser_core.errors import SERError
from ser_core.scoring.bootstrap import bootstrap_cis
from ser_core.scoring.groups import HUMAN_COLUMN, UNKNOWN, breakdown
from ser_core.scoring.metrics import resolve_labels, summary_metrics
from ser_core.scoring.predictions import load_predictions, prediction_labels

__all__ = ["BenchmarkSource", "benchmark_rows", "find_sources", "validation_rows"]


@dataclass
class BenchmarkSource:
    """One set of committed test predictions.

    Attributes:
        name: folder name (``whisper_base-emodb``, ``default``, ...).
        kind: ``"checkpoint"`` (a shipped model's held-out test) or ``"cross-validation"``.
        model: registered model name.
        protocol: split protocol (``speaker-holdout``, ``loso``, ``per-corpus``, ...).
        folder: where it was read from.
        predictions: the predictions frame.
        train_speakers: speakers heard in training or validation, when known (checkpoints).
        training_seconds: wall-clock training time on the machine that trained it.
        adapted: trained on speaker-normalised features (reported apart).
        description: the split's own description.
    """

    name: str
    kind: str
    model: str
    protocol: str
    folder: Path
    predictions: pd.DataFrame
    train_speakers: set[str] | None = None
    training_seconds: float | None = None
    adapted: bool = False
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SERError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SERError(f"{path}: expected a JSON object")
    return data


def _checkpoint_source(folder: Path) -> BenchmarkSource:
    config = _read_json(folder / "config.json")
    data = config.get("data", {})
    model_config = config.get("config", {})
    split = data.get("split", {})
    heard = set(data.get("train_speakers", [])) | set(data.get("val_speakers", []))
    return BenchmarkSource(
        name=folder.name,
        kind="checkpoint",
        model=str(config.get("name") or folder.name),
        protocol=str(data.get("protocol", "?")),
        folder=folder,
        predictions=load_predictions(folder / "predictions.parquet"),
        train_speakers=heard or None,
        training_seconds=config.get("training_seconds"),
        adapted=bool(model_config.get("speaker_adapted", False)),
        description=str(split.get("description", "")),
    )


def _cv_source(folder: Path) -> BenchmarkSource:
    config = _read_json(folder / "train_config.json")
    predictions = load_predictions(folder / "predictions.parquet")
    folds = int(predictions["fold"].nunique()) if "fold" in predictions.columns else 1
    protocol = str(config.get("protocol", "?"))
    seconds = None
    if (folder / "folds.csv").exists():
        table = pd.read_csv(folder / "folds.csv")
        if "training_seconds" in table.columns:
            seconds = float(table["training_seconds"].sum())
    return BenchmarkSource(
        name=folder.name,
        kind="cross-validation",
        model=str(config.get("model", folder.name)),
        protocol=protocol,
        folder=folder,
        predictions=predictions,
        training_seconds=seconds,
        adapted=bool(config.get("speaker_adapt"))
        or bool(config.get("model_config", {}).get("speaker_adapted", False)),
        description=f"{protocol}, {folds} folds, out-of-fold predictions pooled"
        + (" (speaker-adapted)" if config.get("speaker_adapt") else "")
        + (
            f"; every clip of {', '.join(config['train_also'])} also in each fold's training, "
            "each fold scored over its corpus's own classes"
            if config.get("train_also")
            else ""
        ),
        settings={"folds": folds},
    )


def find_sources(
    checkpoints: str | Path | None = "checkpoints", results: str | Path | None = None
) -> list[BenchmarkSource]:
    """Every checkpoint folder and cross-validation folder that holds ``predictions.parquet``.

    Raises:
        SERError: a folder whose files cannot be read.
    """
    sources: list[BenchmarkSource] = []
    if checkpoints is not None and Path(checkpoints).is_dir():
        for folder in sorted(Path(checkpoints).iterdir()):
            if (folder / "predictions.parquet").exists() and (folder / "config.json").exists():
                sources.append(_checkpoint_source(folder))
    if results is not None and Path(results).is_dir():
        for folder in sorted(Path(results).iterdir()):
            if (folder / "predictions.parquet").exists() and (
                folder / "train_config.json"
            ).exists():
                sources.append(_cv_source(folder))
    return sources


def _group_ua(frame: pd.DataFrame, column: str, labels: list[str]) -> str:
    """``"f 81.2 · m 77.0"``: UA of every group of ``column`` with at least 10 utterances."""
    if column not in frame.columns or frame[column].notna().sum() == 0:
        return "–"
    groups = breakdown(frame, column, metrics=("ua",), n_boot=0, labels=labels).by_group
    groups = groups[(groups.index != UNKNOWN) & (groups["n"] >= 10)]
    parts = [f"{value} {100 * ua:.1f}" for value, ua in groups["ua"].items()]
    return " · ".join(parts) if len(parts) >= 2 else "–"


def _language(frame: pd.DataFrame) -> str:
    """The corpus's language code(s), e.g. ``"de"`` (``""`` when unknown)."""
    if "language" not in frame.columns:
        return ""
    return ", ".join(sorted(frame["language"].dropna().astype(str).unique()))


def _speaker_independent(source: BenchmarkSource, frame: pd.DataFrame) -> bool:
    if source.protocol in ("loso", "kfold-speaker", "loco"):
        return True
    if source.train_speakers is None:
        return source.protocol == "speaker-holdout"
    return not set(frame["speaker"].astype(str)) & source.train_speakers


def benchmark_rows(
    sources: Sequence[BenchmarkSource], n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """One row per (source, corpus): metrics with 95 % bootstrap CIs and group breakdowns.

    Columns: ``name, kind, model, corpus, classes, protocol, speaker_independent, n, ua, ua_low,
    ua_high, wa, wa_low, wa_high, weighted_f1, weighted_f1_low, weighted_f1_high, ua_by_gender,
    ua_by_intensity, human_pct, training_seconds, adapted``.
    """
    rows = []
    for source in sources:
        predictions = source.predictions
        labels = prediction_labels(predictions)
        for corpus in sorted(predictions["corpus"].astype(str).unique()):
            frame = predictions[predictions["corpus"].astype(str) == corpus]
            yt, yp, names = resolve_labels(frame["true"], frame["predicted"], labels)
            metrics = summary_metrics(yt, yp, names)
            cis = (
                bootstrap_cis(yt, yp, ["ua", "wa", "weighted_f1"], names, n_boot=n_boot, seed=seed)
                if n_boot > 0
                else {}
            )
            human = (
                float(frame[HUMAN_COLUMN].mean())
                if HUMAN_COLUMN in frame.columns and frame[HUMAN_COLUMN].notna().all()
                else None
            )
            row: dict[str, Any] = {
                "name": source.name,
                "kind": source.kind,
                "model": source.model,
                "corpus": corpus,
                "language": _language(frame),
                "classes": len(set(frame["true"].astype(str))),
                "protocol": source.protocol,
                "speaker_independent": _speaker_independent(source, frame),
                "n": len(frame),
            }
            for metric in ("ua", "wa", "weighted_f1"):
                row[metric] = 100 * float(metrics[metric])
                row[f"{metric}_low"] = 100 * cis[metric].low if cis else float("nan")
                row[f"{metric}_high"] = 100 * cis[metric].high if cis else float("nan")
            row["ua_by_gender"] = _group_ua(frame, "gender", names)
            row["ua_by_intensity"] = _group_ua(frame, "intensity", names)
            row["human_pct"] = human
            row["training_seconds"] = source.training_seconds
            row["adapted"] = source.adapted
            rows.append(row)
    return pd.DataFrame(rows)


def validation_rows(results: str | Path | None) -> pd.DataFrame:
    """One row per cross-validation run: its validation UA over folds, from ``folds.csv``.

    Columns: ``name, model, corpus, protocol, folds, speed_perturb, val_ua, val_ua_min,
    val_ua_max`` (UA in %; ``val_ua`` is the mean over folds, each fold weighing the same).

    Raises:
        SERError: a ``folds.csv`` or ``train_config.json`` that cannot be read.
    """
    rows = []
    if results is not None and Path(results).is_dir():
        for folder in sorted(Path(results).iterdir()):
            folds_file = folder / "folds.csv"
            if not (folds_file.exists() and (folder / "train_config.json").exists()):
                continue
            config = _read_json(folder / "train_config.json")
            try:
                folds = pd.read_csv(folds_file)
            except (OSError, ValueError) as exc:
                raise SERError(f"cannot read {folds_file}: {exc}") from exc
            if "val_ua" not in folds.columns or folds["val_ua"].isna().all():
                continue
            val = 100 * folds["val_ua"].dropna().astype(float)
            speed = config.get("speed_perturb") or []
            rows.append(
                {
                    "name": folder.name,
                    "model": str(config.get("model", folder.name)),
                    "corpus": "+".join(str(c) for c in config.get("corpora", [])) or "?",
                    "protocol": str(config.get("protocol", "?")),
                    "folds": len(val),
                    "speed_perturb": ", ".join(f"{float(f):g}" for f in speed) or "–",
                    "val_ua": float(val.mean()),
                    "val_ua_min": float(val.min()),
                    "val_ua_max": float(val.max()),
                }
            )
    columns = [
        "name",
        "model",
        "corpus",
        "protocol",
        "folds",
        "speed_perturb",
        "val_ua",
        "val_ua_min",
        "val_ua_max",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["corpus", "model", "name"], ignore_index=True)
