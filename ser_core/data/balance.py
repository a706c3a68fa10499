"""Class balancing: loss weights and deterministic under- / over-sampling of row positions.

Emotion corpora are mildly to strongly imbalanced (EMO-DB: 127 angry vs 46 disgust; RAVDESS: half
as many neutral as other files); these helpers let training compensate, reproducibly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def class_weights(
    labels: Sequence[Any] | np.ndarray | pd.Series, classes: Sequence[Any]
) -> np.ndarray:
    """Balanced class weights, ``n_samples / (n_classes * count(c))``, in the order of ``classes``.

    The same formula as scikit-learn's ``compute_class_weight("balanced", ...)``; unlike it, a
    class of ``classes`` absent from ``labels`` gets weight 0 (it has no samples to weigh) and
    ``n_classes`` counts only the classes present, so present classes get the same weights as
    scikit-learn would give them.

    Args:
        labels: one label per training sample.
        classes: the label order of the model's outputs.

    Returns:
        ``float64`` array of ``len(classes)`` weights.

    Raises:
        ValueError: ``labels`` is empty or holds a label not in ``classes``.
    """
    values = pd.Series(np.asarray(labels, dtype=object))
    if values.empty:
        raise ValueError("class_weights: no labels")
    unknown = sorted(map(str, set(values) - set(classes)))
    if unknown:
        raise ValueError(f"class_weights: labels not in classes: {', '.join(unknown)}")
    counts = values.value_counts()
    present = int((counts > 0).sum())
    weights = [len(values) / (present * counts[c]) if c in counts.index else 0.0 for c in classes]
    return np.asarray(weights, dtype=np.float64)


def _positions_and_labels(
    manifest_or_indices: pd.DataFrame | Sequence[int] | np.ndarray,
    labels: str | Sequence[Any] | np.ndarray | pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions to sample from and their labels, aligned."""
    if isinstance(manifest_or_indices, pd.DataFrame):
        positions = np.arange(len(manifest_or_indices), dtype=np.int64)
        if isinstance(labels, str):
            values = manifest_or_indices[labels].to_numpy(dtype=object)
        else:
            values = np.asarray(labels, dtype=object)
    else:
        positions = np.asarray(manifest_or_indices, dtype=np.int64)
        if isinstance(labels, str):
            raise TypeError("a column name as labels needs a manifest, not an index array")
        values = np.asarray(labels, dtype=object)
    if len(values) != len(positions):
        raise ValueError(
            f"labels ({len(values)}) must align with the rows / indices ({len(positions)})"
        )
    return positions, values


def undersample(
    manifest_or_indices: pd.DataFrame | Sequence[int] | np.ndarray,
    labels: str | Sequence[Any] | np.ndarray | pd.Series = "emotion",
    seed: int = 0,
) -> np.ndarray:
    """Keep ``min(count)`` random items of every class, without replacement.

    Args:
        manifest_or_indices: a manifest (positions ``0..n-1`` are sampled) or an array of row
            positions (e.g. ``split.train``).
        labels: one label per row / index, aligned with the first argument; with a manifest, a
            column name is accepted (default ``"emotion"``).
        seed: seeds the draw; the same seed gives the same result.

    Returns:
        The kept positions (values of ``manifest_or_indices`` when indices are given), sorted.
    """
    positions, values = _positions_and_labels(manifest_or_indices, labels)
    if len(positions) == 0:
        return positions
    rng = np.random.default_rng(seed)
    as_str = values.astype(str)
    classes, counts = np.unique(as_str, return_counts=True)
    target = int(counts.min())
    kept = [rng.choice(positions[as_str == c], size=target, replace=False) for c in classes]
    return np.sort(np.concatenate(kept)).astype(np.int64)


def oversample(
    manifest_or_indices: pd.DataFrame | Sequence[int] | np.ndarray,
    labels: str | Sequence[Any] | np.ndarray | pd.Series = "emotion",
    seed: int = 0,
) -> np.ndarray:
    """Repeat random items of the smaller classes until every class has ``max(count)`` items.

    Every original item is kept once; the extra copies are drawn with replacement.

    Args:
        manifest_or_indices: a manifest or an array of row positions (see :func:`undersample`).
        labels: aligned labels, or a column name with a manifest (default ``"emotion"``).
        seed: seeds the draw.

    Returns:
        Positions with repeats, sorted (a training loader shuffles them anyway).
    """
    positions, values = _positions_and_labels(manifest_or_indices, labels)
    if len(positions) == 0:
        return positions
    rng = np.random.default_rng(seed)
    as_str = values.astype(str)
    classes, counts = np.unique(as_str, return_counts=True)
    target = int(counts.max())
    out = [positions]
    for c, n in zip(classes, counts, strict=False):
        if n < target:
            out.append(rng.choice(positions[as_str == c], size=target - n, replace=True))
    return np.sort(np.concatenate(out)).astype(np.int64)
