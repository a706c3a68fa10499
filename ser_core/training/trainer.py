"""The training engine: ``train(config, out_dir)`` → a checkpoint folder; ``train_folds`` for CV.

A run (see :class:`~ser_core.training.config.TrainConfig` for every setting):

1. manifest, label policy, quick-run caps and split (:mod:`ser_core.training.data`);
2. labels (``auto``: those present in training) → the model via
   :func:`ser_core.pipeline.build_model`, so its input size matches its feature config;
3. features: computed once per file through the content-keyed
   :class:`~ser_core.features.FeatureCache` (fast epochs); with waveform augmentation the decoded
   training waveforms stay in memory and are augmented and featurised on the fly; a model
   whose forward starts with a parameter-free summary (the per-layer Whisper head's layer
   statistics) trains on that summary, computed once per clip; ``speed_perturb`` adds cached
   speed-perturbed copies of the training clips;
4. epochs of mini-batch training (torch models) with validation after each; the weights of the
   epoch with the best validation UA (ties: lower validation loss) are kept; early stopping after
   ``patience`` epochs without improvement (``refit``: then a fresh model is trained on
   training + validation for the best epoch count). The svm is fitted once on the training
   features;
5. the test set is predicted with the best weights (``evaluate_test``);
6. the folder: ``model.safetensors`` (svm: ``model.skops``), ``config.json`` (model config,
   ``feature_config``, ``labels``, ``training``, ``data``, ``metrics``, ``versions``,
   ``training_seconds``), ``train_config.json`` (re-run with ``ser train --config``),
   ``train_log.csv``, ``predictions.parquet`` (test) and a ``README.md`` model card.

Determinism: Python, numpy and torch are seeded from ``config.seed`` before the model is built
and every random draw of the run (shuffling, crops, SpecAugment, waveform augmentation) comes from
generators seeded from it. On CPU two runs with the same config give the same weights (up to
torch's own non-deterministic kernels, which CPU training here does not use).

This module runs the folds (:func:`train_folds`) and the one-split entry point (:func:`train`);
one run on one split is :mod:`ser_core.training._run`, its seeding, refit and speaker adaptation
:mod:`ser_core.training._run_helpers`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ser_core.scoring import (
    EvaluationReport,
    evaluate_predictions,
    restrict_to_classes,
    save_predictions,
    summary_metrics,
)
from ser_core.training._run import TrainResult, _train_split
from ser_core.training.config import TrainConfig, TrainConfigError
from ser_core.training.data import make_splits
from ser_core.training.loop import LOG_COLUMNS
from ser_core.training.store import _prepare
from ser_core.training.writer import PREDICTIONS_NAME, TRAIN_CONFIG_NAME

__all__ = [
    "LOG_COLUMNS",
    "CrossValidationResult",
    "TrainResult",
    "train",
    "train_folds",
]


@dataclass
class CrossValidationResult:
    """One model per fold and the pooled out-of-fold predictions.

    Attributes:
        folder: the parent folder (``fold_00/``, ``fold_01/``, ... inside).
        folds: each fold's :class:`TrainResult`.
        predictions: pooled test predictions with a ``fold`` column.
        report: :func:`~ser_core.scoring.evaluate_predictions` of the pooled predictions.
    """

    folder: Path
    folds: list[TrainResult]
    predictions: pd.DataFrame
    report: EvaluationReport


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    manifest: pd.DataFrame | None = None,
) -> TrainResult:
    """Train one model on one split and write its checkpoint folder.

    Args:
        config: every setting of the run.
        out_dir: the checkpoint folder to write (created; files in it are overwritten).
        manifest: train on this manifest instead of loading ``config.corpora``.

    Returns:
        A :class:`TrainResult`.

    Raises:
        TrainConfigError: invalid settings (unknown model, bad split options, no CUDA, ...).
        CorpusError: missing corpora or nothing to train on.
        AudioInputError: an unreadable audio file.
    """
    data = _prepare(config, manifest)
    splits = make_splits(config, data.manifest)
    if not 0 <= config.fold < len(splits):
        raise TrainConfigError(
            f"{config.protocol}: fold {config.fold} out of range (0..{len(splits) - 1})"
        )
    return _train_split(data, splits[config.fold], Path(out_dir), labels=None)


#: Protocols ``train_folds`` (``ser train --all-folds``) runs fold by fold.
FOLD_PROTOCOLS = ("loso", "kfold-speaker", "loco")


def train_folds(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    manifest: pd.DataFrame | None = None,
    n_boot: int = 1000,
) -> CrossValidationResult:
    """Train one model per fold of ``config.protocol`` and pool the out-of-fold predictions.

    Fold ``i`` is written to ``out_dir/fold_{i:02d}``; the parent gets ``predictions.parquet``
    (every test row of every fold, with a ``fold`` column), ``metrics.json`` and ``report.md``
    (the pooled evaluation) and ``folds.csv`` (one row per fold). Features are computed once for
    all folds. ``auto`` labels are taken from the whole (filtered) manifest so every fold has the
    same output classes.

    Leave one corpus out (``loco``) scores each held-out corpus over its own classes (the
    argmax restricted to the classes it has among the model's, :func:`restrict_to_classes`),
    so ``folds.csv`` also gives each corpus's ``n_classes`` and ``chance`` (1 / classes), and
    ``metrics.json`` a ``loco`` section with the per-corpus UAs, their mean and minimum.

    Raises:
        TrainConfigError: a single-split protocol, or invalid settings.
    """
    if config.protocol not in FOLD_PROTOCOLS:
        raise TrainConfigError(
            f"--all-folds needs a cross-validation protocol ({', '.join(FOLD_PROTOCOLS)}), not "
            f"{config.protocol}"
        )
    from ser_core.data import sort_emotions

    data = _prepare(config, manifest)
    splits = make_splits(config, data.manifest)
    labels = config.label_list or sort_emotions(map(str, data.manifest["emotion"]))
    folder = Path(out_dir)
    results: list[TrainResult] = []
    for split in splits:
        fold = split.fold if split.fold is not None else len(results)
        fold_config = config.replace(fold=fold, evaluate_test=True)
        data.config = fold_config
        results.append(_train_split(data, split, folder / f"fold_{fold:02d}", labels=labels))
    data.config = config
    own_classes = config.protocol == "loco" or bool(config.train_also)
    scored = [_scored_predictions(r, labels, own_classes) for r in results]
    pooled = pd.concat([f for f in scored if f is not None], ignore_index=True)
    folder.mkdir(parents=True, exist_ok=True)
    save_predictions(pooled, folder / PREDICTIONS_NAME)
    report = evaluate_predictions(pooled, labels=labels, n_boot=n_boot, seed=config.seed)
    rows = []
    for r, frame in zip(results, scored, strict=True):
        test = r.metrics.get("test", {})
        row: dict[str, Any] = {
            "fold": r.split.fold,
            "test_groups": " ".join(r.split.test_groups),
            "n_train": len(r.split.train),
            "n_val": len(r.split.val),
            "n_test": len(r.split.test),
            "best_epoch": r.best_epoch,
            "val_ua": r.metrics.get("val", {}).get("ua"),
            "test_ua": test.get("ua"),
            "test_wa": test.get("wa"),
        }
        if own_classes and frame is not None:
            classes = sorted(set(frame["true"].astype(str)), key=labels.index)
            own = summary_metrics(frame["true"], frame["predicted"], classes)
            row.update(
                n_test=len(frame),
                test_ua=float(own["ua"]),
                test_wa=float(own["wa"]),
                test_weighted_f1=float(own["weighted_f1"]),
                n_classes=len(classes),
                chance=1.0 / len(classes),
                classes=" ".join(classes),
            )
        row["training_seconds"] = round(r.seconds, 1)
        rows.append(row)
    folds = pd.DataFrame(rows)
    summary = report.to_dict()
    if config.protocol == "loco":
        summary["loco"] = {
            "per_corpus": {
                str(x["test_groups"]): {
                    k: x[k] for k in ("test_ua", "test_wa", "test_weighted_f1", "chance", "n_test")
                }
                for x in rows
            },
            "mean_ua": float(folds["test_ua"].mean()),
            "min_ua": float(folds["test_ua"].min()),
            "scoring": "each held-out corpus over its own classes (argmax restricted to them)",
        }
    (folder / "metrics.json").write_text(
        json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    (folder / "report.md").write_text(report.to_markdown() + "\n", encoding="utf-8")
    folds.to_csv(folder / "folds.csv", index=False)
    config.save(folder / TRAIN_CONFIG_NAME)
    return CrossValidationResult(folder=folder, folds=results, predictions=pooled, report=report)


def _scored_predictions(
    result: TrainResult, labels: list[str], own_classes: bool
) -> pd.DataFrame | None:
    """A fold's test predictions as they are scored: with ``own_classes`` (``loco``,
    ``train_also``), over the test set's own classes (those of the model's ``labels`` it has)."""
    frame = result.predictions
    if frame is None or not own_classes:
        return frame
    present = set(frame["true"].astype(str))
    return restrict_to_classes(frame, [label for label in labels if label in present])
