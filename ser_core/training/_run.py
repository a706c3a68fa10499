"""One training run on one split: features, fitting, the test predictions and the checkpoint.

The steps are those listed in :mod:`ser_core.training.trainer`, whose
:func:`~ser_core.training.trainer.train` and :func:`~ser_core.training.trainer.train_folds` call
:func:`_train_split` once per split, and which re-exports :class:`TrainResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.data import Split, oversample, undersample
from ser_core.models import is_torch_model
from ser_core.pipeline import pipeline_for
from ser_core.scoring import summary_metrics
from ser_core.training._distill import teacher_targets
from ser_core.training._run_helpers import _device, _fresh_model, _refit, _speaker_adapted
from ser_core.training.config import TrainConfigError
from ser_core.training.data import auto_labels
from ser_core.training.loop import _augment_config, _fit_svm, _fit_torch, _predict_rows
from ser_core.training.store import _Data
from ser_core.training.writer import _write_checkpoint, predictions_frame


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

    model, feature_config, start = _fresh_model(config, label_list)
    if start is not None:
        notes.append(start.note)
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

    teacher = None
    pretrained_on = start.corpora if start is not None else []
    if config.distill_from:
        if not is_torch_model(model):
            raise TrainConfigError(f"distill_from is for torch models, not {model.model_name}")
        heldout = manifest["speaker"].iloc[np.concatenate([parts["val"], parts["test"]])]
        teacher = teacher_targets(
            config, data, np.concatenate([train_rows, refit_rows]), label_list,
            sorted(set(heldout.dropna().astype(str))), device,
        )  # fmt: skip
        notes.append(teacher.note)
        pretrained_on = sorted({*pretrained_on, *teacher.corpora})

    if is_torch_model(model):
        history, best_epoch, val_metrics = _fit_torch(
            model, pipe, data, train_rows, parts["val"], y_all, label_list, augment, device,
            summarized, teacher,
        )  # fmt: skip
    else:
        history, best_epoch, val_metrics = _fit_svm(
            model, data, train_rows, parts["val"], y_all, label_list, config
        )
    if len(refit_rows):
        model = _refit(
            model, data, pipe, np.concatenate([train_rows, refit_rows]), y_all, label_list,
            augment, device, summarized, best_epoch, teacher,
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
        pretrained_on=pretrained_on,
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
