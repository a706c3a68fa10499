"""Shared fixtures. Corpus tests skip when ``SER_CORPORA`` is unset and fail when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from ser_core.paths import CORPORA_ENV, corpora_root


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The folder holding ``emodb/``, ``ravdess/`` and ``tess/`` (from ``$SER_CORPORA``)."""
    root = corpora_root()
    if root is None:
        pytest.skip(f"{CORPORA_ENV} is unset: point it at the folder with emodb/, ravdess/, tess/")
    if not root.is_dir():
        pytest.fail(f"{CORPORA_ENV}={root} is set but is not a folder")
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep every test's caches out of the user's home folder."""
    monkeypatch.setenv("SER_CACHE", str(tmp_path_factory.getbasetemp() / "ser_cache"))
