"""On-disk feature cache keyed by file content, so a feature is computed once per audio file.

Layout::

    $SER_CACHE/features/<kind>-<config.cache_key()>-v<FEATURE_VERSION>/
        config.json                 # the config, to tell folders apart
        <digest[:2]>/<digest>.npy   # one array per audio file (np.save, no pickle)

``digest`` is a BLAKE2b hash of the file's bytes (with a ``-speed…`` / ``-channel…`` suffix for
the training copies of :func:`training_copy`). Paths and modification times are not part of
the key: a renamed or copied file hits, and an edited file misses even when its mtime and size
did not change. Writers save to a temporary file in the same folder and ``os.replace`` it into
place, so concurrent processes never see a half-written array (the last writer wins with
identical content). An unreadable entry is treated as a miss and rewritten.

A config may name another config whose array contains its own (``derived_from()``, e.g. a
subset of encoder layers is a slice of the all-layer states): a miss is then answered from that
config's entry of the same file (and copy) when there is one, and stored under its own key.

Bump :data:`FEATURE_VERSION` whenever extraction (or decoding in ``ser_core.audio``) changes
its numbers without a config change; old folders are then simply no longer read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from ser_core.features.augment import CHANNEL_COPY_VERSION, channel_copy, speed_perturb
from ser_core.features.config import FeatureConfig
from ser_core.features.extract import extract
from ser_core.paths import cache_dir

#: Part of every cache folder name; bump it to invalidate all cached features at once.
FEATURE_VERSION = 1

#: ``loader(path, sample_rate) -> float32 mono signal at sample_rate``.
Loader = Callable[[Path, int], np.ndarray]

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """Hex BLAKE2b (128-bit) digest of a file's bytes, read in chunks (fast, constant memory)."""
    with open(path, "rb") as f:
        if hasattr(hashlib, "file_digest"):  # Python >= 3.11: zero-copy reads
            return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()
        h = hashlib.blake2b(digest_size=16)
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
        return h.hexdigest()


def training_copy(
    signal: np.ndarray, sample_rate: int, digest: str, speed: float = 1.0, channel: int = 0
) -> np.ndarray:
    """The signal of a training copy: played at ``speed``, then (``channel`` k >= 1) through
    the k-th channel copy, seeded by the file's content ``digest`` and k."""
    signal = speed_perturb(signal, sample_rate, speed)
    if channel:
        signal = channel_copy(signal, sample_rate, seed=int(digest[:12], 16) + channel)
    return signal


def read_signal(path: Path, sample_rate: int) -> np.ndarray:
    """Default loader: ``ser_core.audio.read_audio`` (decode, validate, downmix, resample)."""
    from ser_core.audio import read_audio  # lazy: keeps ser_core.features importable alone

    return read_audio(path, target_rate=sample_rate).signal


def _atomic_write_bytes(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FeatureCache:
    """Features of audio files, cached on disk by file content and feature config.

    Args:
        root: folder holding the per-config folders; default ``cache_dir("features")``
            (``$SER_CACHE/features``), resolved when the cache is created.
        loader: how to read a file into a signal at a given rate; default
            :func:`read_signal` (``ser_core.audio.read_audio``).

    Attributes:
        hits: lookups answered from disk since creation (or :meth:`reset_stats`), derived ones
            included.
        misses: lookups that had to compute (and then stored) the feature.
        derived: hits answered by cutting the entry of a containing config (``derived_from``).

    Example:
        >>> cache = FeatureCache()                                  # doctest: +SKIP
        >>> logmel = cache.get_or_compute("clip.wav", LogMelConfig())  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, loader: Loader | None = None):
        self.root = Path(root) if root is not None else cache_dir("features")
        self.loader: Loader = loader if loader is not None else read_signal
        self.hits = 0
        self.misses = 0
        self.derived = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FeatureCache(root={str(self.root)!r}, hits={self.hits}, misses={self.misses})"

    def _folder_path(self, config: FeatureConfig) -> Path:
        return self.root / f"{config.kind}-{config.cache_key()}-v{FEATURE_VERSION}"

    def folder(self, config: FeatureConfig) -> Path:
        """The folder holding every cached array for ``config`` (created on demand)."""
        folder = self._folder_path(config)
        meta = folder / "config.json"
        if not meta.exists():
            folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(
                {"feature_version": FEATURE_VERSION, "config": config.to_dict()}, indent=2
            )
            _atomic_write_bytes(meta, lambda f: f.write(text.encode("utf-8")))
        return folder

    def entry_path(self, digest: str, config: FeatureConfig) -> Path:
        """Where the array for a file with content ``digest`` is (or would be) stored."""
        return self.folder(config) / digest[:2] / f"{digest}.npy"

    def _load(self, entry: Path) -> np.ndarray | None:
        try:
            return np.load(entry, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):
            return None  # truncated or foreign file: recompute and overwrite it

    def get(self, path: str | os.PathLike[str], config: FeatureConfig) -> np.ndarray | None:
        """The cached feature of a file, or ``None`` (does not count as a hit or a miss)."""
        return self._load(self.entry_path(file_digest(path), config))

    def put(self, digest: str, config: FeatureConfig, feature: np.ndarray) -> Path:
        """Store ``feature`` for the file with content ``digest``; returns the entry path."""
        entry = self.entry_path(digest, config)
        entry.parent.mkdir(parents=True, exist_ok=True)
        array = np.ascontiguousarray(feature)
        _atomic_write_bytes(entry, lambda f: np.save(f, array, allow_pickle=False))
        return entry

    def get_or_compute(
        self,
        path: str | os.PathLike[str],
        config: FeatureConfig,
        speed: float = 1.0,
        channel: int = 0,
    ) -> np.ndarray:
        """The feature of an audio file: from disk if cached, otherwise computed and stored.

        Args:
            path: the audio file.
            config: the feature config.
            speed: featurise a speed-perturbed copy of the file instead
                (:func:`~ser_core.features.augment.speed_perturb`; training data only), cached
                under its own key.
            channel: ``k >= 1`` featurises the k-th channel copy of the file
                (:func:`~ser_core.features.augment.channel_copy`: room, noise, codec, gain,
                drawn from the file's content and ``k``; training data only), cached under its
                own key.

        Raises:
            AudioInputError: the file cannot be read or is unusable (from the loader).
        """
        digest = file_digest(path)
        content = digest
        if speed != 1.0:
            digest = f"{digest}-speed{speed:g}"
        if channel:
            digest = f"{digest}-channel{channel}v{CHANNEL_COPY_VERSION}"
        cached = self._load(self.entry_path(digest, config))
        if cached is not None:
            with self._lock:
                self.hits += 1
            return cached
        cached = self._derive(digest, config)
        if cached is not None:
            self.put(digest, config, cached)
            with self._lock:
                self.hits += 1
                self.derived += 1
            return cached
        signal = training_copy(
            self.loader(Path(path), config.rate), config.rate, content, speed, channel
        )
        feature = extract(config, signal, config.rate)
        self.put(digest, config, feature)
        with self._lock:
            self.misses += 1
        return feature

    def _derive(self, key: str, config: FeatureConfig) -> np.ndarray | None:
        """``config``'s array cut from the cached entry ``key`` of the config it derives from,
        or None (no such config or entry). Never creates the source's folder."""
        hook = getattr(config, "derived_from", None)
        found = hook() if callable(hook) else None
        if found is None:
            return None
        source, cut = found
        entry = self._folder_path(source) / key[:2] / f"{key}.npy"
        array = self._load(entry)
        if array is None:
            return None
        try:
            return cut(array)
        except (IndexError, ValueError):  # a foreign entry that does not hold ours: compute
            return None

    def reset_stats(self) -> None:
        """Set :attr:`hits`, :attr:`misses` and :attr:`derived` back to zero."""
        with self._lock:
            self.hits = 0
            self.misses = 0
            self.derived = 0

    def clear(self, config: FeatureConfig | None = None) -> None:
        """Delete the cached arrays of one config, or of every config when ``config`` is None."""
        if config is None:
            targets: Iterable[Path] = [p for p in self.root.glob("*") if p.is_dir()]
        else:
            targets = [self.folder(config)]
        for folder in targets:
            shutil.rmtree(folder, ignore_errors=True)


def extract_files(
    paths: Sequence[str | os.PathLike[str]],
    config: FeatureConfig,
    cache: bool | FeatureCache = True,
    progress: bool = False,
    speed: float = 1.0,
    channel: int = 0,
) -> list[np.ndarray]:
    """Features of audio files, in the order of ``paths``.

    Args:
        paths: audio files (anything ``ser_core.audio.read_audio`` decodes).
        config: the feature config.
        cache: ``True`` for a :class:`FeatureCache` in the default folder, a cache object to use
            (and read its hit/miss counts), or ``False`` to always compute.
        progress: show a tqdm progress bar.
        speed: features of speed-perturbed copies (see :meth:`FeatureCache.get_or_compute`).
        channel: features of the k-th channel copies (same).

    Raises:
        AudioInputError: a file cannot be read or is unusable.
    """
    store: FeatureCache | None
    if isinstance(cache, FeatureCache):
        store = cache
    elif cache:
        store = FeatureCache()
    else:
        store = None
    items: Iterable[str | os.PathLike[str]] = paths
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(paths, desc=f"{config.kind} features", unit="file")
    out: list[np.ndarray] = []
    for path in items:
        if store is not None:
            out.append(store.get_or_compute(path, config, speed=speed, channel=channel))
        else:
            signal = read_signal(Path(path), config.rate)
            signal = training_copy(signal, config.rate, file_digest(path), speed, channel)
            out.append(extract(config, signal, config.rate))
    return out
