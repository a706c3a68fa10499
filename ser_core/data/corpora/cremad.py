"""CREMA-D, the Crowd-sourced Emotional Multimodal Actors Dataset (audio).

Citation:
    H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova, R. Verma. "CREMA-D:
    Crowd-sourced Emotional Multimodal Actors Dataset." IEEE Transactions on Affective Computing
    5(4): 377-390, 2014. https://doi.org/10.1109/TAFFC.2014.2336244

Source and licence:
    https://github.com/CheyneyComputerScience/CREMA-D — Open Database License (ODbL) 1.0 for the
    database, Database Contents License (DbCL) 1.0 for its contents. 7442 clips, 91 actors
    (48 m, 43 f, aged 20-74), English, 6 emotions.

Layout accepted::

    crema-d/AudioWAV/1001_DFA_ANG_XX.wav   (or .flac/.mp3..., any case; AudioWAV/ may be the root)
    crema-d/VideoDemographics.csv          optional: ActorID, Age, Sex, Race, Ethnicity

When a clip is present twice (the repository's ``AudioWAV/`` and ``AudioMP3/``), the lossless copy
is kept. The demographics table is looked for in the root and in its parent folder; without it,
``gender``, ``age``, ``race`` and ``ethnicity`` are NA.

File names ``<actor>_<sentence>_<emotion>_<level>``:

* actor: 1001-1091 (speaker ``cremad:1001``).
* sentence (``text``): IEO, TIE, IOM, IWW, TAI, MTI, IWL, ITH, DFA, ITS, TSI, WSI (12 sentences,
  see :data:`SENTENCES`; extra column ``transcript``).
* emotion -> canonical: ANG angry, DIS disgust, FEA fearful, HAP happy, NEU neutral, SAD sad.
* level (``intensity``): LO ``"low"``, MD ``"medium"``, HI ``"high"``, XX ``"unspecified"``
  (only IEO was recorded at three levels; the other sentences are XX).

A clip whose header says it holds no audio is skipped with a warning (the public release is
reported to contain an empty file, ``1076_MTI_SAD_XX``).

Extra manifest columns: ``race``, ``ethnicity`` (from the demographics table), ``transcript``.
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
from ser_core.errors import CorpusError

NAME = "cremad"
DISPLAY_NAME = "CREMA-D"
LANGUAGE = "en"
LICENCE = "ODbL 1.0 (database) / DbCL 1.0 (contents)"
CITATION = (
    "Cao, H., Cooper, D. G., Keutmann, M. K., Gur, R. C., Nenkova, A., Verma, R. (2014). "
    "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset. IEEE Transactions on Affective "
    "Computing 5(4), 377-390. doi:10.1109/TAFFC.2014.2336244"
)
URL = "https://github.com/CheyneyComputerScience/CREMA-D"

EMOTION_CODES: dict[str, str] = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
INTENSITY_CODES: dict[str, str] = {
    "LO": "low",
    "MD": "medium",
    "HI": "high",
    "XX": "unspecified",
    "X": "unspecified",
}
SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
DEMOGRAPHICS_FILE = "VideoDemographics.csv"

_NAME_RE = re.compile(
    r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>ANG|DIS|FEA|HAP|NEU|SAD)_"
    r"(?P<level>LO|MD|HI|XX|X)$",
    re.IGNORECASE,
)
_EXPECTED = "1001_DFA_ANG_XX.wav: actor_sentence_emotion_level"
_SEX = {"male": "m", "female": "f", "m": "m", "f": "f"}


def _find_demographics(root: Path) -> Path | None:
    for folder in (root, root.parent):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.lower() == DEMOGRAPHICS_FILE.lower() and entry.is_file():
                return entry
    return None


def _read_demographics(path: Path) -> dict[str, dict[str, Any]]:
    """ActorID -> {gender, age, race, ethnicity}."""
    table = pd.read_csv(path, dtype=str)
    columns = {c.strip().lower(): c for c in table.columns}
    if "actorid" not in columns or "sex" not in columns:
        raise CorpusError(
            f"CREMA-D: {path} must have the columns ActorID and Sex (and Age, Race, Ethnicity); "
            f"found {', '.join(table.columns)}"
        )

    def value(row: pd.Series, column: str) -> Any:
        name = columns.get(column)
        if name is None or pd.isna(row[name]):
            return pd.NA
        return str(row[name]).strip()

    out: dict[str, dict[str, Any]] = {}
    for _, row in table.iterrows():
        age = value(row, "age")
        sex = value(row, "sex")
        out[str(value(row, "actorid"))] = {
            "gender": _SEX.get(sex.lower(), pd.NA) if isinstance(sex, str) else pd.NA,
            "age": pd.to_numeric(age, errors="coerce") if isinstance(age, str) else float("nan"),
            "race": value(row, "race"),
            "ethnicity": value(row, "ethnicity"),
        }
    return out


def prepare_cremad(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the CREMA-D manifest.

    Args:
        root: the repository folder (holding ``AudioWAV/`` and ``VideoDemographics.csv``) or the
            audio folder itself.

    Returns:
        One row per clip, sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like CREMA-D's.
    """
    root = check_root(root, "CREMA-D")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("CREMA-D", root, _EXPECTED)
    demographics_path = _find_demographics(root)
    demographics = _read_demographics(demographics_path) if demographics_path else {}
    unknown: dict[str, Any] = {
        "gender": pd.NA,
        "age": float("nan"),
        "race": pd.NA,
        "ethnicity": pd.NA,
    }
    skipped = SkipLog("CREMA-D")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        if match is None:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        actor, sentence = match["actor"], match["sentence"].upper()
        if demographics and actor not in demographics:
            skipped.note(f"whose actor is missing from {DEMOGRAPHICS_FILE} (gender NA)", path)
        person = demographics.get(actor, unknown)
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{actor}",
                "gender": person["gender"],
                "age": person["age"],
                "emotion": EMOTION_CODES[match["emotion"].upper()],
                "intensity": INTENSITY_CODES[match["level"].upper()],
                "text": sentence,
                "language": LANGUAGE,
                "race": person["race"],
                "ethnicity": person["ethnicity"],
                "transcript": SENTENCES.get(sentence, pd.NA),
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="CREMA-D",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: Path(r["path"]).stem.upper(),
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _NAME_RE.match(p.stem) is not None)


def detect_cremad(parent: str | os.PathLike[str]) -> Path | None:
    """The CREMA-D folder under ``parent`` (``crema-d``, ``cremad``, ``AudioWAV``) or None."""
    return detect_by_name(Path(parent), [r"crema.*", r"audiowav"], _looks_like)
