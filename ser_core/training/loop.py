"""The epoch loop: mini-batches, optimiser, schedule, validation, early stopping; the svm fit."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ser_core.data import class_weights
from ser_core.features import AugmentConfig, WaveformAugmenter, spec_augment
from ser_core.pipeline import InputPipeline, predict_features
from ser_core.scoring import summary_metrics
from ser_core.training._distill import Teacher, distillation_loss
from ser_core.training._optim import (
    WarmUp,
    make_optimizer,
    make_scheduler,
    mixup,
    regularised_loss,
    weight_average,
)
from ser_core.training.config import TrainConfig, TrainConfigError
from ser_core.training.store import _Data

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

_LOG = logging.getLogger(__name__)


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
    teacher: Teacher | None = None,
) -> tuple[pd.DataFrame, int, dict[str, float]]:
    import torch

    config = data.config
    model.to(device)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config)
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
    steps_per_epoch = sum(1 for _ in _batches(train_rows, config.batch_size, None))
    warm_up = WarmUp(optimizer, round(config.warmup_epochs * steps_per_epoch))
    averaged = weight_average(model, config.ema) if config.ema else None
    covered = torch.as_tensor(teacher.covered, device=device) if teacher is not None else None
    # What is validated and kept: the averaged weights when there are some.
    scored = averaged.module if averaged is not None else model

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
        warming_up = warm_up.active  # the epoch scheduler waits for the warm-up's epochs
        lr = float(optimizer.param_groups[0]["lr"])
        total_loss, seen = 0.0, 0
        train_true: list[int] = []
        train_pred: list[int] = []
        for rows in _batches(train_rows, config.batch_size, rng):
            y = torch.as_tensor(y_all[rows], device=device)
            perm, lam = None, 1.0
            if summarized:
                summary = data.summary_batch(rows, device)
                if config.mixup > 0:
                    summary, _, perm, lam = mixup(summary, None, config.mixup, rng)
                logits = model.forward_summary(summary)
            else:
                items = [
                    _train_item(int(r), data, pipe, augmenter, spec_options, rng) for r in rows
                ]
                x, lengths = pipe.collate(items, device)
                if config.mixup > 0:
                    x, lengths, perm, lam = mixup(x, lengths, config.mixup, rng)
                logits = model(x, lengths)
            w = None
            if row_weights is not None:
                w = torch.as_tensor(
                    np.array([row_weights[int(r)] for r in rows]), dtype=logits.dtype
                ).to(device)
            loss = regularised_loss(logits, y, weights, w, config.label_smoothing)
            if perm is not None:
                other = regularised_loss(
                    logits, y[perm], weights, None if w is None else w[perm], config.label_smoothing
                )
                loss = lam * loss + (1.0 - lam) * other
            if teacher is not None:
                soft = torch.as_tensor(teacher.batch(rows, len(data.manifest)), device=device)
                if perm is not None:
                    soft = lam * soft + (1.0 - lam) * soft[perm]
                kd = distillation_loss(logits, soft, covered, config.distill_temperature, w)
                loss = (1.0 - config.distill_weight) * loss + config.distill_weight * kd
            warm_up.before_step()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if averaged is not None:
                averaged.update_parameters(model)
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
                scored, pipe, data, val_rows, device, config.batch_size, summarized
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
            best_state = copy.deepcopy(
                {k: v.detach().cpu() for k, v in scored.state_dict().items()}
            )
        else:
            stale += 1
        if scheduler is not None and not warming_up:
            if config.scheduler == "plateau":
                scheduler.step(val_m.get("ua", 0.0))
            else:
                scheduler.step()
        _LOG.info(
            "epoch %d/%d: loss %.3f, validation UA %s, best epoch %d, %.0f s",
            epoch, config.epochs, row["train_loss"],
            f"{row['val_ua']:.3f}" if len(val_rows) else "-", best_epoch, row["seconds"],
        )  # fmt: skip
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
