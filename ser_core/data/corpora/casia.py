"""CASIA, the Chinese emotional speech corpus of the Institute of Automation (free part).

Citation:
    J. Tao, F. Liu, M. Zhang, H. Jia. "Design of speech corpus for Mandarin text to speech."
    The Blizzard Challenge 2008 workshop, 2008. (The CASIA emotional speech corpus, Institute of
    Automation, Chinese Academy of Sciences.)

Source and licence:
    Institute of Automation, Chinese Academy of Sciences; the full corpus (9600 utterances) is
    distributed by the Chinese LDC (http://www.chineseldc.org/). The freely circulating part
    read here holds 1200 utterances: 4 speakers (2 m, 2 f) x 6 emotions x 50 sentences, Mandarin.
    Research use, per the authors (no licence file).

Layout accepted (any audio extension, any case; the speaker folders may sit deeper)::

    casia/liuchanhg/angry/201.wav
    casia/wangzhe/surprise/250.wav
    ...

* speaker: the folder above the emotion folder: ``liuchanhg`` (so spelt in the release) and
  ``zhaoquanyin`` female, ``wangzhe`` and ``ZhaoZuoxiang`` male (``casia:liuchanhg``; the
  release's spelling, matched case-insensitively). Ages are not published (``age`` NA).
* emotion: the folder holding the file: ``angry``, ``fear`` (fearful), ``happy``, ``neutral``,
  ``sad``, ``surprise`` (surprised).
* ``text``: the file's number, ``201``-``250``: the same 50 Mandarin sentences for every speaker
  and emotion.

A file outside a ``<speaker>/<emotion>/`` pair of folders is skipped with a warning (a bare
number says nothing about who spoke it or how). A recording found twice (``.wav`` and ``.flac``)
is kept once, losslessly.
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

NAME = "casia"
DISPLAY_NAME = "CASIA (Chinese emotional speech, free part)"
LANGUAGE = "zh"
LICENCE = "research use (per the authors; no licence file)"
CITATION = (
    "Tao, J., Liu, F., Zhang, M., Jia, H. (2008). Design of speech corpus for Mandarin text to "
    "speech. The Blizzard Challenge 2008 workshop. (CASIA emotional speech corpus, Institute of "
    "Automation, Chinese Academy of Sciences.)"
)
URL = "http://www.chineseldc.org/"

EMOTION_FOLDERS: dict[str, str] = {
    "angry": "angry",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprise": "surprised",
}
#: speaker (the release's spelling) -> gender.
SPEAKERS: dict[str, str] = {
    "liuchanhg": "f",
    "zhaoquanyin": "f",
    "wangzhe": "m",
    "ZhaoZuoxiang": "m",
}
_SPEAKER_KEYS: dict[str, str] = {s.lower(): s for s in SPEAKERS}

_NAME_RE = re.compile(r"^(?P<number>\d{3})$")
_EXPECTED = "liuchanhg/angry/201.wav: speaker folder / emotion folder / text number"


def _parse(path: Path) -> tuple[str, str, str] | None:
    """(speaker, canonical emotion, text number) of a file, or None when it is not CASIA's."""
    match = _NAME_RE.match(path.stem)
    emotion = EMOTION_FOLDERS.get(path.parent.name.lower())
    speaker = _SPEAKER_KEYS.get(path.parent.parent.name.lower())
    if match is None or emotion is None or speaker is None:
        return None
    return speaker, emotion, match["number"]


def prepare_casia(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the CASIA manifest.

    Args:
        root: the folder holding the speaker folders (at any depth).

    Returns:
        One row per utterance (1200 for the free part), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file laid out like CASIA's.
    """
    root = check_root(root, "CASIA")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("CASIA", root, _EXPECTED)
    skipped = SkipLog("CASIA")
    rows: list[dict[str, Any]] = []
    for path in files:
        parsed = _parse(path)
        if parsed is None:
            skipped.add(f"whose names or folders do not parse (expected {_EXPECTED})", path)
            continue
        speaker, emotion, number = parsed
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": SPEAKERS[speaker],
                "age": float("nan"),
                "emotion": emotion,
                "intensity": pd.NA,
                "text": number,
                "language": LANGUAGE,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="CASIA",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: (r["speaker"], r["emotion"], r["text"]),
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _parse(p) is not None)


def detect_casia(parent: str | os.PathLike[str]) -> Path | None:
    """The CASIA folder under ``parent`` (``casia*``) or None."""
    return detect_by_name(Path(parent), [r"casia.*"], _looks_like)
