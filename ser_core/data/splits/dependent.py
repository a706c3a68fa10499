"""The speaker-dependent protocols: text hold-out and the random (stratified) split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ser_core.data.splits._common import _check_fraction, _counts, _make, _require, _short
from ser_core.data.splits.base import Split, _finish, _positions


def text_holdout(
    manifest: pd.DataFrame, test_fraction: float = 0.2, val_fraction: float = 0.1, seed: int = 0
) -> Split:
    """Hold out whole texts (sentences, TESS words): speaker-DEPENDENT, text-independent.

    For corpora with too few speakers for a speaker-independent test (TESS has two), this at
    least keeps the same word or sentence out of training. Each corpus contributes
    ``round(test_fraction * n)`` test and ``round(val_fraction * n)`` validation texts of its
    ``n`` (at least one test text, always one training text). The test speakers *are* heard in
    training: results say nothing about unseen voices, which the description states.

    Raises:
        ValueError: rows without a text, or bad fractions.
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0:
        raise ValueError("test_fraction + val_fraction must be below 1")
    keys = _require(manifest, "text", "text-holdout")
    rng = np.random.default_rng(seed)
    test: list[str] = []
    val: list[str] = []
    for _corpus, sub in keys.groupby(manifest["corpus"], sort=True):
        texts = sorted(set(sub))
        n_test, n_val = _counts(len(texts), test_fraction, val_fraction)
        order = [str(t) for t in rng.permutation(texts)]
        test += order[:n_test]
        val += order[n_test : n_test + n_val]
    if not test:
        raise ValueError("text-holdout: no test text (each corpus needs at least two texts)")
    return _make(
        manifest,
        keys,
        "text-holdout",
        test,
        val,
        f"text-holdout (speaker-dependent; seed {seed}): {len(test)} test texts "
        f"({_short(sorted(test), 5)}), {len(val)} validation texts; the same speakers are in "
        "train and test",
    )


def random_split(
    manifest: pd.DataFrame,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
) -> Split:
    """Random utterance-level split, stratified on emotion: speaker-DEPENDENT.

    Kept for comparison with the many papers that report it; it overestimates accuracy on new
    speakers, and its description says so.

    Args:
        manifest: the manifest.
        test_fraction, val_fraction: shares of all rows.
        seed: seeds the draw.
        stratify: keep the emotion distribution equal across parts (falls back to an
            unstratified draw when a class is too small to be split).
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0 or test_fraction <= 0:
        raise ValueError("need 0 < test_fraction and test_fraction + val_fraction < 1")
    if len(manifest) < 3:
        raise ValueError("random: the manifest needs at least three rows")
    positions = np.arange(len(manifest))
    labels = manifest["emotion"].to_numpy(dtype=object)

    def draw(pool: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
        strata = labels[pool] if stratify else None
        try:
            keep, held = train_test_split(pool, test_size=size, random_state=seed, stratify=strata)
        except ValueError:  # a class with a single member cannot be stratified
            keep, held = train_test_split(pool, test_size=size, random_state=seed)
        return np.asarray(keep), np.asarray(held)

    rest, test = draw(positions, test_fraction)
    val = np.array([], dtype=np.int64)
    if val_fraction > 0:
        rest, val = draw(rest, val_fraction / (1.0 - test_fraction))
    return _finish(
        manifest,
        Split(
            protocol="random",
            train=_positions(rest),
            val=_positions(val),
            test=_positions(test),
            description=(
                f"random (speaker-dependent; seed {seed}"
                + (", stratified on emotion" if stratify else "")
                + "): the same speakers and texts are in train and test"
            ),
            disjoint_on=(),
            n_rows=len(manifest),
        ),
    )
