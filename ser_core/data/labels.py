"""The canonical emotion vocabulary every corpus maps its own codes onto."""

from __future__ import annotations

from collections.abc import Iterable

#: Canonical emotion labels, in the order used for displays and default label lists.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
    "boredom",
)

#: The seven classes shared by EMO-DB, RAVDESS and TESS once "calm" and "boredom" are set aside.
SHARED_EMOTIONS: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)


def check_emotion(label: str) -> str:
    """Return ``label`` if it is canonical, else raise ``ValueError`` listing the valid ones."""
    if label not in EMOTIONS:
        raise ValueError(f"unknown emotion {label!r}; expected one of {', '.join(EMOTIONS)}")
    return label


def sort_emotions(labels: Iterable[str]) -> list[str]:
    """Distinct labels in canonical order (unknown labels last, alphabetically)."""
    unique = set(labels)
    known = [e for e in EMOTIONS if e in unique]
    return known + sorted(unique - set(EMOTIONS))


#: Folder and file-name spellings of emotions seen in public corpora and ad-hoc collections,
#: mapped onto the canonical vocabulary. Keys are lower case with spaces and hyphens turned into
#: underscores (see :func:`normalize_emotion`). Deliberately conservative: only names whose meaning
#: is unambiguous are listed, so e.g. "excited" or "anxious" are *not* folded into happy / fearful.
EMOTION_SYNONYMS: dict[str, str] = {
    **{label: label for label in EMOTIONS},
    "neu": "neutral",
    "calmness": "calm",
    "happiness": "happy",
    "hap": "happy",
    "joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "ang": "angry",
    "fear": "fearful",
    "fea": "fearful",
    "afraid": "fearful",
    "disgusted": "disgust",
    "dis": "disgust",
    "surprise": "surprised",
    "sur": "surprised",
    # TESS: "ps" in file names, "pleasant_surprise" / "Pleasant_surprised" in folder names.
    "ps": "surprised",
    "pleasant_surprise": "surprised",
    "pleasant_surprised": "surprised",
    "bored": "boredom",
}


def normalize_emotion(name: str) -> str | None:
    """Map a corpus or folder spelling of an emotion onto the canonical vocabulary.

    Args:
        name: e.g. ``"Anger"``, ``"happiness"``, ``"Pleasant_surprise"``, ``"ps"``.

    Returns:
        The canonical label, or ``None`` when the name is not a known emotion.
    """
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return EMOTION_SYNONYMS.get(key)
