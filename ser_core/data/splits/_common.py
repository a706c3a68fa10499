"""Helpers the protocols share: group keys checked for gaps, per-speaker tables, how many groups
to hold out, seeded gender-balanced picks, and building a checked :class:`Split` from groups."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ser_core.data.splits.base import _DISJOINT_ON, Split, _finish, _group_keys, _positions


def _require(manifest: pd.DataFrame, column: str, protocol: str) -> pd.Series:
    """The group keys of ``column``; ValueError when some are unknown or the manifest is empty."""
    if len(manifest) == 0:
        raise ValueError(f"{protocol}: the manifest is empty")
    keys = _group_keys(manifest, column)
    if keys.isna().any():
        hint = (
            "give prepare_folder a speaker_from pattern, or use the text-holdout or random protocol"
            if column == "speaker"
            else "use a speaker protocol or the random protocol"
        )
        raise ValueError(f"{protocol}: {int(keys.isna().sum())} row(s) have no {column}; {hint}")
    return keys


def _speaker_table(manifest: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """One row per speaker: speaker, corpus, gender (``"?"`` when unknown), rows."""
    speakers = _require(manifest, "speaker", protocol)
    table = pd.DataFrame(
        {
            "speaker": speakers.to_numpy(dtype=object),
            "corpus": manifest["corpus"].to_numpy(dtype=object),
            "gender": manifest["gender"]
            .astype(object)
            .where(manifest["gender"].notna(), "?")
            .to_numpy(dtype=object),
        }
    )
    return (
        table.groupby("speaker", sort=True)
        .agg(corpus=("corpus", "first"), gender=("gender", "first"), rows=("corpus", "size"))
        .reset_index()
    )


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def _counts(n: int, test_fraction: float, val_fraction: float) -> tuple[int, int]:
    """How many of ``n`` groups go to test and to validation (at least one group stays in train)."""
    if n < 2:
        return 0, 0
    n_test = min(max(_round_half_up(test_fraction * n), 1 if test_fraction > 0 else 0), n - 1)
    room = n - n_test - 1
    n_val = min(max(_round_half_up(val_fraction * n), 1 if val_fraction > 0 else 0), room)
    return n_test, max(n_val, 0)


def _balanced_pick(
    groups: pd.DataFrame, k: int, rng: np.random.Generator, by: str = "gender"
) -> list[str]:
    """Pick ``k`` speakers spread over the values of ``by`` as evenly as the pool allows.

    Speakers are shuffled within each value, then taken round-robin (values in an order shuffled
    by the same generator, so which gender gets the odd pick depends on the seed, not on the
    alphabet).
    """
    k = min(k, len(groups))  # never ask for more speakers than the pool holds
    if k <= 0:
        return []
    pools = {
        str(value): list(rng.permutation(sorted(map(str, sub["speaker"]))))
        for value, sub in groups.groupby(by, sort=True)
    }
    order = list(rng.permutation(sorted(pools)))
    picked: list[str] = []
    while len(picked) < k:
        for value in order:
            if pools[value] and len(picked) < k:
                picked.append(str(pools[value].pop()))
    return sorted(picked)


def _rows_of(keys: pd.Series, chosen: set[str]) -> np.ndarray:
    return np.flatnonzero(keys.isin(chosen).to_numpy())


def _make(
    manifest: pd.DataFrame,
    keys: pd.Series,
    protocol: str,
    test_groups: Sequence[str],
    val_groups: Sequence[str],
    description: str,
    fold: int | None = None,
) -> Split:
    test = _rows_of(keys, set(test_groups))
    val = _rows_of(keys, set(val_groups))
    train = np.setdiff1d(np.arange(len(manifest)), np.union1d(test, val))
    return _finish(
        manifest,
        Split(
            protocol=protocol,
            train=_positions(train),
            val=_positions(val),
            test=_positions(test),
            fold=fold,
            description=description,
            disjoint_on=_DISJOINT_ON[protocol],
            test_groups=tuple(sorted(test_groups)),
            val_groups=tuple(sorted(val_groups)),
            n_rows=len(manifest),
        ),
    )


def _short(groups: Sequence[str], limit: int = 8) -> str:
    groups = list(groups)
    if not groups:
        return "none"
    return ", ".join(groups[:limit]) + (
        f" and {len(groups) - limit} more" if len(groups) > limit else ""
    )
