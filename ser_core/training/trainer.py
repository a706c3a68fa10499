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

import copy
import csv
import dataclasses
import json
import math
import os
import platform
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.audio import read_audio
from ser_core.data import Split, class_weights, oversample, undersample
from ser_core.errors import SERError
from ser_core.evaluation import (
    EvaluationReport,
    evaluate_predictions,
    restrict_to_classes,
    save_predictions,
    summary_metrics,
)
from ser_core.features import AugmentConfig, FeatureCache, WaveformAugmenter, spec_augment
from ser_core.models import is_torch_model
from ser_core.pipeline import InputPipeline, build_model, pipeline_for, predict_features
from ser_core.training.config import TrainConfig, TrainConfigError
from ser_core.training.data import (
    auto_labels,
    file_ids,
    load_training_manifest,
    make_splits,
    resolve_data_root,
)

__all__ = [
    "LOG_COLUMNS",
    "CrossValidationResult",
    "TrainResult",
    "train",
    "train_folds",
]

#: Columns of ``train_log.csv``, one row per epoch.
LOG_COLUMNS = (
    "epoch",
    "lr",
    "train_loss",
    "train_wa",
    "train_ua",
    "val_loss",
    "val_wa",
    "val_ua",
    "seconds",
)
LOG_NAME = "train_log.csv"
TRAIN_CONFIG_NAME = "train_config.json"
PREDICTIONS_NAME = "predictions.parquet"
CARD_NAME = "README.md"


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
        report: :func:`~ser_core.evaluation.evaluate_predictions` of the pooled predictions.
    """

    folder: Path
    folds: list[TrainResult]
    predictions: pd.DataFrame
    report: EvaluationReport


# ---------------------------------------------------------------------------------------------
# Shared state of a run (and of all folds of a cross-validation)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Data:
    """The manifest and the features / signals computed so far (reused across folds).

    Rows index the manifest; with ``speed_perturb`` or ``channel_copies`` a row
    ``r + k * len(manifest)`` (k ≥ 1) is the k-th copy of clip ``r`` (:meth:`copy_specs`: the
    speed factors, then the channel copies; a *virtual row*, labelled like its clip).
    """

    config: TrainConfig
    manifest: pd.DataFrame
    notes: list[str]
    cache: FeatureCache
    features: dict[int, np.ndarray] = field(default_factory=dict)
    signals: dict[int, np.ndarray] = field(default_factory=dict)
    #: fixed summaries of features (:meth:`SERModel.fixed_summary`), for models that have one
    summaries: dict[int, np.ndarray] = field(default_factory=dict)

    def copy_specs(self) -> list[tuple[float, int]]:
        """``(speed, channel)`` of each extra training copy, in virtual-row order: the speed
        factors, then the channel copies 1..``channel_copies``."""
        speeds = [(float(f), 0) for f in self.config.speed_perturb]
        return speeds + [(1.0, k) for k in range(1, self.config.channel_copies + 1)]

    def copy_rows(self, rows: np.ndarray) -> np.ndarray:
        """The virtual rows of every extra copy (speed, channel) of ``rows``."""
        n = len(self.manifest)
        copies = [rows.astype(np.int64) + k * n for k in range(1, len(self.copy_specs()) + 1)]
        return np.concatenate(copies) if copies else np.empty(0, dtype=np.int64)

    def _featurize(
        self, pipe: InputPipeline, rows: Sequence[int], progress: bool
    ) -> list[np.ndarray]:
        """Features of (virtual) rows through the disk cache, in the order of ``rows``."""
        n = len(self.manifest)
        by_copy: dict[int, list[int]] = {}
        for r in rows:
            by_copy.setdefault(r // n, []).append(r)
        specs = [(1.0, 0), *self.copy_specs()]
        out: dict[int, np.ndarray] = {}
        for k, group in sorted(by_copy.items()):
            speed, channel = specs[k]
            paths = [str(p) for p in self.manifest["path"].iloc[[r % n for r in group]]]
            values = pipe.featurize_files(
                paths, cache=self.cache, progress=progress, speed=speed, channel=channel
            )
            out.update(zip(group, values, strict=True))
        return [out[r] for r in rows]

    def ensure_features(self, pipe: InputPipeline, rows: Sequence[int]) -> None:
        """Compute (or read from the disk cache) the features of ``rows`` once."""
        todo = sorted({int(r) for r in rows} - set(self.features))
        if todo:
            values = self._featurize(pipe, todo, self.config.progress)
            self.features.update(zip(todo, values, strict=True))

    def ensure_summaries(
        self, model: Any, pipe: InputPipeline, rows: Sequence[int], device: Any
    ) -> None:
        """The fixed summary of every row, once; full features are read in chunks and not kept
        (encoder states of thousands of clips would not fit in memory)."""
        import torch

        todo = sorted({int(r) for r in rows} - set(self.summaries))
        chunks: Any = range(0, len(todo), 128)
        if self.config.progress and todo:
            from tqdm.auto import tqdm

            chunks = tqdm(chunks, desc="summarising features", unit="chunk")
        model.eval()
        for start in chunks:
            chunk = todo[start : start + 128]
            missing = [r for r in chunk if r not in self.features]
            loaded = dict(zip(missing, self._featurize(pipe, missing, False), strict=True))
            features = [self.features[r] if r in self.features else loaded[r] for r in chunk]
            with torch.inference_mode():
                for i in range(0, len(chunk), 32):
                    x, lengths = pipe.collate(features[i : i + 32], device)
                    summary = model.fixed_summary(x, lengths).float().cpu().numpy()
                    self.summaries.update(zip(chunk[i : i + 32], summary, strict=True))

    def corpora_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The corpus of each (virtual) row."""
        n = len(self.manifest)
        corpus = self.manifest["corpus"].astype(str).to_numpy()
        return corpus[np.asarray(rows, dtype=np.int64) % n]

    def summary_batch(self, rows: Sequence[int], device: Any) -> Any:
        """The stacked summaries of ``rows`` as a float tensor on ``device``."""
        import torch

        stacked = np.stack([self.summaries[int(r)] for r in rows])
        return torch.from_numpy(stacked).to(device)

    def ensure_signals(self, rows: Sequence[int], sample_rate: int) -> None:
        """Decode the waveforms of ``rows`` once (augmentation featurises them each epoch)."""
        todo = [int(r) for r in rows if int(r) not in self.signals]
        items: Any = todo
        if self.config.progress and todo:
            from tqdm.auto import tqdm

            items = tqdm(todo, desc="decoding audio", unit="file")
        for r in items:
            path = self.manifest["path"].iloc[r]
            self.signals[r] = read_audio(path, target_rate=sample_rate).signal


def _prepare(config: TrainConfig, manifest: pd.DataFrame | None) -> _Data:
    frame, notes = load_training_manifest(config, manifest)
    return _Data(config=config, manifest=frame, notes=notes, cache=FeatureCache())


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# One split
# ---------------------------------------------------------------------------------------------


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
    data.config = config.replace(epochs=max(epochs, 1), patience=0)
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


def _augment_config(config: TrainConfig) -> AugmentConfig | None:
    if not config.augment:
        return None
    if config.augment is True:
        return AugmentConfig()
    try:
        return AugmentConfig(**dict(config.augment))  # type: ignore[arg-type]
    except TypeError as exc:
        raise TrainConfigError(f"augment: {exc}") from exc


def _spec_augment_options(config: TrainConfig) -> dict[str, Any] | None:
    if not config.spec_augment:
        return None
    return {} if config.spec_augment is True else dict(config.spec_augment)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Torch training loop
# ---------------------------------------------------------------------------------------------


def _batches(rows: np.ndarray, size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    order = rng.permutation(rows) if rng is not None else rows
    n = len(order)
    stop = n
    # A last batch of one item breaks BatchNorm in training mode: fold it into the previous one.
    if rng is not None and n > size and n % size == 1:
        stop = n - 1
    for start in range(0, stop, size):
        end = start + size
        if rng is not None and end >= stop and stop < n:
            end = n
        yield order[start:end]


def effective_weight_decay(model: Any, config: TrainConfig) -> float:
    """``config.weight_decay``, else the model config's ``weight_decay``, else 0."""
    if config.weight_decay is not None:
        return float(config.weight_decay)
    return float(getattr(model.config, "weight_decay", 0.0) or 0.0)


def effective_optimizer(model: Any, config: TrainConfig) -> dict[str, Any]:
    """Optimiser name, learning rate and momentum: the user's, else the model's, else Adam 1e-3."""
    own = dict(getattr(model, "default_optimizer", {}) or {})
    return {
        "optimizer": config.optimizer or own.get("optimizer", "adam"),
        "lr": float(config.lr if config.lr is not None else own.get("lr", 1e-3)),
        "momentum": float(
            config.momentum if config.momentum is not None else own.get("momentum", 0.9)
        ),
    }


def _make_optimizer(model: Any, config: TrainConfig) -> Any:
    import torch

    settings = effective_optimizer(model, config)
    lr = settings["lr"]
    weight_decay = effective_weight_decay(model, config)
    groups = getattr(model, "param_groups", None)
    # Models with parts that need their own learning rate (a fine-tuned encoder) say so.
    params: Any = groups(lr) if callable(groups) else None
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
    elif config.weight_decay is not None:  # an explicit setting beats the model's own
        params = [{**group, "weight_decay": config.weight_decay} for group in params]
    if settings["optimizer"] == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=settings["momentum"], weight_decay=weight_decay
        )
    if settings["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _make_scheduler(optimizer: Any, config: TrainConfig) -> Any:
    import torch

    if config.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.step_size, gamma=config.gamma
        )
    if config.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=config.gamma, patience=config.step_size
        )
    return None


def _train_item(
    r: int,
    data: _Data,
    pipe: InputPipeline,
    augmenter: WaveformAugmenter | None,
    spec_options: dict[str, Any] | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One training input: crop, augment, featurise, SpecAugment, as configured."""
    config = data.config
    if augmenter is not None:
        signal = data.signals[r]
        if config.max_train_seconds is not None:
            keep = int(config.max_train_seconds * pipe.sample_rate)
            if len(signal) > keep:
                start = int(rng.integers(0, len(signal) - keep + 1))
                signal = signal[start : start + keep]
        feature = pipe.featurize(augmenter(signal, pipe.sample_rate), pipe.sample_rate)
    else:
        feature = data.features[r]
        if config.max_train_seconds is not None:
            duration = float(data.manifest["duration"].iloc[r % len(data.manifest)])
            if duration > 0:
                feature = pipe.crop(feature, config.max_train_seconds / duration, rng)
    if spec_options is not None and feature.ndim >= 2:
        feature = spec_augment(feature, rng, **spec_options)
    return feature


def _fit_torch(
    model: Any,
    pipe: InputPipeline,
    data: _Data,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    y_all: np.ndarray,
    labels: list[str],
    augment: AugmentConfig | None,
    device: Any,
    summarized: bool = False,
) -> tuple[pd.DataFrame, int, dict[str, float]]:
    import torch
    import torch.nn.functional as F

    config = data.config
    model.to(device)
    optimizer = _make_optimizer(model, config)
    scheduler = _make_scheduler(optimizer, config)
    weights = None
    if config.balance == "weights":
        w = class_weights([labels[i] for i in y_all[train_rows]], labels)
        weights = torch.tensor(w, dtype=torch.float32, device=device)
    row_weights = (
        _corpus_class_weights(data, train_rows, y_all) if config.balance == "corpus_class" else None
    )
    val_corpora = data.corpora_of(val_rows) if config.select_on == "corpus_ua" else None
    rng = np.random.default_rng(config.seed)
    augmenter = WaveformAugmenter(augment, seed=config.seed) if augment is not None else None
    spec_options = _spec_augment_options(config)

    history: list[dict[str, float]] = []
    best: tuple[float, float] = (-math.inf, math.inf)  # (val UA, -val loss) to maximise
    best_state: dict[str, Any] | None = None
    best_epoch = 0
    best_val: dict[str, float] = {}
    stale = 0
    epochs: Any = range(1, config.epochs + 1)
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(epochs, desc=f"training {model.model_name}", unit="epoch")
        epochs = bar
    for epoch in epochs:
        started = time.perf_counter()
        model.train()
        lr = float(optimizer.param_groups[0]["lr"])
        total_loss, seen = 0.0, 0
        train_true: list[int] = []
        train_pred: list[int] = []
        for rows in _batches(train_rows, config.batch_size, rng):
            y = torch.as_tensor(y_all[rows], device=device)
            if summarized:
                logits = model.forward_summary(data.summary_batch(rows, device))
            else:
                items = [
                    _train_item(int(r), data, pipe, augmenter, spec_options, rng) for r in rows
                ]
                x, lengths = pipe.collate(items, device)
                logits = model(x, lengths)
            if row_weights is None:
                loss = F.cross_entropy(logits, y, weight=weights)
            else:
                w = torch.as_tensor(
                    np.array([row_weights[int(r)] for r in rows]), dtype=logits.dtype
                ).to(device)
                loss = (F.cross_entropy(logits, y, reduction="none") * w).sum() / w.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            total_loss += float(loss.detach()) * len(rows)
            seen += len(rows)
            train_true += y_all[rows].tolist()
            train_pred += logits.detach().argmax(dim=1).tolist()
        train_m = _metrics(train_true, train_pred, labels)
        row: dict[str, float] = {
            "epoch": epoch,
            "lr": lr,
            "train_loss": total_loss / max(seen, 1),
            "train_wa": train_m["wa"],
            "train_ua": train_m["ua"],
        }
        val_m: dict[str, float] = {}
        if len(val_rows):
            proba = _predict_rows(
                model, pipe, data, val_rows, device, config.batch_size, summarized
            )
            val_m = _metrics(y_all[val_rows].tolist(), proba.argmax(axis=1).tolist(), labels)
            picked = np.clip(proba[np.arange(len(val_rows)), y_all[val_rows]], 1e-12, 1.0)
            val_m["loss"] = float(-np.mean(np.log(picked)))
            if val_corpora is not None:
                val_m["corpus_ua"] = _corpus_mean_ua(
                    y_all[val_rows], proba.argmax(axis=1), val_corpora, labels
                )
            row.update(val_loss=val_m["loss"], val_wa=val_m["wa"], val_ua=val_m["ua"])
            score = (val_m.get("corpus_ua", val_m["ua"]), -val_m["loss"])
        else:
            row.update(val_loss=math.nan, val_wa=math.nan, val_ua=math.nan)
            score = (float(epoch), 0.0)  # no validation data: keep the last epoch
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        if score > best:
            best, best_epoch, best_val, stale = score, epoch, val_m, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            stale += 1
        if scheduler is not None:
            if config.scheduler == "plateau":
                scheduler.step(val_m.get("ua", 0.0))
            else:
                scheduler.step()
        if bar is not None:
            bar.set_postfix(
                loss=f"{row['train_loss']:.3f}",
                val_ua=f"{row['val_ua']:.3f}" if len(val_rows) else "-",
                best=best_epoch,
            )
        if config.patience and len(val_rows) and stale >= config.patience:
            break
    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return pd.DataFrame(history, columns=list(LOG_COLUMNS)), best_epoch, best_val


def _fit_svm(
    model: Any,
    data: _Data,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    y_all: np.ndarray,
    labels: list[str],
    config: TrainConfig,
) -> tuple[pd.DataFrame, int, dict[str, float]]:
    started = time.perf_counter()
    x = np.stack([data.features[int(r)] for r in train_rows])
    model.fit(x, y_all[train_rows])
    train_m = _metrics(y_all[train_rows].tolist(), model.predict(x).tolist(), labels)
    row: dict[str, float] = {
        "epoch": 1,
        "lr": math.nan,
        "train_loss": math.nan,
        "train_wa": train_m["wa"],
        "train_ua": train_m["ua"],
        "val_loss": math.nan,
        "val_wa": math.nan,
        "val_ua": math.nan,
    }
    val_m: dict[str, float] = {}
    if len(val_rows):
        xv = np.stack([data.features[int(r)] for r in val_rows])
        val_m = _metrics(y_all[val_rows].tolist(), model.predict(xv).tolist(), labels)
        row.update(val_wa=val_m["wa"], val_ua=val_m["ua"])
    row["seconds"] = time.perf_counter() - started
    del config
    return pd.DataFrame([row], columns=list(LOG_COLUMNS)), 1, val_m


def _corpus_class_weights(data: _Data, rows: np.ndarray, y_all: np.ndarray) -> dict[int, float]:
    """Loss weight of each training row: 1 / size of its (corpus, class) cell, scaled to a mean
    of 1, so every corpus and each of its classes weigh the same in an epoch."""
    corpora = data.corpora_of(rows)
    cells = pd.Series(list(zip(corpora, y_all[rows].tolist(), strict=True)))
    inverse = 1.0 / cells.map(cells.value_counts()).to_numpy(dtype=np.float64)
    inverse *= len(rows) / inverse.sum()
    return {int(r): float(w) for r, w in zip(rows, inverse, strict=True)}


def _corpus_mean_ua(
    true: np.ndarray, pred: np.ndarray, corpora: np.ndarray, labels: list[str]
) -> float:
    """The mean over corpora of each corpus's UA (over the classes it has)."""
    scores = []
    for corpus in sorted(set(corpora.tolist())):
        mine = corpora == corpus
        scores.append(_metrics(true[mine].tolist(), pred[mine].tolist(), labels)["ua"])
    return float(np.mean(scores))


def _metrics(true: Sequence[int], pred: Sequence[int], labels: list[str]) -> dict[str, float]:
    names = np.asarray(labels, dtype=object)
    m = summary_metrics(names[np.asarray(true)], names[np.asarray(pred)], labels)
    return {k: float(v) for k, v in m.items()}


def _predict_rows(
    model: Any,
    pipe: InputPipeline,
    data: _Data,
    rows: np.ndarray,
    device: Any,
    batch_size: int,
    summarized: bool = False,
) -> np.ndarray:
    """Probabilities (len(rows), C) of precomputed features (or summaries), in row order."""
    if summarized:
        import torch

        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                logits = model.forward_summary(data.summary_batch(rows, device))
        finally:
            model.train(was_training)
        return torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float64)
    features = [data.features[int(r)] for r in rows]
    return predict_features(model, pipe, features, batch_size=batch_size, device=device)


# ---------------------------------------------------------------------------------------------
# Predictions frame and checkpoint folder
# ---------------------------------------------------------------------------------------------


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
