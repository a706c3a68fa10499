"""Choosing a protocol by name: :func:`get_splits` and :func:`get_split`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ser_core.data.splits.base import PROTOCOLS, Split
from ser_core.data.splits.corpus import leave_one_corpus_out, per_corpus_holdout
from ser_core.data.splits.dependent import random_split, text_holdout
from ser_core.data.splits.speaker import leave_one_speaker_out, speaker_holdout, speaker_kfold


def _canonical_protocol(protocol: str) -> str:
    key = protocol.strip().lower().replace("_", "-")
    aliases = {
        "holdout": "speaker-holdout",
        "speaker-holdout": "speaker-holdout",
        "loso": "loso",
        "leave-one-speaker-out": "loso",
        "kfold": "kfold-speaker",
        "kfold-speaker": "kfold-speaker",
        "speaker-kfold": "kfold-speaker",
        "text-holdout": "text-holdout",
        "random": "random",
        "per-corpus": "per-corpus",
        "loco": "loco",
        "leave-one-corpus-out": "loco",
    }
    if key not in aliases:
        raise ValueError(
            f"unknown split protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}"
        )
    return aliases[key]


def get_splits(protocol: str, manifest: pd.DataFrame, **kwargs: Any) -> list[Split]:
    """All splits of a protocol: one for the hold-out protocols, one per fold otherwise.

    Args:
        protocol: one of :data:`PROTOCOLS` (``-``/``_`` and case are ignored).
        manifest: the manifest to split.
        **kwargs: passed to the generator (``seed``, ``test_fraction``, ``k``, ``validation``,
            ``test_speakers``, ...).

    Raises:
        ValueError: unknown protocol or arguments the protocol does not take.
    """
    name = _canonical_protocol(protocol)
    if name == "loso":
        return list(leave_one_speaker_out(manifest, **kwargs))
    if name == "kfold-speaker":
        return list(speaker_kfold(manifest, **kwargs))
    if name == "speaker-holdout":
        return [speaker_holdout(manifest, **kwargs)]
    if name == "text-holdout":
        return [text_holdout(manifest, **kwargs)]
    if name == "per-corpus":
        return [per_corpus_holdout(manifest, **kwargs)]
    if name == "loco":
        return list(leave_one_corpus_out(manifest, **kwargs))
    return [random_split(manifest, **kwargs)]


def get_split(protocol: str, manifest: pd.DataFrame, fold: int = 0, **kwargs: Any) -> Split:
    """One split of a protocol (fold ``fold`` for ``loso`` / ``kfold-speaker``).

    Example:
        >>> split = get_split("speaker-holdout", manifest, seed=0)  # doctest: +SKIP
        >>> manifest.iloc[split.test].speaker.unique()              # doctest: +SKIP

    Args:
        protocol: one of :data:`PROTOCOLS`.
        manifest: the manifest to split.
        fold: which fold of a multi-fold protocol (must be 0 for single-split protocols).
        **kwargs: passed to the generator (see :func:`get_splits`).

    Raises:
        ValueError: unknown protocol, or ``fold`` out of range.
    """
    splits = get_splits(protocol, manifest, **kwargs)
    if not 0 <= fold < len(splits):
        raise ValueError(f"{protocol}: fold {fold} out of range (0..{len(splits) - 1})")
    return splits[fold]
