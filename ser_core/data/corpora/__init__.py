"""The corpus registry: one recipe module per corpus, looked up by name.

Each recipe module (``emodb.py``, ``ravdess.py``, ...) documents its corpus (citation, licence,
layout, label mapping) and provides ``prepare_<name>(root) -> DataFrame`` and
``detect_<name>(parent) -> Path | None``. This module gathers them into :class:`CorpusInfo`
records so callers can list, find and load corpora by name::

    >>> from ser_core.data.corpora import list_corpora
    >>> list_corpora()[:3]
    ['emodb', 'ravdess', 'tess']

Nothing is cached on disk: a manifest is rebuilt from the files each time (a few seconds at most
for the seven shared corpora, EMO-DB, RAVDESS, TESS, EMOVO, CASIA, AESDD and nEMO, since only
audio headers are read).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from ser_core.data.corpora import (
    aesdd,
    casia,
    cremad,
    emodb,
    emovo,
    esd,
    folder,
    jl,
    nemo,
    ravdess,
    savee,
    tess,
)
from ser_core.data.manifest import concat_manifests
from ser_core.errors import CorpusError


@dataclass(frozen=True)
class CorpusInfo:
    """What the toolkit knows about one corpus.

    Attributes:
        name: registry key, also the ``corpus`` column and speaker-id prefix (``"emodb"``).
        display_name: human-readable name.
        language: ISO 639-1 code(s), comma-separated when several (``"zh, en"``).
        licence: licence of the corpus, as published.
        citation: the reference to cite.
        url: where to get it.
        prepare: builds the manifest from the corpus folder (extra keyword options allowed).
        detect: finds the corpus folder under a parent folder, or returns None.
        aliases: other accepted spellings of ``name`` (``"emo-db"``, ``"crema-d"``, ...).
    """

    name: str
    display_name: str
    language: str
    licence: str
    citation: str
    url: str
    prepare: Callable[..., pd.DataFrame] = field(repr=False)
    detect: Callable[[Path], Path | None] = field(repr=False)
    aliases: tuple[str, ...] = ()


def _info(module: ModuleType, aliases: tuple[str, ...] = ()) -> CorpusInfo:
    name = module.NAME
    return CorpusInfo(
        name=name,
        display_name=module.DISPLAY_NAME,
        language=module.LANGUAGE,
        licence=module.LICENCE,
        citation=module.CITATION,
        url=module.URL,
        prepare=getattr(module, f"prepare_{name}"),
        detect=getattr(module, f"detect_{name}"),
        aliases=aliases,
    )


#: Every registered corpus, in display order (the three shared corpora first).
CORPORA: dict[str, CorpusInfo] = {
    info.name: info
    for info in (
        _info(emodb, ("emo-db", "emo_db", "berlin")),
        _info(ravdess),
        _info(tess, ("toronto",)),
        _info(cremad, ("crema-d", "crema_d", "crema")),
        _info(savee),
        _info(esd),
        _info(jl, ("jl-corpus", "jl_corpus", "jlcorpus")),
        _info(emovo),
        _info(casia),
        _info(aesdd),
        _info(nemo),
        _info(folder, ("generic",)),
    )
}


def _normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.strip().lower())


def list_corpora() -> list[str]:
    """Names of the registered corpora (``folder`` is the generic one-folder-per-emotion loader)."""
    return list(CORPORA)


def get_corpus_info(name: str) -> CorpusInfo:
    """The :class:`CorpusInfo` for ``name`` (case, ``-`` and ``_`` ignored; aliases accepted).

    Raises:
        CorpusError: unknown name; the message lists the valid ones.
    """
    key = _normalize(name)
    for info in CORPORA.values():
        if key == _normalize(info.name) or key in {_normalize(a) for a in info.aliases}:
            return info
    raise CorpusError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}")


def load_corpus(name: str, root: str | os.PathLike[str], **options: Any) -> pd.DataFrame:
    """Build the manifest of one corpus.

    Args:
        name: a registered corpus name or alias (see :func:`list_corpora`).
        root: the corpus folder (e.g. ``.../emodb``).
        **options: passed to the recipe (e.g. ``excited_as_happy`` for ``jl``,
            ``speaker_from`` / ``language`` for ``folder``).

    Returns:
        The manifest (see :mod:`ser_core.data.manifest`).

    Raises:
        CorpusError: unknown name, missing folder, or a folder without the corpus's files.
    """
    return get_corpus_info(name).prepare(root, **options)


def find_corpora(parent: str | os.PathLike[str]) -> dict[str, Path]:
    """Find the known corpora in ``parent`` (or ``parent`` itself being one).

    Each corpus is recognised by its folder name (``emodb``, ``EMO-DB``, ``ravdess``, ``tess``,
    ``crema-d``, ...) *and* by a look at its file names, among ``parent`` and its sub-folders.

    Returns:
        Corpus name -> folder, in registry order; empty when none is found.

    Raises:
        CorpusError: ``parent`` is not a folder.
    """
    path = Path(os.path.expanduser(os.fspath(parent)))
    if not path.is_dir():
        raise CorpusError(f"{path} is not a folder; pass the folder holding emodb/, ravdess/, ...")
    found: dict[str, Path] = {}
    for info in CORPORA.values():
        location = info.detect(path)
        if location is not None:
            found[info.name] = location
    return found


def load_corpora(
    parent: str | os.PathLike[str], names: Iterable[str] | None = None
) -> pd.DataFrame:
    """Build one manifest for several corpora found under ``parent``.

    Args:
        parent: the folder holding the corpus folders.
        names: which corpora to load (names or aliases); all found ones when None.

    Returns:
        The concatenated manifest: corpus by corpus in registry order (each sorted by path),
        with a fresh index. Extra columns of one corpus are NA for the others.

    Raises:
        CorpusError: nothing found, or a requested corpus is not under ``parent``.
    """
    found = find_corpora(parent)
    if names is None:
        if not found:
            known = ", ".join(n for n in CORPORA if n != folder.NAME)
            raise CorpusError(f"no known corpus found in {parent} (looked for: {known})")
        wanted = list(found)
    else:
        wanted = [get_corpus_info(n).name for n in names]
        missing = [n for n in wanted if n not in found]
        if missing:
            have = ", ".join(found) or "none"
            raise CorpusError(
                f"corpus folder(s) for {', '.join(missing)} not found in {parent} (found: {have})"
            )
    wanted = [n for n in CORPORA if n in wanted]  # registry order, duplicates dropped
    return concat_manifests(CORPORA[n].prepare(found[n]) for n in wanted)


__all__ = [
    "CORPORA",
    "CorpusInfo",
    "find_corpora",
    "get_corpus_info",
    "list_corpora",
    "load_corpora",
    "load_corpus",
]
