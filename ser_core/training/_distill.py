"""Knowledge distillation: a trained checkpoint's probabilities as soft targets.

After Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network" (NIPS 2014 Deep
Learning Workshop): the student matches the teacher's distribution, softened by a temperature
T, besides the true labels; with a few hundred clips the teacher's view of which emotions a clip
resembles carries more than its one-hot label. The teacher scores every training clip once
(whole clip, before augmentation); speed copies and crops of a clip share its targets.

Honesty: the teacher must not have trained on a speaker this run validates or tests on (its
``config.json`` lists its training speakers), else the student would inherit what it learnt
about them. Labels the teacher lacks (EMO-DB's boredom, RAVDESS's calm) are left to the
cross-entropy: the soft targets constrain only the distribution over the labels both share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ser_core.errors import SERError
from ser_core.training.config import TrainConfig, TrainConfigError
from ser_core.training.store import _Data

__all__ = ["Teacher", "distillation_loss", "teacher_targets"]


@dataclass(frozen=True)
class Teacher:
    """Soft targets of the training clips.

    Attributes:
        targets: (clips in the manifest, student classes) teacher probabilities softened by the
            temperature, over the ``covered`` classes (rows of clips not scored stay zero).
        covered: (student classes,) which of the student's labels the teacher has.
        note: what the card says about the teacher.
        corpora: every corpus the teacher (and its own starting weights) learnt from.
    """

    targets: np.ndarray
    covered: np.ndarray
    note: str
    corpora: list[str]

    def batch(self, rows: np.ndarray, n_clips: int) -> np.ndarray:
        """Targets of (virtual) rows: a copy of a clip shares the clip's."""
        return self.targets[np.asarray(rows, dtype=np.int64) % n_clips]


def teacher_targets(
    config: TrainConfig,
    data: _Data,
    clip_rows: np.ndarray,
    labels: Sequence[str],
    heldout_speakers: Sequence[str],
    device: Any,
) -> Teacher:
    """Score ``clip_rows`` (manifest rows) with ``config.distill_from``'s model.

    Raises:
        TrainConfigError: no such checkpoint, a teacher trained on a held-out speaker (or whose
            training speakers are not recorded), or fewer than two labels shared with it.
    """
    from ser_core.checkpoint_config import read_checkpoint_config
    from ser_core.features import config_from_dict
    from ser_core.models import load_model
    from ser_core.pipeline import pipeline_for, predict_features

    source = Path(str(config.distill_from))
    try:
        payload = read_checkpoint_config(source, require_labels=True)
    except SERError as exc:
        raise TrainConfigError(f"distill_from: {exc}") from exc
    trained = (payload.get("data") or {}).get("train_speakers")
    if not trained:
        raise TrainConfigError(
            f"distill_from: {source} does not list its training speakers, so it cannot be "
            "checked against this run's validation and test speakers"
        )
    seen = sorted(set(map(str, trained)) & set(map(str, heldout_speakers)))
    if seen:
        raise TrainConfigError(
            f"distill_from: the teacher trained on {len(seen)} speaker(s) this run validates or "
            f"tests on ({', '.join(seen[:5])}{', ...' if len(seen) > 5 else ''})"
        )
    teacher_labels = list(payload["labels"])
    covered = np.array([label in teacher_labels for label in labels], dtype=bool)
    if covered.sum() < 2:
        raise TrainConfigError(
            f"distill_from: the teacher's labels {teacher_labels} share fewer than two with "
            f"this run's {list(labels)}"
        )
    try:
        model = load_model(source)
        feature = payload.get("feature_config")
        pipe = pipeline_for(model, config_from_dict(feature) if feature else None)
    except (SERError, ValueError, TypeError) as exc:
        raise TrainConfigError(f"distill_from: cannot load {source}: {exc}") from exc
    clip_rows = np.unique(np.asarray(clip_rows, dtype=np.int64) % len(data.manifest))
    paths = [str(p) for p in data.manifest["path"].iloc[clip_rows]]
    model = model.to(device)
    # In chunks: an encoder teacher's features (hidden states) of every clip would not fit.
    proba = np.concatenate(
        [
            predict_features(
                model, pipe, pipe.featurize_files(chunk, cache=data.cache), device=device
            )
            for chunk in (paths[i : i + 128] for i in range(0, len(paths), 128))
        ]
    )
    shared = [teacher_labels.index(label) for label, ok in zip(labels, covered, strict=True) if ok]
    # Softened as the logits would be: p^(1/T), renormalised over the shared labels.
    soft = np.clip(proba[:, shared], 1e-12, 1.0) ** (1.0 / config.distill_temperature)
    targets = np.zeros((len(data.manifest), len(labels)), dtype=np.float32)
    targets[np.ix_(clip_rows, np.flatnonzero(covered))] = soft / soft.sum(axis=1, keepdims=True)
    data_info = payload.get("data") or {}
    corpora = sorted({*data_info.get("corpora", []), *data_info.get("pretrained_on", [])})
    left = [label for label, ok in zip(labels, covered, strict=True) if not ok]
    note = (
        f"distilled from {source.name} ({payload['name']}, trained on {', '.join(corpora)}; "
        f"none of its training speakers is validated or tested here): loss = "
        f"{1 - config.distill_weight:g} × cross-entropy + {config.distill_weight:g} × T² × "
        f"cross-entropy against its probabilities at T = {config.distill_temperature:g}"
        + (f"; {', '.join(left)} learnt from the labels alone" if left else "")
    )
    return Teacher(targets=targets, covered=covered, note=note, corpora=corpora)


def distillation_loss(
    logits: Any, targets: Any, covered: Any, temperature: float, row_weights: Any
) -> Any:
    """T² × cross-entropy of the student's softened distribution over the ``covered`` labels
    against the teacher's (the KL divergence up to the teacher's entropy, a constant); a
    row-weighted mean when ``row_weights`` are given."""
    import torch

    log_p = torch.log_softmax(logits[:, covered] / temperature, dim=1)
    per_row = -(targets[:, covered] * log_p).sum(dim=1) * temperature**2
    if row_weights is None:
        return per_row.mean()
    return (per_row * row_weights).sum() / row_weights.sum()
