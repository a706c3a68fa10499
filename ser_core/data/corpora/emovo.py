"""EMOVO, an Italian emotional speech corpus.

Citation:
    G. Costantini, I. Iaderola, A. Paoloni, M. Todisco. "EMOVO Corpus: an Italian Emotional
    Speech Database." Proc. LREC 2014.

Source and licence:
    Fondazione Ugo Bordoni (http://www.lrec-conf.org/proceedings/lrec2014/summaries/591.html) —
    research use, per the authors (the release carries no licence file). 588 utterances: 6 actors
    (3 m, 3 f) x 7 emotions x 14 sentences, Italian, originally 48 kHz stereo WAV.

Layout accepted (any audio extension, any case; the speaker folders may sit deeper)::

    emovo/f1/dis-f1-b1.wav
    ...
    emovo/m3/tri-m3-n5.wav

File names ``<emotion>-<speaker>-<sentence>``; the file name is authoritative (the speaker folder
is not read).

* emotion (Italian) -> canonical: ``dis`` (disgusto) disgust, ``gio`` (gioia) happy, ``neu``
  neutral, ``pau`` (paura) fearful, ``rab`` (rabbia) angry, ``sor`` (sorpresa) surprised,
  ``tri`` (tristezza) sad.
* speaker: ``f1``, ``f2``, ``f3`` female, ``m1``, ``m2``, ``m3`` male (``emovo:f1``); gender from
  the letter. Ages are not published per speaker (``age`` NA).
* sentence (``text``): ``b1``-``b3``, ``l1``-``l4``, ``n1``-``n5``, ``d1``-``d2``, the same 14
  sentences for every speaker and emotion.

A recording found twice (e.g. a ``.wav`` and a ``.flac`` copy) is kept once, losslessly.
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

NAME = "emovo"
DISPLAY_NAME = "EMOVO (Italian emotional speech)"
LANGUAGE = "it"
LICENCE = "research use (per the authors; no licence file)"
CITATION = (
    "Costantini, G., Iaderola, I., Paoloni, A., Todisco, M. (2014). EMOVO Corpus: an Italian "
    "Emotional Speech Database. Proc. LREC 2014."
)
URL = "http://www.lrec-conf.org/proceedings/lrec2014/summaries/591.html"

EMOTION_CODES: dict[str, str] = {
    "dis": "disgust",
    "gio": "happy",
    "neu": "neutral",
    "pau": "fearful",
    "rab": "angry",
    "sor": "surprised",
    "tri": "sad",
}
#: speaker -> gender (the letter of the speaker code).
SPEAKERS: dict[str, str] = {
    "f1": "f",
    "f2": "f",
    "f3": "f",
    "m1": "m",
    "m2": "m",
    "m3": "m",
}

_NAME_RE = re.compile(
    r"^(?P<emotion>dis|gio|neu|pau|rab|sor|tri)-(?P<speaker>[fm][1-3])-(?P<sentence>[bdln]\d)$",
    re.IGNORECASE,
)
_EXPECTED = "f1/dis-f1-b1.wav: emotion-speaker-sentence"


def prepare_emovo(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the EMOVO manifest.

    Args:
        root: the folder holding the speaker folders ``f1`` ... ``m3`` (or the files, at any
            depth).

    Returns:
        One row per utterance (588 for the full corpus), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like EMOVO's.
    """
    root = check_root(root, "EMOVO")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("EMOVO", root, _EXPECTED)
    skipped = SkipLog("EMOVO")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        if match is None:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        speaker = match["speaker"].lower()
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": SPEAKERS[speaker],
                "age": float("nan"),
                "emotion": EMOTION_CODES[match["emotion"].lower()],
                "intensity": pd.NA,
                "text": match["sentence"].lower(),
                "language": LANGUAGE,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="EMOVO",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: Path(r["path"]).stem.lower(),
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _NAME_RE.match(p.stem) is not None)


def detect_emovo(parent: str | os.PathLike[str]) -> Path | None:
    """The EMOVO folder under ``parent`` (``emovo*``) or None."""
    return detect_by_name(Path(parent), [r"emovo.*"], _looks_like)
