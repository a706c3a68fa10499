"""Shared fixtures. Corpus tests skip when ``SER_CORPORA`` is unset and fail when it is wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ser_core.paths import CORPORA_ENV, corpora_root


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The folder holding ``emodb/``, ``ravdess/`` and ``tess/`` (from ``$SER_CORPORA``)."""
    root = corpora_root()
    if root is None:
        pytest.skip(f"{CORPORA_ENV} is unset: point it at the folder holding emodb/, ravdess/, ...")
    if not root.is_dir():
        pytest.fail(f"{CORPORA_ENV}={root} is set but is not a folder")
    return root


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' cache for the whole session, so module fixtures and background threads
    (the app's preloading) between tests use it too: the encoders loaded once per process
    remember the folder they were loaded from."""
    old = os.environ.get("SER_CACHE")
    os.environ["SER_CACHE"] = str(tmp_path_factory.getbasetemp() / "ser_cache")
    yield
    if old is None:
        os.environ.pop("SER_CACHE", None)
    else:
        os.environ["SER_CACHE"] = old


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep every test's caches out of the user's home folder."""
    monkeypatch.setenv("SER_CACHE", str(tmp_path_factory.getbasetemp() / "ser_cache"))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two tiny demo models (``cnn``, ``svm``) trained on a synthetic corpus into a temp folder,
    with ``SER_CHECKPOINTS`` pointing at it for the module (about 30 s on 2 CPUs)."""
    from ser_core.app_support.demo import build_demo_checkpoints

    folder = tmp_path_factory.mktemp("checkpoints")
    build_demo_checkpoints(folder, ("cnn", "svm"), epochs=2)
    old = os.environ.get("SER_CHECKPOINTS")
    os.environ["SER_CHECKPOINTS"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("SER_CHECKPOINTS", None)
    else:
        os.environ["SER_CHECKPOINTS"] = old
