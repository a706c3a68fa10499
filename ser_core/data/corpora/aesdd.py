"""AESDD, the Acted Emotional Speech Dynamic Database (Greek).

Citation:
    N. Vryzas, R. Kotsakis, A. Liatsou, C. Dimoulas, G. Kalliris. "Speech emotion recognition
    for performance interaction." Journal of the Audio Engineering Society 66(6), 2018.

Source and licence:
    http://m3c.web.auth.gr/research/aesdd-speech-emotion-recognition/ — research use, per the
    authors (no licence file). Greek, 5 emotions (no neutral); 19 scripted utterances acted in
    every emotion plus one improvised utterance per actor and emotion; 5 actors in the first
    version, a sixth added later (605 files in the public copy, one of them empty).

Layout accepted (any audio extension, any case; the emotion folders may sit deeper)::

    aesdd/anger/a01 (1).wav
    aesdd/fear/f18 (5)b.wav          a second take kept
    aesdd/disgust/d03 (01).wav       speaker 1 written "01" (quirk of the release)

File names ``<x><UU> (<S>)[take]``; the file name is authoritative, the emotion folder only
cross-checked (a mismatch is reported in a warning and the file name wins).

* ``x``, emotion initial -> canonical: ``a`` (anger) angry, ``d`` disgust, ``f`` (fear) fearful,
  ``h`` (happiness) happy, ``s`` (sadness) sad.
* ``UU`` (``text``): utterance ``01``-``20``; ``01``-``19`` are the same scripted sentences for
  every actor and emotion, ``20`` is the improvised one (a different sentence each time, kept as
  one text id so that a text-disjoint split never has improvised speech on both sides).
* ``S``, speaker 1-6 (``aesdd:1``); ``(01)`` is speaker 1. Genders: 1, 2, 5 female, 3, 4, 6 male.
  The release names no gender per speaker: these are inferred from pitch and agree with its
  "3 female, 2 male" for the first five actors. Ages are not published (``age`` NA).
* take: ``a`` / ``b`` when two takes of one utterance were kept (``f18 (5).wav`` and
  ``f18 (5)b.wav``; ``s01 (5)a.wav`` and ``s01 (5)b.wav``), in the extra column ``take``
  (NA for the single take).

Files that hold no audio (the public copy's ``sadness/s05 (3).wav`` is empty) are skipped with
a warning. A recording found twice (``.wav`` and ``.flac``) is kept once, losslessly.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ser_core.data.corpora._common import (
    any_file_matches,
    build_manifest,
    detect_by_name,
    no_audio_error,
)
from ser_core.data.labels import normalize_emotion
from ser_core.data.manifest import SkipLog, check_root, list_audio_files

NAME = "aesdd"
DISPLAY_NAME = "AESDD (Acted Emotional Speech Dynamic Database)"
LANGUAGE = "el"
LICENCE = "research use (per the authors; no licence file)"
CITATION = (
    "Vryzas, N., Kotsakis, R., Liatsou, A., Dimoulas, C., Kalliris, G. (2018). Speech emotion "
    "recognition for performance interaction. Journal of the Audio Engineering Society 66(6)."
)
URL = "http://m3c.web.auth.gr/research/aesdd-speech-emotion-recognition/"

EMOTION_CODES: dict[str, str] = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "s": "sad",
}
#: speaker -> gender (inferred, see the module docstring).
SPEAKERS: dict[int, str] = {1: "f", 2: "f", 3: "m", 4: "m", 5: "f", 6: "m"}

_NAME_RE = re.compile(
    r"^(?P<emotion>[adfhs])(?P<utterance>\d{2})\s*\((?P<speaker>\d{1,2})\)\s*(?P<take>[ab])?$",
    re.IGNORECASE,
)
_EXPECTED = "anger/a01 (1).wav: emotion initial, utterance, (speaker), optional take a/b"


def prepare_aesdd(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the AESDD manifest.

    Args:
        root: the folder holding the emotion folders (``anger/``, ``disgust/``, ...).

    Returns:
        One row per recording (604 in the public copy), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like AESDD's.
    """
    root = check_root(root, "AESDD")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("AESDD", root, _EXPECTED)
    skipped = SkipLog("AESDD")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        if match is None or int(match["speaker"]) not in SPEAKERS:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        speaker = int(match["speaker"])
        emotion = EMOTION_CODES[match["emotion"].lower()]
        folder_emotion = normalize_emotion(path.parent.name)
        if folder_emotion is not None and folder_emotion != emotion:
            skipped.note(
                "whose folder name disagrees with the file name (the file name's emotion is used)",
                path,
            )
        take = match["take"]
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": SPEAKERS[speaker],
                "age": float("nan"),
                "emotion": emotion,
                "intensity": pd.NA,
                "text": match["utterance"],
                "language": LANGUAGE,
                "take": take.lower() if take else pd.NA,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="AESDD",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: (r["speaker"], r["emotion"], r["text"], str(r["take"])),
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _NAME_RE.match(p.stem) is not None)


def detect_aesdd(parent: str | os.PathLike[str]) -> Path | None:
    """The AESDD folder under ``parent`` (``aesdd*``, ``Acted Emotional Speech Dynamic...``)."""
    return detect_by_name(
        Path(parent), [r"aesdd.*", r"actedemotionalspeechdynamicdatabase.*"], _looks_like
    )
