"""The speaker-independent protocols: leave-one-speaker-out, speaker hold-out, speaker k-fold."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from ser_core.data.splits._common import (
    _balanced_pick,
    _check_fraction,
    _counts,
    _make,
    _short,
    _speaker_table,
)
from ser_core.data.splits.base import Split


def leave_one_speaker_out(
    manifest: pd.DataFrame, validation: bool = False, seed: int = 0
) -> Iterator[Split]:
    """Leave-one-speaker-out: one fold per speaker, in sorted speaker order.

    Args:
        manifest: the manifest (one or several corpora).
        validation: also hold out a validation speaker per fold: the next speaker of the same
            corpus in sorted order (wrapping around), or the next speaker overall when the
            corpus has a single speaker. Deterministic, so folds are reproducible.
        seed: unused (LOSO has no randomness); accepted so every protocol takes the same call.

    Yields:
        One :class:`Split` per speaker (``fold`` = position in sorted order).
    """
    del seed
    table = _speaker_table(manifest, "loso")
    if len(table) < 2:
        raise ValueError("loso: needs at least two speakers")
    if validation and len(table) < 3:
        raise ValueError("loso with validation needs at least three speakers")
    keys = manifest["speaker"]
    speakers = [str(s) for s in table["speaker"]]
    corpus_of = dict(zip(speakers, map(str, table["corpus"]), strict=True))
    by_corpus: dict[str, list[str]] = {}
    for speaker in speakers:  # sorted order, so the "next speaker" rule is deterministic
        by_corpus.setdefault(corpus_of[speaker], []).append(speaker)
    for fold, speaker in enumerate(speakers):
        val: list[str] = []
        if validation:
            same = by_corpus[corpus_of[speaker]]
            pool = same if len(same) > 1 else speakers
            val = [pool[(pool.index(speaker) + 1) % len(pool)]]
        yield _make(
            manifest,
            keys,
            "loso",
            [speaker],
            val,
            f"leave-one-speaker-out fold {fold + 1}/{len(speakers)}: test speaker {speaker}"
            + (f", validation speaker {val[0]}" if val else ""),
            fold=fold,
        )


def speaker_holdout(
    manifest: pd.DataFrame,
    test_speakers: Sequence[str] | None = None,
    val_speakers: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Split:
    """Hold out whole speakers for test (and validation), gender-balanced where possible.

    Without explicit lists, each corpus contributes ``round(test_fraction * n)`` test and
    ``round(val_fraction * n)`` validation speakers of its ``n`` (at least one test speaker when
    the fraction is positive, and always at least one training speaker), taken alternately from
    its male and female speakers. EMO-DB (5 m, 5 f) with the defaults: 1 m + 1 f test speakers,
    1 validation speaker. A corpus with one speaker stays entirely in training.

    Args:
        manifest: the manifest.
        test_speakers: explicit test speakers (full ids like ``"emodb:03"``); overrides the draw.
        val_speakers: explicit validation speakers; when None and ``val_fraction`` > 0 they are
            drawn from the remaining speakers as above.
        test_fraction, val_fraction: shares of each corpus's speakers.
        seed: seeds the draw.

    Raises:
        ValueError: unknown speakers in the lists, overlapping lists, bad fractions, or a
            manifest without speaker ids.
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0:
        raise ValueError("test_fraction + val_fraction must be below 1")
    table = _speaker_table(manifest, "speaker-holdout")
    known = set(table["speaker"])
    for name, given in (("test_speakers", test_speakers), ("val_speakers", val_speakers)):
        unknown = sorted(set(given or ()) - known)
        if unknown:
            raise ValueError(
                f"speaker-holdout: {name} not in the manifest: {', '.join(unknown)} "
                f"(speaker ids look like {next(iter(sorted(known)))!r})"
            )
    if test_speakers is not None and val_speakers is not None:
        both = sorted(set(test_speakers) & set(val_speakers))
        if both:
            raise ValueError(f"speaker-holdout: in both test and val speakers: {', '.join(both)}")
    rng = np.random.default_rng(seed)
    test: list[str] = list(test_speakers) if test_speakers is not None else []
    val: list[str] = list(val_speakers) if val_speakers is not None else []
    for _corpus, sub in table.groupby("corpus", sort=True):
        n_test, n_val = _counts(len(sub), test_fraction, val_fraction)
        if test_speakers is None:
            # Explicit validation speakers are not eligible for test.
            pool = sub[~sub["speaker"].isin(val)]
            test += _balanced_pick(pool, min(n_test, len(pool) - 1), rng)
        if val_speakers is None:
            rest = sub[~sub["speaker"].isin(test)]
            n_val = min(n_val, len(rest) - 1)
            val += _balanced_pick(rest, n_val, rng)
    if not test:
        raise ValueError(
            "speaker-holdout: no test speaker (each corpus needs at least two speakers)"
        )
    explicit = (
        "explicit" if test_speakers is not None else f"seed {seed}, gender-balanced per corpus"
    )
    return _make(
        manifest,
        manifest["speaker"],
        "speaker-holdout",
        test,
        val,
        f"speaker hold-out ({explicit}): test speakers {_short(sorted(test))}; "
        f"validation speakers {_short(sorted(val))}",
    )


def speaker_kfold(
    manifest: pd.DataFrame, k: int = 5, seed: int = 0, validation: bool = False
) -> Iterator[Split]:
    """Speaker-grouped k-fold cross-validation, balanced by corpus and gender.

    Speakers are grouped by corpus and gender; each group is shuffled (``seed``) and dealt
    round-robin into the folds, the dealing continuing from group to group, so every fold gets
    a near-equal share of each corpus's men and women (EMO-DB, k=5: one man and one woman per
    fold). scikit-learn's ``StratifiedGroupKFold`` was the first choice, but it orders groups
    by size before its (seeded) shuffle matters, so on corpora whose speakers have different
    numbers of files (EMO-DB) every seed gave the same folds.

    Args:
        manifest: the manifest.
        k: number of folds (2 <= k <= number of speakers).
        seed: seeds the assignment of speakers to folds.
        validation: use the next fold's speakers (fold ``(i + 1) % k``) as validation set.

    Yields:
        ``k`` splits whose test sets cover every row exactly once.
    """
    table = _speaker_table(manifest, "kfold-speaker")
    if not 2 <= k <= len(table):
        raise ValueError(
            f"kfold-speaker: k must be between 2 and the {len(table)} speakers, got {k}"
        )
    if validation and k < 3:
        raise ValueError("kfold-speaker with validation needs k >= 3")
    keys = manifest["speaker"]
    rng = np.random.default_rng(seed)
    fold_speakers: list[list[str]] = [[] for _ in range(k)]
    position = int(rng.integers(k))  # which fold gets the first (and any odd) speaker
    for _stratum, sub in table.groupby(["corpus", "gender"], sort=True):
        for speaker in rng.permutation(sorted(map(str, sub["speaker"]))):
            fold_speakers[position].append(str(speaker))
            position = (position + 1) % k
    fold_speakers = [sorted(f) for f in fold_speakers]
    for i in range(k):
        val = fold_speakers[(i + 1) % k] if validation else []
        yield _make(
            manifest,
            keys,
            "kfold-speaker",
            fold_speakers[i],
            val,
            f"speaker-grouped {k}-fold, fold {i + 1}/{k} (seed {seed}): test speakers "
            f"{_short(fold_speakers[i])}" + (f"; validation speakers {_short(val)}" if val else ""),
            fold=i,
        )
