"""RAVDESS, the Ryerson Audio-Visual Database of Emotional Speech and Song (speech part).

Citation:
    S. R. Livingstone, F. A. Russo. "The Ryerson Audio-Visual Database of Emotional Speech and
    Song (RAVDESS): A dynamic, multimodal set of facial and vocal expressions in North American
    English." PLoS ONE 13(5): e0196391, 2018. https://doi.org/10.1371/journal.pone.0196391

Source and licence:
    https://zenodo.org/record/1188976 — CC BY-NC-SA 4.0. The speech audio-only part holds 1440
    files: 24 actors (12 m, 12 f) x 60 trials.

Layout accepted::

    ravdess/Actor_01/03-01-01-01-01-01-01.wav   (or .flac, any audio extension, any case;
    ...                                          the Actor_XX folders may sit one level deeper,
    ravdess/Actor_24/...                         e.g. audio_speech_actors_01-24/Actor_01/)

File names: seven two-digit fields
``modality-channel-emotion-intensity-statement-repetition-actor``.

* modality: 01 full-AV, 02 video-only, 03 audio-only. Audio extracted by a user from the AV files
  (01/02) is accepted too; when the same recording is present under two modalities, one is kept.
* vocal channel: 01 speech, 02 song. **Only speech is kept**; song files are skipped silently
  (they are a different task, not a malformed file).
* emotion: 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised.
* intensity: 01 ``"normal"``, 02 ``"strong"`` (neutral only has normal).
* statement: 01 "Kids are talking by the door", 02 "Dogs are sitting by the door" (``text`` is
  the two-digit code, ``transcript`` the sentence).
* repetition: 01, 02 (extra column ``repetition``, int).
* actor: 01-24; odd numbers are male, even numbers female. Ages are not published per actor.

Extra manifest columns: ``repetition`` (1 or 2), ``modality`` (two-digit code),
``utterance_id`` (the file stem, e.g. ``03-01-05-02-01-01-12``), ``transcript``.
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

NAME = "ravdess"
DISPLAY_NAME = "RAVDESS (speech)"
LANGUAGE = "en"
LICENCE = "CC BY-NC-SA 4.0"
CITATION = (
    "Livingstone, S. R., Russo, F. A. (2018). The Ryerson Audio-Visual Database of Emotional "
    "Speech and Song (RAVDESS). PLoS ONE 13(5): e0196391. doi:10.1371/journal.pone.0196391"
)
URL = "https://zenodo.org/record/1188976"

EMOTION_CODES: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
INTENSITY_CODES: dict[str, str] = {"01": "normal", "02": "strong"}
STATEMENTS: dict[str, str] = {
    "01": "Kids are talking by the door",
    "02": "Dogs are sitting by the door",
}
SPEECH_CHANNEL = "01"

_NAME_RE = re.compile(
    r"^(?P<modality>0[123])-(?P<channel>0[12])-(?P<emotion>0[1-8])-(?P<intensity>0[12])-"
    r"(?P<statement>0[12])-(?P<repetition>0[12])-(?P<actor>\d{2})$"
)
_EXPECTED = "Actor_12/03-01-05-02-01-01-12.wav: seven two-digit fields"
# Prefer the audio-only file when a recording is present under several modalities.
_MODALITY_RANK = {"03": 0, "01": 1, "02": 2}


def prepare_ravdess(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the RAVDESS speech manifest.

    Args:
        root: the folder holding ``Actor_01`` ... ``Actor_24`` (directly or one level down).

    Returns:
        One row per speech recording (1440 for the audio-only speech release), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like RAVDESS's.
    """
    root = check_root(root, "RAVDESS")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("RAVDESS", root, _EXPECTED)
    skipped = SkipLog("RAVDESS")
    rows: list[dict[str, Any]] = []
    parsed_any = False
    for path in files:
        match = _NAME_RE.match(path.stem)
        actor = int(match["actor"]) if match else 0
        if match is None or not 1 <= actor <= 24:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        parsed_any = True
        if match["channel"] != SPEECH_CHANNEL:
            continue  # song: documented as out of scope, not a malformed file
        if match["emotion"] == "01" and match["intensity"] == "02":
            skipped.add("with the impossible code neutral + strong intensity", path)
            continue
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{actor:02d}",
                "gender": "m" if actor % 2 == 1 else "f",
                "age": float("nan"),
                "emotion": EMOTION_CODES[match["emotion"]],
                "intensity": INTENSITY_CODES[match["intensity"]],
                "text": match["statement"],
                "language": LANGUAGE,
                "repetition": int(match["repetition"]),
                "modality": match["modality"],
                "utterance_id": path.stem,
                "transcript": STATEMENTS[match["statement"]],
            }
        )
    if parsed_any and not rows:
        skipped.warn()
        raise CorpusError(
            f"RAVDESS: the files under {root} are all song (vocal channel 02); this loader reads "
            "the speech part (…-01-…), e.g. Audio_Speech_Actors_01-24.zip"
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="RAVDESS",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        # The same recording under two modalities (audio extracted from the AV file next to
        # the audio-only file) is one utterance: keep the audio-only copy.
        dedupe_key=lambda r: r["utterance_id"][3:],
        prefer=lambda r: _MODALITY_RANK[r["modality"]],
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _NAME_RE.match(p.stem) is not None)


def detect_ravdess(parent: str | os.PathLike[str]) -> Path | None:
    """The RAVDESS folder under ``parent`` (``ravdess*``, ``audio_speech_actors_01-24``) or None."""
    return detect_by_name(Path(parent), [r"ravdess.*", r"audiospeechactors.*"], _looks_like)
