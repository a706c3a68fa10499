"""JL-Corpus, an emotional speech corpus of New Zealand English with secondary emotions.

Citation:
    J. James, L. Tian, C. I. Watson. "An Open Source Emotional Speech Corpus for Human Robot
    Interaction Applications." Proc. Interspeech 2018, pp. 2768-2772.

Source and licence:
    https://github.com/tli725/JL-Corpus (also on Kaggle). The release carries no formal licence
    file; its README asks users to use it for emotional speech studies and to cite the paper
    below. 2400 recordings by 4 speakers (female1, female2, male1, male2), 5 primary emotions
    (angry, sad, neutral, happy, excited) and 5 secondary ones (anxious, apologetic, assertive,
    concerned, encouraging). Some copies use further secondary names (enthusiastic, pensive,
    worried); they are treated the same way.

Layout accepted (any depth, any audio extension, any case)::

    JL-Corpus/Raw JL corpus (unchecked and unannotated)/JL(wav+txt)/female1_angry_1a_1.wav

File names ``<speaker>_<emotion>_<sentence>_<session>`` (the release's Format_Intro.txt:
"(Gender)(speaker.ID)_(Emotion)_(Sentence.ID)(session.ID)"): speaker ``female1``/``female2``/
``male1``/``male2`` (gender from the name; ``jl:female1``), sentence id such as ``1a`` or ``10b``
(the ``text`` column), recording session 1 or 2 (extra column ``session``). Ages are not
published (``age`` NA). Transcripts (``.txt`` next to some recordings) are not read.

Emotion mapping (decision, since the manifest only allows the canonical vocabulary):

* angry -> angry, sad -> sad, neutral -> neutral, happy -> happy.
* excited is **skipped by default**: folding it into happy is common but lossy (excitement is a
  high-arousal state the corpus deliberately separates from happiness). Pass
  ``excited_as_happy=True`` to fold it in anyway.
* the secondary emotions are **skipped**: none of them is one of the canonical labels, and mapping
  e.g. anxious -> fearful would put words in the annotators' mouths. They are documented skips, not
  malformed files, so they do not raise a warning.

Recordings found more than once (some copies hold the same file in several folders) are kept once.
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

NAME = "jl"
DISPLAY_NAME = "JL-Corpus"
LANGUAGE = "en"
LICENCE = "open for emotional-speech research, citation required (no formal licence file)"
CITATION = (
    "James, J., Tian, L., Watson, C. I. (2018). An Open Source Emotional Speech Corpus for Human "
    "Robot Interaction Applications. Proc. Interspeech 2018, 2768-2772."
)
URL = "https://github.com/tli725/JL-Corpus"

PRIMARY_EMOTIONS: dict[str, str] = {
    "angry": "angry",
    "sad": "sad",
    "neutral": "neutral",
    "happy": "happy",
}
#: Emotions present in the corpus but left out of the manifest (see the module docstring).
SKIPPED_EMOTIONS: frozenset[str] = frozenset(
    {
        "excited",
        "anxious",
        "apologetic",
        "assertive",
        "concerned",
        "encouraging",
        "enthusiastic",
        "pensive",
        "worried",
    }
)

_NAME_RE = re.compile(
    r"^(?P<speaker>(?:fe)?male[12])_(?P<emotion>[a-z]+)_(?P<sentence>\d+[a-z]?)_(?P<session>\d+)$",
    re.IGNORECASE,
)
_EXPECTED = "female1_angry_1a_1.wav: speaker_emotion_sentence_session"


def prepare_jl(root: str | os.PathLike[str], *, excited_as_happy: bool = False) -> pd.DataFrame:
    """Build the JL-Corpus manifest (primary emotions that map onto the canonical vocabulary).

    Args:
        root: a folder holding the recordings at any depth.
        excited_as_happy: label "excited" recordings happy instead of leaving them out.

    Returns:
        One row per kept recording, sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no usable JL-Corpus file.
    """
    root = check_root(root, "JL-Corpus")
    files = list_audio_files(root)
    if not files:
        raise no_audio_error("JL-Corpus", root, _EXPECTED)
    mapping = dict(PRIMARY_EMOTIONS)
    if excited_as_happy:
        mapping["excited"] = "happy"
    skipped = SkipLog("JL-Corpus")
    rows: list[dict[str, Any]] = []
    n_left_out = 0
    for path in files:
        match = _NAME_RE.match(path.stem)
        raw = match["emotion"].lower() if match else ""
        if match is None or (raw not in mapping and raw not in SKIPPED_EMOTIONS):
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        if raw not in mapping:
            n_left_out += 1  # a documented decision, not a problem with the file
            continue
        speaker = match["speaker"].lower()
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": "f" if speaker.startswith("female") else "m",
                "age": float("nan"),
                "emotion": mapping[raw],
                "intensity": pd.NA,
                "text": match["sentence"].lower(),
                "language": LANGUAGE,
                "session": int(match["session"]),
            }
        )
    if not rows and n_left_out:
        skipped.warn()
        raise CorpusError(
            f"JL-Corpus: all {n_left_out} recognised files under {root} carry emotions this loader "
            "leaves out (excited, secondary emotions); the primary-emotion files are missing"
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="JL-Corpus",
        where=root,
        n_files=len(files),
        expected=_EXPECTED,
        dedupe_key=lambda r: Path(r["path"]).stem.lower(),
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(folder, lambda p: _NAME_RE.match(p.stem) is not None)


def detect_jl(parent: str | os.PathLike[str]) -> Path | None:
    """The JL-Corpus folder under ``parent`` (``jl-corpus``, ``jl``, ``jlcorpus``...) or None."""
    return detect_by_name(Path(parent), [r"jlcorpus.*", r"jl"], _looks_like)
