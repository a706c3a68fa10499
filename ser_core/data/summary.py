"""One-row-per-corpus overview of a manifest (what ``ser data summary`` prints)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ser_core.data.labels import sort_emotions
from ser_core.data.manifest import MANIFEST_COLUMNS

#: Columns of :func:`summarize`'s result, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "corpus",
    "name",
    "language",
    "files",
    "speakers",
    "male_speakers",
    "female_speakers",
    "emotions",
    "emotion_list",
    "hours",
)


def _display_name(corpus: str) -> str:
    # Imported here: the registry imports every recipe, which a bare summary does not need.
    from ser_core.data.corpora import CORPORA

    info = CORPORA.get(corpus)
    return info.display_name if info is not None else corpus


def _row(corpus: str, name: str, group: pd.DataFrame) -> dict[str, Any]:
    speakers = group.dropna(subset=["speaker"]).drop_duplicates("speaker")
    genders = speakers["gender"]
    emotions = sort_emotions(group["emotion"].dropna())
    languages = sorted(set(group["language"].dropna()))
    return {
        "corpus": corpus,
        "name": name,
        "language": ", ".join(languages),
        "files": len(group),
        "speakers": len(speakers),
        "male_speakers": int((genders == "m").sum()),
        "female_speakers": int((genders == "f").sum()),
        "emotions": len(emotions),
        "emotion_list": ", ".join(emotions),
        "hours": round(float(group["duration"].sum()) / 3600.0, 3),
    }


def summarize(manifest: pd.DataFrame, total: bool = False) -> pd.DataFrame:
    """Per-corpus counts: files, speakers (male / female), emotions, hours.

    Plain Python ints, floats and strings only, so ``summary.to_string(index=False)`` prints
    well and ``summary.to_dict(orient="records")`` goes straight to :func:`json.dumps`.

    Args:
        manifest: a manifest of one or more corpora.
        total: append a row ``corpus="all"`` over the whole manifest.

    Returns:
        One row per corpus (in order of first appearance) with :data:`SUMMARY_COLUMNS`:
        ``emotions`` is the number of distinct labels, ``emotion_list`` those labels in canonical
        order, comma-separated; speakers with unknown gender count in ``speakers`` only; rows
        without a speaker id count in ``files`` only; ``hours`` is rounded to 3 decimals.
    """
    missing = [
        c
        for c in ("corpus", "speaker", "gender", "emotion", "language", "duration")
        if c not in manifest.columns
    ]
    if missing:
        raise ValueError(
            f"not a manifest: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(MANIFEST_COLUMNS)})"
        )
    rows = [
        _row(str(corpus), _display_name(str(corpus)), group)
        for corpus, group in manifest.groupby("corpus", sort=False)
    ]
    if total and len(manifest):
        rows.append(_row("all", "all corpora", manifest))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
