"""nEMO, a dataset of emotional speech in Polish.

Citation:
    I. Christop. "nEMO: Dataset of Emotional Speech in Polish." Proc. LREC-COLING 2024.

Source and licence:
    https://huggingface.co/datasets/amu-cai/nEMO — CC BY-NC-SA 4.0. 4481 utterances by 9 actors
    (5 m, 4 f), 6 emotions, the same 90 Polish sentences for every speaker and emotion (``MK0``
    recorded no surprise, ``MP0`` only part of the set).

Layout accepted (any audio extension, any case; ``root`` may be the corpus folder or
``samples/`` itself)::

    nemo/samples/KS0_fear_1.wav
    nemo/data.tsv        optional: file_id, emotion, raw_text, normalized_text, speaker_id,
                         gender, age (the release's metadata, tab-separated)

File names ``<speaker>_<emotion>_<N>``:

* speaker: ``EB0``, ``IC0``, ``KD0``, ``MK0`` female, ``KS0``, ``MP0``, ``SM0``, ``TP0``, ``WR0``
  male (``nemo:KS0``).
* emotion -> canonical: ``anger`` angry, ``fear`` fearful, ``happiness`` happy, ``neutral``
  neutral, ``sadness`` sad, ``surprised`` surprised.
* ``N``, the sentence number 1-90 (``text``, zero-padded: ``"01"`` ... ``"90"``): one number is
  one sentence for every speaker and emotion.

Speaker metadata comes from ``data.tsv`` (looked for in ``root`` and its parent), matched on the
file stem: ``speaker_id`` (stripped: the release pads it with spaces), ``gender`` (``male`` /
``female`` -> ``m`` / ``f``), ``age``, and the sentence as written (``raw_text``, extra column
``transcript``). A disagreement between the table and the file name (speaker or emotion) is
reported in a warning; the file name wins. Files the table does not list, and every file when
there is no table, get gender and age from the corpus documentation, the same values as the
table's: EB0 f 27, IC0 f 28, KD0 f 28, MK0 f 23, KS0 m 23, MP0 m 24, SM0 m 24, TP0 m 26,
WR0 m 23 (``transcript`` NA).

Extra manifest columns: ``transcript``.
"""

from __future__ import annotations

import math
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

NAME = "nemo"
DISPLAY_NAME = "nEMO (Polish emotional speech)"
LANGUAGE = "pl"
LICENCE = "CC BY-NC-SA 4.0"
CITATION = (
    "Christop, I. (2024). nEMO: Dataset of Emotional Speech in Polish. Proc. LREC-COLING 2024."
)
URL = "https://huggingface.co/datasets/amu-cai/nEMO"

EMOTION_CODES: dict[str, str] = {
    "anger": "angry",
    "fear": "fearful",
    "happiness": "happy",
    "neutral": "neutral",
    "sadness": "sad",
    "surprised": "surprised",
}
#: speaker -> (gender, age), from the corpus documentation (the same as its data.tsv).
SPEAKERS: dict[str, tuple[str, int]] = {
    "EB0": ("f", 27),
    "IC0": ("f", 28),
    "KD0": ("f", 28),
    "MK0": ("f", 23),
    "KS0": ("m", 23),
    "MP0": ("m", 24),
    "SM0": ("m", 24),
    "TP0": ("m", 26),
    "WR0": ("m", 23),
}
METADATA_FILE = "data.tsv"
_METADATA_COLUMNS = ("file_id", "emotion", "raw_text", "speaker_id", "gender", "age")
_GENDERS = {"male": "m", "female": "f", "m": "m", "f": "f"}

_NAME_RE = re.compile(
    r"^(?P<speaker>[A-Z]{2}\d)_(?P<emotion>anger|fear|happiness|neutral|sadness|surprised)_"
    r"(?P<sentence>\d{1,2})$",
    re.IGNORECASE,
)
_EXPECTED = "samples/KS0_fear_1.wav: speaker_emotion_sentence"


def _audio_dir(root: Path) -> Path:
    """The folder holding the recordings: ``root/samples`` when present, else ``root`` itself."""
    for child in ("samples", "Samples"):
        if (root / child).is_dir():
            return root / child
    return root


def _read_metadata(root: Path, audio_dir: Path) -> dict[str, dict[str, Any]] | None:
    """``data.tsv`` rows indexed by file stem (``file_id`` ends in ``.wav`` in the release)."""
    for folder in dict.fromkeys([root, audio_dir, audio_dir.parent]):
        path = folder / METADATA_FILE
        if not path.is_file():
            continue
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        missing = [c for c in _METADATA_COLUMNS if c not in table.columns]
        if missing:
            raise CorpusError(
                f"nEMO: {path} lacks the column(s) {', '.join(missing)}; "
                f"found {', '.join(table.columns)}"
            )
        out: dict[str, dict[str, Any]] = {}
        for record in table.to_dict(orient="records"):
            age = pd.to_numeric(str(record["age"]).strip(), errors="coerce")
            out[Path(str(record["file_id"]).strip()).stem] = {
                "speaker": str(record["speaker_id"]).strip(),
                "emotion": str(record["emotion"]).strip().lower(),
                "gender": _GENDERS.get(str(record["gender"]).strip().lower(), pd.NA),
                "age": float(age) if not math.isnan(age) and age > 0 else float("nan"),
                "transcript": str(record["raw_text"]).strip() or pd.NA,
            }
        return out
    return None


def prepare_nemo(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the nEMO manifest.

    Args:
        root: the corpus folder (holding ``samples/`` and ``data.tsv``) or ``samples/`` itself.

    Returns:
        One row per utterance (4481 for the full corpus), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like nEMO's, or ``data.tsv``
            lacks the release's columns.
    """
    root = check_root(root, "nEMO")
    audio_dir = _audio_dir(root)
    files = list_audio_files(audio_dir)
    if not files:
        raise no_audio_error("nEMO", audio_dir, _EXPECTED + " (pass the nemo folder or samples/)")
    metadata = _read_metadata(root, audio_dir)
    skipped = SkipLog("nEMO")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        if match is None:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        speaker = match["speaker"].upper()
        raw_emotion = match["emotion"].lower()
        gender, age = SPEAKERS.get(speaker, (pd.NA, float("nan")))
        transcript: Any = pd.NA
        meta = metadata.get(path.stem) if metadata is not None else None
        if meta is not None:
            if meta["speaker"].upper() != speaker or meta["emotion"] != raw_emotion:
                skipped.note(
                    f"whose {METADATA_FILE} row disagrees with the file name (the file name's "
                    "speaker and emotion are used)",
                    path,
                )
            else:
                gender, age = meta["gender"], meta["age"]
            transcript = meta["transcript"]
        elif metadata is not None:
            skipped.note(f"missing from {METADATA_FILE} (no transcript)", path)
        if speaker not in SPEAKERS and meta is None:
            skipped.note("whose speaker is not one of nEMO's nine (gender and age NA)", path)
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": gender,
                "age": age,
                "emotion": EMOTION_CODES[raw_emotion],
                "intensity": pd.NA,
                "text": f"{int(match['sentence']):02d}",
                "language": LANGUAGE,
                "transcript": transcript,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="nEMO",
        where=audio_dir,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: Path(r["path"]).stem.upper(),
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(_audio_dir(folder), lambda p: _NAME_RE.match(p.stem) is not None)


def detect_nemo(parent: str | os.PathLike[str]) -> Path | None:
    """The nEMO folder under ``parent`` (``nemo*``) or None."""
    return detect_by_name(Path(parent), [r"nemo.*"], _looks_like)
