"""ESD, the Emotional Speech Dataset (Mandarin and English).

Citation:
    K. Zhou, B. Sisman, R. Liu, H. Li. "Seen and unseen emotional style transfer for voice
    conversion with a new emotional speech dataset." Proc. ICASSP 2021, pp. 920-924.
    K. Zhou, B. Sisman, R. Liu, H. Li. "Emotional voice conversion: Theory, databases and ESD."
    Speech Communication 137: 1-18, 2022.

Source and licence:
    https://github.com/HLTSingapore/Emotional-Speech-Data — research use only (the release's
    licence agreement). 20 speakers x 5 emotions x 350 parallel utterances = 35 000 files, 16 kHz.

Layout accepted (any audio extension, any case)::

    ESD/0011/Angry/train/0011_000351.wav      original release: speaker / emotion / subset
    ESD/0011/Angry/0011_000351.wav            copies without the train/evaluation/test level

* speaker: the four-digit id (from the file name; ``esd:0011``). 0001-0010 speak Mandarin
  (``zh``), 0011-0020 English (``en``).
* emotion: the emotion folder (``Angry``, ``Happy``, ``Neutral``, ``Sad``, ``Surprise``) ->
  angry, happy, neutral, sad, surprised. A file outside an emotion folder is skipped with a
  warning rather than labelled from its number.
* gender, from the speaker list in the release's README: female 0001, 0002, 0003, 0007, 0009,
  0015, 0016, 0017, 0018, 0019; male 0004, 0005, 0006, 0008, 0010, 0011, 0012, 0013, 0014, 0020.
  Ages are not published (``age`` NA).
* ``text``: each speaker reads the same 350 sentences of their language in every emotion,
  numbered consecutively emotion after emotion (000001-000350, 000351-000700, ...), so the
  sentence is ``(number - 1) % 350 + 1``; the id carries the language because the Mandarin and
  English sentence sets differ (``"en:001"`` ... ``"en:350"``, ``"zh:001"`` ...).
* extra column ``official_split``: ``train`` / ``evaluation`` / ``test`` when the file sits in
  such a folder (the release's own partition), else NA.
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

NAME = "esd"
DISPLAY_NAME = "ESD (Emotional Speech Dataset)"
LANGUAGE = "zh, en"
LICENCE = "research use only (ESD licence agreement)"
CITATION = (
    "Zhou, K., Sisman, B., Liu, R., Li, H. (2021). Seen and unseen emotional style transfer for "
    "voice conversion with a new emotional speech dataset. Proc. ICASSP 2021, 920-924."
)
URL = "https://github.com/HLTSingapore/Emotional-Speech-Data"

EMOTION_FOLDERS: dict[str, str] = {
    "angry": "angry",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprise": "surprised",
}
#: speaker -> gender, from the speaker list in the release's README.
GENDERS: dict[str, str] = {
    "0001": "f",
    "0002": "f",
    "0003": "f",
    "0004": "m",
    "0005": "m",
    "0006": "m",
    "0007": "f",
    "0008": "m",
    "0009": "f",
    "0010": "m",
    "0011": "m",
    "0012": "m",
    "0013": "m",
    "0014": "m",
    "0015": "f",
    "0016": "f",
    "0017": "f",
    "0018": "f",
    "0019": "f",
    "0020": "m",
}
SENTENCES_PER_EMOTION = 350
OFFICIAL_SPLITS = ("train", "evaluation", "test")

_NAME_RE = re.compile(r"^(?P<speaker>\d{4})_(?P<number>\d{6})$")
_EXPECTED = "0011/Angry/train/0011_000351.wav: speaker/emotion/[subset/]speaker_number"


def language_of(speaker: str) -> str:
    """``"zh"`` for speakers 0001-0010, ``"en"`` for 0011-0020."""
    return "zh" if int(speaker) <= 10 else "en"


def prepare_esd(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the ESD manifest.

    Args:
        root: the folder holding the speaker folders ``0001`` ... ``0020`` (at any depth).

    Returns:
        One row per utterance (35 000 for the full corpus), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like ESD's.
    """
    root = check_root(root, "ESD")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("ESD", root, _EXPECTED)
    skipped = SkipLog("ESD")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        if match is None or match["speaker"] not in GENDERS:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        folders = [p.lower() for p in path.relative_to(root).parts[:-1]]
        emotions = [EMOTION_FOLDERS[f] for f in folders if f in EMOTION_FOLDERS]
        if not emotions:
            skipped.add("that are not inside an emotion folder (Angry, Happy, ...)", path)
            continue
        speaker = match["speaker"]
        language = language_of(speaker)
        sentence = (int(match["number"]) - 1) % SENTENCES_PER_EMOTION + 1
        subset = next((f for f in reversed(folders) if f in OFFICIAL_SPLITS), pd.NA)
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": GENDERS[speaker],
                "age": float("nan"),
                "emotion": emotions[-1],  # the innermost emotion folder
                "intensity": pd.NA,
                "text": f"{language}:{sentence:03d}",
                "language": language,
                "official_split": subset,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="ESD",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: Path(r["path"]).stem,
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _NAME_RE.match(p.stem) is not None)


def detect_esd(parent: str | os.PathLike[str]) -> Path | None:
    """The ESD folder under ``parent`` (``esd*``, ``Emotion(al) Speech Dataset``) or None."""
    return detect_by_name(
        Path(parent),
        [r"esd.*", r"emotionspeechdataset.*", r"emotionalspeechdataset.*"],
        _looks_like,
    )
