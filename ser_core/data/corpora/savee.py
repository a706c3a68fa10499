"""SAVEE, the Surrey Audio-Visual Expressed Emotion database (audio).

Citation:
    S. Haq, P. J. B. Jackson. "Speaker-dependent audio-visual emotion recognition." Proc.
    Int. Conf. on Auditory-Visual Speech Processing (AVSP), 2009, pp. 53-58.
    (Also: S. Haq, P. J. B. Jackson, "Multimodal emotion recognition", in W. Wang (ed.),
    Machine Audition: Principles, Algorithms and Systems, IGI Global, 2010.)

Source and licence:
    http://kahlan.eps.surrey.ac.uk/savee/ — free for research use (registration). 480 British
    English utterances by 4 male speakers (DC, JE, JK, KL, postgraduate students aged 27-31;
    ages are not given per speaker, so ``age`` is NA), 7 emotions: 120 per speaker
    (30 neutral, 15 of each other emotion).

Layouts accepted (both, mixed freely; any audio extension, any case)::

    AudioData/DC/a01.wav      original release: one folder per speaker
    ALL/DC_a01.wav            Kaggle copy: flat, speaker prefix in the file name

Emotion prefixes -> canonical: ``a`` angry, ``d`` disgust, ``f`` fearful, ``h`` happy,
``n`` neutral, ``sa`` sad, ``su`` surprised.

``text`` is the prefix and number (``a01``): the same id is the same sentence for every speaker,
which is what a text-disjoint split needs. It does not reveal that a few sentences are shared
between emotions (SAVEE's common sentences), so text-disjointness across emotions is approximate.
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
from ser_core.data.manifest import SkipLog, check_root, list_audio_files

NAME = "savee"
DISPLAY_NAME = "SAVEE (Surrey Audio-Visual Expressed Emotion)"
LANGUAGE = "en"
LICENCE = "free for research use (registration required)"
CITATION = (
    "Haq, S., Jackson, P. J. B. (2009). Speaker-dependent audio-visual emotion recognition. "
    "Proc. AVSP 2009, 53-58."
)
URL = "http://kahlan.eps.surrey.ac.uk/savee/"

SPEAKERS: tuple[str, ...] = ("DC", "JE", "JK", "KL")
EMOTION_CODES: dict[str, str] = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}

# "sa"/"su" are tried before "a" so that "sa01" is sadness, not speaker "s" + anger.
_NAME_RE = re.compile(
    r"^(?:(?P<speaker>[A-Za-z]{2})_)?(?P<emotion>sa|su|a|d|f|h|n)(?P<number>\d{1,2})$",
    re.IGNORECASE,
)
_EXPECTED = "DC_a01.wav or DC/a01.wav: speaker, emotion prefix, number"


def prepare_savee(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the SAVEE manifest.

    Args:
        root: the folder holding the speaker folders (``AudioData/``) or the flat files.

    Returns:
        One row per utterance (480 for the full corpus), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like SAVEE's.
    """
    root = check_root(root, "SAVEE")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("SAVEE", root, _EXPECTED)
    skipped = SkipLog("SAVEE")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        # Flat layout: speaker in the file name; original layout: speaker folder.
        speaker = (match["speaker"] if match and match["speaker"] else path.parent.name).upper()
        if match is None or speaker not in SPEAKERS:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        code = match["emotion"].lower()
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": "m",
                "age": float("nan"),
                "emotion": EMOTION_CODES[code],
                "intensity": pd.NA,
                "text": f"{code}{int(match['number']):02d}",
                "language": LANGUAGE,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="SAVEE",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: (r["speaker"], r["text"]),
    )


def _looks_like(folder: Path) -> bool:
    def matches(path: Path) -> bool:
        match = _NAME_RE.match(path.stem)
        if match is None:
            return False
        speaker = match["speaker"] or path.parent.name
        return speaker.upper() in SPEAKERS

    return any_file_matches(folder, matches)


def detect_savee(parent: str | os.PathLike[str]) -> Path | None:
    """The SAVEE folder under ``parent`` (``savee*``, ``AudioData``) or None."""
    return detect_by_name(Path(parent), [r"savee.*", r"audiodata"], _looks_like)
