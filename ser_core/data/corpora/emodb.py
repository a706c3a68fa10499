"""EMO-DB, the Berlin Database of Emotional Speech.

Citation:
    F. Burkhardt, A. Paeschke, M. Rolfes, W. Sendlmeier, B. Weiss. "A Database of German
    Emotional Speech." Proc. Interspeech 2005, pp. 1517-1520.

Source and licence:
    http://emodb.bilderbar.info/ — free for research use. 535 utterances, 10 actors (5 m, 5 f),
    German, 7 emotions, originally 16 kHz WAV.

Layout accepted (``root`` may be the corpus folder or its ``wav/`` folder itself)::

    emodb/
        wav/03a01Fa.wav            (or .flac and any other audio extension, any case)
        human_ratings.tsv          optional: file, recognized_pct, natural_pct

File names: characters 1-2 speaker, 3-5 text code (``a01`` ... ``b10``, ten German sentences),
6 emotion, 7 version letter (repeated takes).

Emotion codes (German initials) -> canonical label:
    ``W`` (Wut) angry, ``L`` (Langeweile) boredom, ``E`` (Ekel) disgust, ``A`` (Angst) fearful,
    ``F`` (Freude) happy, ``T`` (Trauer) sad, ``N`` neutral.

Speakers (gender, age from the corpus documentation): 03 m 31, 08 f 34, 09 f 21, 10 m 32,
11 m 26, 12 m 30, 13 f 32, 14 f 35, 15 m 25, 16 f 31.

Extra manifest columns: ``version`` (take letter), ``transcript`` (the German sentence),
``human_recognized_pct`` / ``human_natural_pct`` (share of the listeners of the corpus's
perception test who recognised the intended emotion / judged it natural, in percent; NaN when no
``human_ratings.tsv`` is found next to ``wav/``). The corpus documents 20 listeners, but values
such as 95.24 or 76.19 in the shared copy show that some files were rated by 21.
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

NAME = "emodb"
DISPLAY_NAME = "EMO-DB (Berlin Database of Emotional Speech)"
LANGUAGE = "de"
LICENCE = "free for research use"
CITATION = (
    "Burkhardt, F., Paeschke, A., Rolfes, M., Sendlmeier, W., Weiss, B. (2005). A Database of "
    "German Emotional Speech. Proc. Interspeech 2005, 1517-1520."
)
URL = "http://emodb.bilderbar.info/"

EMOTION_CODES: dict[str, str] = {
    "W": "angry",
    "L": "boredom",
    "E": "disgust",
    "A": "fearful",
    "F": "happy",
    "T": "sad",
    "N": "neutral",
}

#: speaker -> (gender, age), from the corpus documentation.
SPEAKERS: dict[str, tuple[str, int]] = {
    "03": ("m", 31),
    "08": ("f", 34),
    "09": ("f", 21),
    "10": ("m", 32),
    "11": ("m", 26),
    "12": ("m", 30),
    "13": ("f", 32),
    "14": ("f", 35),
    "15": ("m", 25),
    "16": ("f", 31),
}

#: text code -> sentence, from the corpus documentation.
SENTENCES: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

RATINGS_FILE = "human_ratings.tsv"
_EXPECTED = "wav/03a01Fa.wav: speaker, text code, emotion letter, version"

_NAME_RE = re.compile(
    r"^(?P<speaker>\d{2})(?P<text>[ab]\d{2})(?P<emotion>[WLEAFTN])(?P<version>[a-z])$"
)


def _audio_dir(root: Path) -> Path:
    """The folder holding the recordings: ``root/wav`` when present, else ``root`` itself."""
    for child in ("wav", "WAV", "Wav"):
        if (root / child).is_dir():
            return root / child
    return root


def _read_ratings(root: Path, audio_dir: Path) -> dict[str, tuple[float, float]] | None:
    """Listener ratings indexed by file stem, from the corpus folder or the wav folder's parent."""
    for folder in dict.fromkeys([root, audio_dir, audio_dir.parent]):
        path = folder / RATINGS_FILE
        if path.is_file():
            table = pd.read_csv(path, sep="\t", dtype={"file": str})
            needed = {"file", "recognized_pct", "natural_pct"}
            if not needed <= set(table.columns):
                raise CorpusError(
                    f"EMO-DB: {path} must have the columns {', '.join(sorted(needed))}; "
                    f"found {', '.join(table.columns)}"
                )
            # Accept "03a01Fa", "03a01Fa.wav" or a path in the file column.
            stems = [Path(str(f)).stem for f in table["file"]]
            recognized = pd.to_numeric(table["recognized_pct"], errors="coerce").tolist()
            natural = pd.to_numeric(table["natural_pct"], errors="coerce").tolist()
            return {
                stem: (float(r), float(n))
                for stem, r, n in zip(stems, recognized, natural, strict=True)
            }
    return None


def prepare_emodb(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build the EMO-DB manifest.

    Args:
        root: the corpus folder (holding ``wav/``) or the ``wav/`` folder itself.

    Returns:
        One row per recording (535 for the full corpus), sorted by path.

    Raises:
        CorpusError: the folder is missing or holds no file named like EMO-DB's.
    """
    root = check_root(root, "EMO-DB")
    audio_dir = _audio_dir(root)
    files = list_audio_files(audio_dir)
    if not files:
        raise no_audio_error(
            "EMO-DB", audio_dir, _EXPECTED + " (pass the emodb folder or its wav/)"
        )
    ratings = _read_ratings(root, audio_dir)
    skipped = SkipLog("EMO-DB")
    rows: list[dict[str, Any]] = []
    for path in files:
        match = _NAME_RE.match(path.stem)
        if match is None or match["speaker"] not in SPEAKERS:
            skipped.add(f"whose names do not parse (expected {_EXPECTED})", path)
            continue
        speaker, text = match["speaker"], match["text"]
        gender, age = SPEAKERS[speaker]
        recognized = natural = float("nan")
        if ratings is not None and path.stem in ratings:
            recognized, natural = ratings[path.stem]
        rows.append(
            {
                "path": str(path),
                "speaker": f"{NAME}:{speaker}",
                "gender": gender,
                "age": float(age),
                "emotion": EMOTION_CODES[match["emotion"]],
                "intensity": pd.NA,
                "text": text,
                "language": LANGUAGE,
                "version": match["version"],
                "transcript": SENTENCES.get(text, pd.NA),
                "human_recognized_pct": recognized,
                "human_natural_pct": natural,
            }
        )
    return build_manifest(
        rows,
        skipped,
        name=NAME,
        label="EMO-DB",
        where=audio_dir,
        n_files=len(files),
        expected=_EXPECTED,
    )


def _looks_like(folder: Path) -> bool:
    return any_file_matches(_audio_dir(folder), lambda p: _NAME_RE.match(p.stem) is not None)


def detect_emodb(parent: str | os.PathLike[str]) -> Path | None:
    """The EMO-DB folder under ``parent`` (named ``emodb``, ``EMO-DB``, ``berlin...``) or None."""
    return detect_by_name(Path(parent), [r"emodb.*", r"berlin.*", r"emo"], _looks_like)
