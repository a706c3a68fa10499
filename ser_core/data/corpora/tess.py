"""TESS, the Toronto Emotional Speech Set.

Citation:
    M. K. Pichora-Fuller, K. Dupuis. "Toronto emotional speech set (TESS)." Borealis, V1, 2020.
    https://doi.org/10.5683/SP2/E8H2MF

Source and licence:
    https://doi.org/10.5683/SP2/E8H2MF — CC BY-NC-ND 4.0. Two actresses (aged 64 and 26), 200
    target words in the carrier phrase "Say the word ___", 7 emotions: 2800 files.

Layout accepted::

    tess/OAF_angry/OAF_back_angry.wav      (or .flac, any audio extension, any case;
    tess/YAF_pleasant_surprise/YAF_back_ps.wav    folders may be nested deeper, as in the
    ...                                            Kaggle archive)

File names ``<speaker>_<word>_<emotion>``; the file name is authoritative, the folder name only
cross-checked (a mismatch is reported in a warning and the file name wins).

* speaker: ``OAF`` older adult female (64), ``YAF`` younger adult female (26). Quirk of the public
  release: ``OAF_neutral/OA_bite_neutral`` has the prefix ``OA``; ``OA``/``YA`` are read as
  ``OAF``/``YAF``.
* emotion -> canonical: ``angry`` angry, ``disgust`` disgust, ``fear`` fearful, ``happy`` happy,
  ``neutral`` neutral, ``sad`` sad, ``ps`` (file names) / ``pleasant_surprise(d)`` (folder names)
  surprised.
* word: the target word, lower-cased; it is the ``text`` column, so a word-disjoint split is
  possible (with only two speakers, TESS cannot give a speaker-independent test on its own).

The Kaggle copy of TESS nests a second full copy of itself; a recording found twice
(same speaker, word and emotion) is kept once, with a warning.
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

NAME = "tess"
DISPLAY_NAME = "TESS (Toronto Emotional Speech Set)"
LANGUAGE = "en"
LICENCE = "CC BY-NC-ND 4.0"
CITATION = (
    "Pichora-Fuller, M. K., Dupuis, K. (2020). Toronto emotional speech set (TESS). "
    "Borealis, V1. doi:10.5683/SP2/E8H2MF"
)
URL = "https://doi.org/10.5683/SP2/E8H2MF"

#: speaker -> (gender, age at recording), from the corpus documentation.
SPEAKERS: dict[str, tuple[str, int]] = {"OAF": ("f", 64), "YAF": ("f", 26)}
#: emotion spellings in TESS file names -> canonical label.
EMOTION_CODES: dict[str, str] = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "ps": "surprised",
    "pleasant_surprise": "surprised",
    "pleasant_surprised": "surprised",
}

_NAME_RE = re.compile(
    r"^(?P<speaker>OAF|YAF|OA|YA)_(?P<word>[A-Za-z']+)_"
    r"(?P<emotion>pleasant_surprised?|ps|angry|disgust|fear|happy|neutral|sad)$",
    re.IGNORECASE,
)
_FOLDER_RE = re.compile(r"^(?P<speaker>OAF|YAF)_(?P<emotion>.+)$", re.IGNORECASE)
_EXPECTED = "OAF_angry/OAF_back_angry.wav: speaker_word_emotion"


def _speaker(code: str) -> str:
    """``OA``/``YA`` (the ``OA_bite_neutral`` quirk) -> ``OAF``/``YAF``."""
    code = code.upper()
    return code if code.endswith("F") else code + "F"


def prepare_tess(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the TESS manifest.

    Args:
        root: the folder holding the ``OAF_*`` / ``YAF_*`` folders (at any depth).

    Returns:
        One row per recording (2800 in the original release), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like TESS's.
    """
    root = check_root(root, "TESS")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("TESS", root, _EXPECTED)
    skipped = SkipLog("TESS")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        if match is None:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        speaker = _speaker(match["speaker"])
        emotion = EMOTION_CODES[match["emotion"].lower()]
        folder = _FOLDER_RE.match(path.parent.name)
        if folder is not None:
            folder_emotion = normalize_emotion(folder["emotion"])
            if folder["speaker"].upper() != speaker or (
                folder_emotion is not None and folder_emotion != emotion
            ):
                skipped.note(
                    "whose folder name disagrees with the file name (the file name's labels "
                    "are used)",
                    path,
                )
        gender, age = SPEAKERS[speaker]
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": gender,
                "age": float(age),
                "emotion": emotion,
                "intensity": pd.NA,
                "text": match["word"].lower(),
                "language": LANGUAGE,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="TESS",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: (r["speaker"], r["text"], r["emotion"]),
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _NAME_RE.match(p.stem) is not None)


def detect_tess(parent: str | os.PathLike[str]) -> Path | None:
    """The TESS folder under ``parent`` (``tess*``, ``toronto...``) or None."""
    return detect_by_name(Path(parent), [r"tess.*", r"toronto.*"], _looks_like)
