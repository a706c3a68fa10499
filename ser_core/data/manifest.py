"""The corpus manifest: one row per audio file, with the same columns for every corpus.

A manifest is a plain :class:`pandas.DataFrame` whose first columns are :data:`MANIFEST_COLUMNS`;
corpus-specific extras (EMO-DB listener ratings, RAVDESS repetition, ...) may follow. Speaker ids
carry their corpus as a prefix (``"ravdess:12"``), so manifests of several corpora can be
concatenated and split by speaker without two corpora's "speaker 03" being taken for one person.

String columns are stored with ``object`` dtype and missing values as ``pd.NA`` on every pandas
version (pandas 3 would otherwise infer its ``str`` dtype, pandas 2 ``object``), so code and tests
see the same thing everywhere. ``age`` and ``duration`` are ``float64`` (``NaN`` when unknown).

This module also holds the small file-system helpers the corpus recipes share: listing audio
files, reading durations from headers, and collecting skipped files into one warning.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from ser_core.data.labels import EMOTIONS
from ser_core.errors import CorpusError

#: The columns every manifest starts with, in this order.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "path",
    "corpus",
    "speaker",
    "gender",
    "age",
    "emotion",
    "intensity",
    "text",
    "language",
    "duration",
)

#: Manifest columns holding strings (``object`` dtype, ``pd.NA`` when missing).
STRING_COLUMNS: tuple[str, ...] = (
    "path",
    "corpus",
    "speaker",
    "gender",
    "emotion",
    "intensity",
    "text",
    "language",
)
#: Manifest columns holding floats (``NaN`` when missing).
FLOAT_COLUMNS: tuple[str, ...] = ("age", "duration")

#: File extensions (lower case) treated as audio when scanning a corpus folder.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".wma"}
)
# Lossless copies win over lossy ones when the same recording is found twice (e.g. CREMA-D ships
# AudioWAV/ and AudioMP3/ side by side).
_LOSSLESS = (".flac", ".wav", ".aif", ".aiff")


class CorpusWarning(UserWarning):
    """A corpus loader skipped files (unparseable names, unreadable or duplicate audio)."""


def list_audio_files(root: Path) -> list[Path]:
    """All audio files below ``root``, sorted, matching :data:`AUDIO_EXTENSIONS` case-insensitively.

    Hidden files and folders are skipped, which also drops the ``._name.wav`` AppleDouble files and
    ``__MACOSX/`` folders that zip archives made on macOS (e.g. the Kaggle copies) are full of.
    Symbolic links to folders are followed once (a folder reached twice is not scanned again).
    """
    found: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop or a second link to the same folder
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return sorted(found)


def iter_audio_files(root: Path) -> Iterator[Path]:
    """Audio files below ``root`` in walk order, lazily (for cheap "is this corpus X?" checks)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(filenames):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                yield Path(dirpath) / name


def check_root(root: str | os.PathLike[str], corpus: str) -> Path:
    """``root`` as an absolute :class:`Path`, or :class:`CorpusError` if it is not a folder."""
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
    if not path.exists():
        raise CorpusError(
            f"{corpus}: folder {path} does not exist; pass the folder holding the corpus"
        )
    if not path.is_dir():
        raise CorpusError(f"{corpus}: {path} is a file, not a folder; pass the corpus folder")
    return path


def audio_duration(path: str | os.PathLike[str]) -> float:
    """Duration in seconds read from the file header, without decoding the audio.

    libsndfile (through :mod:`soundfile`) reads WAV, FLAC, OGG/Opus, AIFF and, from 1.1 on, MP3.
    For containers it cannot open (M4A/AAC, ...) ``ser_core.audio.audio_info`` is tried when that
    module provides it.

    Raises:
        RuntimeError: the header cannot be read by any available reader.
    """
    try:
        return float(sf.info(os.fspath(path)).duration)
    except Exception as sf_error:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        info = _fallback_audio_info()
        if info is None:
            raise RuntimeError(f"cannot read the audio header of {path}: {sf_error}") from sf_error
        try:
            result = info(path)
        except Exception as error:
            raise RuntimeError(f"cannot read the audio header of {path}: {error}") from error
        duration = getattr(result, "duration", None)
        if duration is None and isinstance(result, Mapping):
            duration = result.get("duration")
        if duration is None:
            raise RuntimeError(f"cannot read the duration of {path}") from sf_error
        return float(duration)


def _fallback_audio_info() -> Callable[[Any], Any] | None:
    # Imported lazily: ser_core.audio is written elsewhere and may pull heavier decoders (PyAV).
    try:
        from ser_core import audio
    except Exception:
        return None
    return getattr(audio, "audio_info", None)


class SkipLog:
    """Collects files a loader skips, to report them in one warning instead of one per file.

    A corpus copy with hundreds of stray files would otherwise bury the user in warnings.
    :meth:`note` records files that are kept but deserve a mention (e.g. a folder name that
    contradicts the file name).
    """

    def __init__(self, corpus: str) -> None:
        self.corpus = corpus
        self._entries: dict[tuple[str, bool], list[str]] = {}

    def add(self, reason: str, path: Path | str) -> None:
        """Record that ``path`` was skipped because of ``reason`` (a short phrase)."""
        self._entries.setdefault((reason, True), []).append(os.fspath(path))

    def note(self, reason: str, path: Path | str) -> None:
        """Record that ``path`` was kept despite ``reason``."""
        self._entries.setdefault((reason, False), []).append(os.fspath(path))

    def count(self, reason: str | None = None) -> int:
        """How many files were skipped (for one reason, or in total)."""
        return sum(
            len(paths)
            for (why, skipped), paths in self._entries.items()
            if skipped and (reason is None or why == reason)
        )

    def warn(self, stacklevel: int = 3) -> None:
        """Emit one :class:`CorpusWarning` per reason, naming a few examples."""
        for (reason, skipped), paths in self._entries.items():
            examples = ", ".join(Path(p).name for p in paths[:5])
            more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
            verb = "skipped" if skipped else "kept"
            warnings.warn(
                f"{self.corpus}: {verb} {len(paths)} file(s) {reason}: {examples}{more}",
                CorpusWarning,
                stacklevel=stacklevel,
            )
        self._entries.clear()  # report once, even if warn() is reached twice


def add_durations(rows: list[dict[str, Any]], skipped: SkipLog) -> list[dict[str, Any]]:
    """Fill ``row["duration"]`` from each file's header; drop unreadable or empty files.

    A file whose header cannot be read, or that holds no samples, cannot be trained or evaluated
    on, so it is skipped (and reported through ``skipped``) rather than kept with a bogus duration.
    """
    kept = []
    for row in rows:
        try:
            duration = audio_duration(row["path"])
        except RuntimeError:
            skipped.add("whose audio header cannot be read (damaged or unsupported)", row["path"])
            continue
        if not math.isfinite(duration) or duration <= 0:
            skipped.add("that hold no audio (zero length)", row["path"])
            continue
        kept.append({**row, "duration": duration})
    return kept


def dedupe(
    rows: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], Any],
    skipped: SkipLog,
    prefer: Callable[[dict[str, Any]], Any] | None = None,
) -> list[dict[str, Any]]:
    """Keep one row per ``key`` (the same recording found twice), preferring lossless files.

    Among copies, the one with the smallest ``prefer(row)`` wins, then lossless over lossy
    formats, then the first path in sort order (so the result does not depend on scan order).

    Public copies often hold a recording twice (CREMA-D's AudioWAV/ and AudioMP3/, the Kaggle TESS
    archive nesting a full second copy of itself); counting it twice would inflate the corpus and
    put copies of one utterance on both sides of a split.
    """

    def rank(row: dict[str, Any]) -> tuple[Any, int, str]:
        suffix = Path(row["path"]).suffix.lower()
        lossless = _LOSSLESS.index(suffix) if suffix in _LOSSLESS else len(_LOSSLESS)
        return (prefer(row) if prefer else 0, lossless, row["path"])

    best: dict[Any, dict[str, Any]] = {}
    for row in sorted(rows, key=rank):
        k = key(row)
        if k in best:
            skipped.add("that duplicate a recording already listed (kept one copy)", row["path"])
        else:
            best[k] = row
    return list(best.values())


def _as_object_strings(values: pd.Series) -> pd.Series:
    """``values`` as an object Series of Python strings with ``pd.NA`` for missing entries."""
    # Built element by element: Series.map/where would let pandas 3 re-infer its "str" dtype,
    # which cannot hold pd.NA.
    items = [pd.NA if _is_na(v) else str(v) for v in values.tolist()]
    return pd.Series(items, index=values.index, dtype=object, name=values.name)


def normalize_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Give a manifest its canonical dtypes and column order (manifest columns first).

    String-valued extra columns are normalised like the manifest's own string columns; numeric
    extras keep their dtype.
    """
    df = df.copy()
    for col in MANIFEST_COLUMNS:
        if col not in df.columns:
            df[col] = pd.NA
    for col in STRING_COLUMNS:
        df[col] = _as_object_strings(df[col])
    for col in FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    extras = [c for c in df.columns if c not in MANIFEST_COLUMNS]
    for col in extras:
        # Only columns made of strings (and gaps): a column of lists or mixed objects is left as is.
        if pd.api.types.is_string_dtype(df[col].dtype) and all(
            isinstance(v, str) or _is_na(v) for v in df[col].tolist()
        ):
            df[col] = _as_object_strings(df[col])
    return df[list(MANIFEST_COLUMNS) + extras]


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other non-scalars
        return False


def empty_manifest() -> pd.DataFrame:
    """A manifest with the standard columns and no rows."""
    return normalize_dtypes(pd.DataFrame({c: [] for c in MANIFEST_COLUMNS}))


def make_manifest(rows: Iterable[Mapping[str, Any]], corpus: str) -> pd.DataFrame:
    """Build a validated manifest from one dict per file.

    Args:
        rows: dicts with the keys of :data:`MANIFEST_COLUMNS` (``corpus`` may be left out; missing
            keys become NA) plus any corpus-specific extras, which are kept after the standard
            columns in order of first appearance.
        corpus: the corpus name written into the ``corpus`` column.

    Returns:
        The manifest, sorted by ``path``, with a fresh ``RangeIndex``.

    Raises:
        CorpusError: a row breaks the manifest rules (see :func:`validate_manifest`).
    """
    records = [{**row, "corpus": corpus} for row in rows]
    if not records:
        return empty_manifest()
    df = normalize_dtypes(pd.DataFrame.from_records(records))
    df = df.sort_values("path", kind="stable").reset_index(drop=True)
    return validate_manifest(df)


def validate_manifest(df: pd.DataFrame) -> pd.DataFrame:
    """Check a manifest against the rules every loader must follow; return it unchanged.

    Rules: all :data:`MANIFEST_COLUMNS` present; ``path`` unique and non-empty; ``corpus`` set;
    ``speaker`` NA or prefixed with ``"<corpus>:"``; ``gender`` ``"m"``/``"f"``/NA; ``emotion`` in
    :data:`~ser_core.data.labels.EMOTIONS`; ``language`` NA or a two-letter ISO 639-1 code;
    ``age`` NA or positive; ``duration`` finite and positive.

    Raises:
        CorpusError: naming every rule broken, with up to three offending values each.
    """
    missing = [c for c in MANIFEST_COLUMNS if c not in df.columns]
    if missing:
        raise CorpusError(f"manifest lacks column(s) {', '.join(missing)}")
    problems: list[str] = []

    def report(mask: pd.Series | np.ndarray, what: str, column: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            bad = pd.Series(df[column].to_numpy()[mask]).astype(str).unique()[:3]
            problems.append(f"{int(mask.sum())} row(s) {what} (e.g. {', '.join(bad)})")

    report(df["path"].isna(), "without a path", "path")
    report(df["path"].duplicated(keep=False) & df["path"].notna(), "with a duplicate path", "path")
    report(df["corpus"].isna(), "without a corpus", "path")
    speaker_ok = [
        _is_na(s) or (isinstance(s, str) and isinstance(c, str) and s.startswith(f"{c}:"))
        for s, c in zip(df["speaker"], df["corpus"], strict=False)
    ]
    report(
        ~np.array(speaker_ok, dtype=bool), "with a speaker id not prefixed by its corpus", "speaker"
    )
    report(
        ~df["gender"].map(lambda g: _is_na(g) or g in ("m", "f")),
        "with gender not m/f/NA",
        "gender",
    )
    report(
        ~df["emotion"].map(lambda e: not _is_na(e) and e in EMOTIONS),
        "with a non-canonical emotion",
        "emotion",
    )
    lang_ok = df["language"].map(
        lambda v: _is_na(v) or (len(v) == 2 and v.isalpha() and v.islower())
    )
    report(~lang_ok, "with a language that is not an ISO 639-1 code", "language")
    age = pd.to_numeric(df["age"], errors="coerce")
    report(age.notna() & ~(age > 0), "with a non-positive age", "age")
    duration = pd.to_numeric(df["duration"], errors="coerce")
    report(~(np.isfinite(duration) & (duration > 0)), "without a positive duration", "path")
    if problems:
        raise CorpusError("invalid manifest: " + "; ".join(problems))
    return df


def concat_manifests(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate manifests of several corpora (extras missing in one corpus become NA).

    Rows keep the order given (corpus by corpus, each sorted by path); the index is reset.
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_manifest()
    extras: list[str] = []
    for f in frames:
        extras += [c for c in f.columns if c not in MANIFEST_COLUMNS and c not in extras]
    # Aligning columns before concatenating avoids pandas' warning about all-NA columns.
    aligned = [f.reindex(columns=[*MANIFEST_COLUMNS, *extras]) for f in frames]
    df = pd.concat(aligned, ignore_index=True)
    return validate_manifest(normalize_dtypes(df))
