"""Where ``ser_core`` finds corpora and keeps its caches (overridable through the environment)."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the folder that holds the corpora (``emodb/``, ``ravdess/``, ...).
CORPORA_ENV = "SER_CORPORA"
#: Environment variable naming the cache folder (features, converted encoders).
CACHE_ENV = "SER_CACHE"


def corpora_root() -> Path | None:
    """The folder named by ``$SER_CORPORA``, or ``None`` when the variable is unset or empty."""
    value = os.environ.get(CORPORA_ENV, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir(*parts: str) -> Path:
    """A cache folder below ``$SER_CACHE`` (default ``~/.cache/ser_core``), created on demand."""
    base = os.environ.get(CACHE_ENV, "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "ser_core"
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
