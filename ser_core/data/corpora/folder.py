"""Any collection laid out as one folder per emotion.

Not a published corpus: a recipe for a user's own recordings (or a corpus without a dedicated
loader) sorted into emotion folders. There is no citation or licence of its own; those of the
recordings apply.

Layout accepted (any audio extension, any case)::

    root/angry/clip1.wav
    root/Happiness/speaker3_take2.flac
    root/spk01/sad/x.wav            nested folders are fine: the emotion is the innermost
                                    folder (below root) whose name is an emotion

Folder names are mapped through :data:`ser_core.data.labels.EMOTION_SYNONYMS`: e.g. ``anger``/
``angry``, ``happiness``/``happy``/``joy``, ``fear``/``fearful``, ``surprise``/``surprised``/
``ps``/``pleasant_surprise``, ``sad``/``sadness``, ``disgust``/``disgusted``, ``neutral``,
``calm``, ``boredom``/``bored``. Files in no emotion folder are skipped with a warning.

Speakers are unknown (``speaker`` NA, so speaker-independent splits refuse the manifest) unless
``speaker_from`` says how to read them: a regular expression searched in the path relative to
``root`` (named group ``speaker``, else group 1, else the whole match), or a callable taking that
relative :class:`~pathlib.Path` and returning the speaker or None. A file whose speaker cannot be
read is skipped with a warning. ``gender`` and ``age`` are NA; ``language`` is what the caller
says (NA by default). ``text`` is NA.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ser_core.data.corpora._common import build_manifest, no_audio_error
from ser_core.data.labels import normalize_emotion
from ser_core.data.manifest import SkipLog, check_root, list_audio_files

NAME = "folder"
DISPLAY_NAME = "Folder per emotion (generic)"
LANGUAGE = "any"
LICENCE = "that of the recordings"
CITATION = ""
URL = ""

SpeakerFrom = str | re.Pattern[str] | Callable[[Path], str | None]

_EXPECTED = "root/<emotion>/<file>.wav, e.g. root/angry/clip1.wav"


def _speaker_reader(speaker_from: SpeakerFrom) -> Callable[[Path], str | None]:
    if callable(speaker_from) and not isinstance(speaker_from, re.Pattern):
        return speaker_from
    pattern = re.compile(speaker_from) if isinstance(speaker_from, str) else speaker_from

    def read(relative: Path) -> str | None:
        match = pattern.search(relative.as_posix())
        if match is None:
            return None
        if "speaker" in pattern.groupindex:
            return match["speaker"]
        return match[1] if pattern.groups else match[0]

    return read


def prepare_folder(
    root: str | os.PathLike[str],
    *,
    name: str = NAME,
    language: str | None = None,
    speaker_from: SpeakerFrom | None = None,
) -> pd.DataFrame:
    """Build a manifest from a one-folder-per-emotion collection.

    Args:
        root: the folder holding the emotion folders.
        name: the corpus name written into the manifest (and prefixed to speaker ids); lower
            case letters, digits, ``-`` and ``_``.
        language: ISO 639-1 code of the recordings, if known (e.g. ``"en"``).
        speaker_from: how to read the speaker from the path relative to ``root`` (see the module
            docstring), e.g. ``r"^(?:[^/]+/)*(?P<speaker>[A-Z]{2})_"``.

    Returns:
        One row per audio file in an emotion folder, sorted by path.

    Raises:
        CorpusError: the folder is missing or no audio file sits in an emotion folder.
        ValueError: ``name`` or ``language`` is malformed.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ValueError(f"corpus name {name!r} must be lower case letters, digits, '-' or '_'")
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        raise ValueError(f"language {language!r} must be a two-letter ISO 639-1 code like 'en'")
    root = check_root(root, f"folder corpus {name!r}")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error(f"folder corpus {name!r}", root, _EXPECTED)
    read_speaker = _speaker_reader(speaker_from) if speaker_from is not None else None
    skipped = SkipLog(f"folder corpus {name!r}")
    rows: list[dict[str, Any]] = []
    for path in files:
        relative = path.relative_to(root)
        emotions = [normalize_emotion(part) for part in relative.parts[:-1]]
        emotion = next((e for e in reversed(emotions) if e is not None), None)
        if emotion is None:
            skipped.add("that are not inside a folder named after an emotion", path)
            continue
        speaker: Any = pd.NA
        if read_speaker is not None:
            found = read_speaker(relative)
            if not found:
                skipped.add("whose speaker could not be read with speaker_from", path)
                continue
            speaker = f"{name}:{found}"
        rows.append(
            {
                "path": str(path),
                "speaker": speaker,
                "gender": pd.NA,
                "age": float("nan"),
                "emotion": emotion,
                "intensity": pd.NA,
                "text": pd.NA,
                "language": language if language is not None else pd.NA,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=name,
        label=f"folder corpus {name!r}",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
    )


def detect_folder(parent: str | os.PathLike[str]) -> Path | None:
    """Always None: a generic layout cannot be told apart from a corpus by looking at it."""
    return None
