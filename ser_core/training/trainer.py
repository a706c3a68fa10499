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
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.data import Split, oversample, undersample
from ser_core.errors import SERError
from ser_core.features import AugmentConfig
from ser_core.models import is_torch_model
from ser_core.pipeline import InputPipeline, build_model, pipeline_for
from ser_core.scoring import (
    EvaluationReport,
    evaluate_predictions,
    restrict_to_classes,
    save_predictions,
    summary_metrics,
)
from ser_core.training.config import TrainConfig, TrainConfigError
from ser_core.training.data import (
    auto_labels,
    make_splits,
)
from ser_core.training.loop import LOG_COLUMNS, _augment_config, _fit_svm, _fit_torch, _predict_rows
from ser_core.training.store import _Data, _prepare
from ser_core.training.writer import (
    PREDICTIONS_NAME,
    TRAIN_CONFIG_NAME,
    _write_checkpoint,
    predictions_frame,
)

__all__ = [
    "LOG_COLUMNS",
    "CrossValidationResult",
    "TrainResult",
    "train",
    "train_folds",
]


@dataclass
class TrainResult:
    """What one training run produced.

    Attributes:
        checkpoint: the checkpoint folder.
        model: the trained model (best epoch's weights, eval mode).
        labels: class names in output order.
        history: one row per epoch (the columns of :data:`LOG_COLUMNS`).
        best_epoch: the epoch whose weights were kept (1-based).
        metrics: ``{"val": {...}, "test": {...}}`` (``ua``, ``wa``, ``weighted_f1``,
            ``macro_f1``, ``n``, and ``loss`` for torch models); ``test`` only when evaluated.
        predictions: the test predictions frame (manifest columns + ``true``, ``predicted``,
            ``prob_<label>``, ``model``, ``protocol``, ``fold``), or None.
        split: the split used.
        seconds: wall time of the run.
    """

    checkpoint: Path
    model: Any
    labels: list[str]
    history: pd.DataFrame
    best_epoch: int
    metrics: dict[str, dict[str, float]]
    predictions: pd.DataFrame | None
    split: Split
    seconds: float


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
    scored = [_scored_predictions(r, labels, config.protocol) for r in results]
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
        if config.protocol == "loco" and frame is not None:
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
    result: TrainResult, labels: list[str], protocol: str
) -> pd.DataFrame | None:
    """A fold's test predictions as they are scored: for ``loco``, over the held-out corpus's
    own classes (those of the model's ``labels`` it has)."""
    frame = result.predictions
    if frame is None or protocol != "loco":
        return frame
    present = set(frame["true"].astype(str))
    return restrict_to_classes(frame, [label for label in labels if label in present])


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


def _train_split(data: _Data, split: Split, out_dir: Path, labels: list[str] | None) -> TrainResult:
    import torch

    threads = torch.get_num_threads()
    if data.config.num_threads:
        torch.set_num_threads(data.config.num_threads)
    try:
        return _train_split_inner(data, split, out_dir, labels)
    finally:
        torch.set_num_threads(threads)  # a library call must not change the caller's setting


def _train_split_inner(
    data: _Data, split: Split, out_dir: Path, labels: list[str] | None
) -> TrainResult:
    config = data.config
    started = time.perf_counter()
    manifest = data.manifest
    device = _device(config.device)

    label_list = labels or config.label_list or auto_labels(manifest, split)
    index = {label: i for i, label in enumerate(label_list)}
    emotions = manifest["emotion"].astype(str).to_numpy()
    notes = list(data.notes)
    parts: dict[str, np.ndarray] = {}
    for part in ("train", "val", "test"):
        rows = np.asarray(getattr(split, part), dtype=np.int64)
        known = np.array([emotions[r] in index for r in rows], dtype=bool)
        if not known.all():
            dropped = sorted(set(emotions[rows[~known]]))
            notes.append(
                f"{part}: dropped {int((~known).sum())} row(s) with labels the model does not "
                f"have ({', '.join(dropped)})"
            )
        parts[part] = rows[known]
    if len(parts["train"]) == 0:
        raise TrainConfigError("the training split is empty")
    if len(label_list) < 2:
        raise TrainConfigError(f"need at least two classes to train, got {label_list}")
    y_all = np.array([index.get(e, -1) for e in emotions], dtype=np.int64)

    model, feature_config = _fresh_model(config, label_list)
    pipe = pipeline_for(model, feature_config)

    train_rows = parts["train"]
    if config.balance == "undersample":
        train_rows = undersample(train_rows, emotions[train_rows], seed=config.seed)
    elif config.balance == "oversample":
        train_rows = oversample(train_rows, emotions[train_rows], seed=config.seed)

    if data.copy_specs():
        copies = data.copy_rows(train_rows)
        kinds = []
        if config.speed_perturb:
            kinds.append(f"speed ×{', ×'.join(f'{f:g}' for f in config.speed_perturb)}")
        if config.channel_copies:
            kinds.append(f"{config.channel_copies} channel cop(ies): room, noise, codec, gain")
        notes.append(
            f"training set: {len(train_rows)} clips plus {len(copies)} copies "
            f"({'; '.join(kinds)}); validation and test clips unchanged"
        )
        train_rows = np.concatenate([train_rows, copies])
        y_all = np.tile(y_all, 1 + len(data.copy_specs()))  # a copy's label is its clip's

    augment = _augment_config(config)
    # Models whose forward starts with a fixed summary train on it: computed once, not per epoch.
    summarized = (
        is_torch_model(model)
        and model.has_fixed_summary
        and augment is None
        and not config.spec_augment
        and config.max_train_seconds is None
    )
    eval_rows = np.concatenate([parts["val"], parts["test"] if config.evaluate_test else []])
    refit_rows = np.empty(0, dtype=np.int64)  # added to training for the refit
    if config.refit and len(parts["val"]) and is_torch_model(model):
        refit_rows = np.concatenate([parts["val"], data.copy_rows(parts["val"])])
    all_rows = np.concatenate([train_rows, eval_rows, refit_rows]).astype(np.int64)
    if augment is not None and is_torch_model(model):
        data.ensure_signals(np.unique(np.concatenate([train_rows, refit_rows])), pipe.sample_rate)
        data.ensure_features(pipe, eval_rows.astype(np.int64))
    elif not summarized or config.speaker_adapt:
        if augment is not None:
            notes.append("waveform augmentation ignored: the svm is fitted once on fixed features")
        data.ensure_features(pipe, all_rows)

    if config.speaker_adapt:
        data = _speaker_adapted(data, model, all_rows, notes)
    if summarized:
        data.ensure_summaries(model, pipe, all_rows, device)

    if is_torch_model(model):
        history, best_epoch, val_metrics = _fit_torch(
            model, pipe, data, train_rows, parts["val"], y_all, label_list, augment, device,
            summarized,
        )  # fmt: skip
    else:
        history, best_epoch, val_metrics = _fit_svm(
            model, data, train_rows, parts["val"], y_all, label_list, config
        )
    if len(refit_rows):
        model = _refit(
            model, data, pipe, np.concatenate([train_rows, refit_rows]), y_all, label_list,
            augment, device, summarized, best_epoch,
        )  # fmt: skip
        notes.append(
            f"refit: retrained from scratch on the training and validation speakers for "
            f"{best_epoch} epochs (the best epoch on validation); validation metrics and the "
            "training log are those of the first run"
        )

    metrics: dict[str, dict[str, float]] = {"val": val_metrics} if val_metrics else {}
    predictions = None
    if config.evaluate_test and len(parts["test"]):
        proba = _predict_rows(
            model, pipe, data, parts["test"], device, config.batch_size, summarized
        )
        predictions = predictions_frame(
            manifest.iloc[parts["test"]], proba, label_list, model.model_name, split
        )
        metrics["test"] = {
            k: float(v)
            for k, v in summary_metrics(
                predictions["true"], predictions["predicted"], label_list
            ).items()
        }
    seconds = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu") if is_torch_model(model) else model
    _write_checkpoint(
        out_dir,
        model=model,
        config=config,
        feature_config=feature_config.to_dict(),
        spec=pipe.spec.__dict__,
        split=split,
        parts=parts,
        manifest=manifest,
        notes=notes,
        metrics=metrics,
        history=history,
        best_epoch=best_epoch,
        seconds=seconds,
        predictions=predictions,
    )
    return TrainResult(
        checkpoint=out_dir,
        model=model,
        labels=label_list,
        history=history,
        best_epoch=best_epoch,
        metrics=metrics,
        predictions=predictions,
        split=split,
        seconds=seconds,
    )


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
