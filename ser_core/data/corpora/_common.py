"""Helpers shared by the corpus recipes: finding a corpus below a parent folder."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ser_core.data.manifest import (
    SkipLog,
    add_durations,
    dedupe,
    iter_audio_files,
    make_manifest,
)
from ser_core.errors import CorpusError

# How many audio files a layout sniff looks at before giving up; enough to get past a README's
# sibling folders, small enough that detection of a 10 000-file corpus stays instant.
_SNIFF_FILES = 200


def normalize_folder_name(name: str) -> str:
    """Lower case with everything but letters and digits removed ("EMO-DB" -> "emodb")."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def any_file_matches(root: Path, matches: Callable[[Path], bool]) -> bool:
    """Whether one of the first audio files below ``root`` satisfies ``matches``."""
    return any(matches(p) for p in itertools.islice(iter_audio_files(root), _SNIFF_FILES))


def detect_by_name(
    parent: Path,
    name_patterns: Iterable[str],
    looks_like: Callable[[Path], bool],
) -> Path | None:
    """Find a corpus folder: ``parent`` itself or one of its sub-folders.

    A candidate qualifies when its normalised name (see :func:`normalize_folder_name`) matches one
    of ``name_patterns`` (regular expressions, full match) *and* ``looks_like`` accepts its
    content, so a folder merely named "tess" but holding something else is not taken for TESS.

    Returns:
        The first qualifying folder (``parent`` first, then sub-folders in sorted order) or None.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return None
    patterns = [re.compile(p) for p in name_patterns]
    candidates = [parent, *sorted(p for p in parent.iterdir() if p.is_dir())]
    for candidate in candidates:
        name = normalize_folder_name(candidate.name)
        if any(p.fullmatch(name) for p in patterns) and looks_like(candidate):
            return candidate
    return None


def no_audio_error(label: str, where: Path, expected: str) -> CorpusError:
    """The error for a corpus folder without a single audio file."""
    return CorpusError(f"{label}: no audio files under {where}; expected {expected}")


def build_manifest(
    rows: list[dict[str, Any]],
    skipped: SkipLog,
    *,
    name: str,
    label: str,
    where: Path,
    n_files: int,
    expected: str,
    dedupe_key: Callable[[dict[str, Any]], Any] | None = None,
    prefer: Callable[[dict[str, Any]], Any] | None = None,
) -> pd.DataFrame:
    """The last steps every recipe shares: dedupe, read durations, warn about skips, validate.

    Args:
        rows: one dict per parsed file (see :func:`ser_core.data.manifest.make_manifest`).
        skipped: the files skipped so far; reported here in one warning per reason.
        name: corpus name for the ``corpus`` column; ``label`` the name used in messages.
        where: the folder scanned; ``n_files`` how many audio files it held; ``expected`` a
            short description of the expected naming, for the error message.
        dedupe_key: identifies one recording, when a copy may hold it twice; ``prefer``
            ranks the copies (smallest wins, see :func:`ser_core.data.manifest.dedupe`).

    Raises:
        CorpusError: no file could be used.
    """
    if not rows:
        skipped.warn(stacklevel=4)
        raise CorpusError(
            f"{label}: none of the {n_files} audio files under {where} follows the corpus's "
            f"naming ({expected}); is this the right folder?"
        )
    if dedupe_key is not None:
        rows = dedupe(rows, dedupe_key, skipped, prefer)
    rows = add_durations(rows, skipped)
    skipped.warn(stacklevel=4)
    if not rows:
        raise CorpusError(f"{label}: no readable audio under {where}")
    return make_manifest(rows, name)
