"""The features of the last few signals, kept in memory so models that share a feature config
compute it once per clip.

Compare runs every shipped model on the same clip, one after another, and many read the same
features: six Whisper-base heads the same encoder states (the costliest step, ~60 ms for 3 s),
the SVMs and MLPs the same ComParE functionals. :meth:`InputPipeline.featurize
<ser_core.pipeline.InputPipeline.featurize>` goes through :data:`RECENT_FEATURES`, so the second
model on a clip takes the first one's features instead of recomputing them.

The memo is keyed by the feature config's :meth:`~ser_core.features.FeatureConfig.cache_key`,
the sample rate and a hash of the samples, so a different clip, rate or config is always a miss.
It is bounded in bytes (oldest first out), thread-safe (Streamlit runs sessions in threads), and
hands out copies, so a caller that modifies its feature cannot change another's. Errors are not
kept: a bad signal raises again on the next call.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ser_core.features.config import FeatureConfig

__all__ = ["RECENT_FEATURES", "RecentFeatures", "clear_recent_features"]

#: Room for the features of a few clips of every shipped feature config (3 s of whisper_base
#: states are 1.1 MB as float16; a log-mel map is tens of kB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Larger single features (e.g. the states of a 30 s window) are computed but not kept.
DEFAULT_MAX_ITEM_BYTES = 16 * 1024 * 1024


def signal_digest(signal: np.ndarray, sample_rate: int) -> str:
    """A hash of the samples, their dtype, shape and rate (blake2b, 128 bits)."""
    samples = np.ascontiguousarray(signal)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{samples.dtype.str}{samples.shape}{int(sample_rate)}".encode())
    digest.update(samples.view(np.uint8).reshape(-1).data)
    return digest.hexdigest()


class RecentFeatures:
    """A bounded, thread-safe memo: ``(feature config, signal) -> feature``.

    Args:
        max_bytes: total size of the kept features; the least recently used go first.
        max_item_bytes: features larger than this are returned but not kept.
    """

    def __init__(
        self, max_bytes: int = DEFAULT_MAX_BYTES, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES
    ) -> None:
        self.max_bytes = int(max_bytes)
        self.max_item_bytes = min(int(max_item_bytes), self.max_bytes)
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        with self._lock:
            return self._bytes

    def get_or_compute(
        self,
        config: FeatureConfig,
        signal: np.ndarray,
        sample_rate: int,
        compute: Callable[[], np.ndarray],
    ) -> np.ndarray:
        """A copy of the kept feature of ``signal`` under ``config``, or ``compute()``'s result
        (kept when it fits). ``compute`` runs outside the lock: two threads asking for the same
        new feature at once both compute it, and neither waits for the other."""
        key = (config.cache_key(), signal_digest(signal, sample_rate))
        with self._lock:
            kept = self._items.get(key)
            if kept is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return kept.copy()
            self.misses += 1
        feature = compute()
        if feature.nbytes <= self.max_item_bytes:
            self._keep(key, feature.copy())
        return feature

    def _keep(self, key: tuple[str, str], feature: np.ndarray) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = feature
            self._bytes += feature.nbytes
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        """Forget every kept feature (and reset the hit and miss counts)."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = 0
            self.misses = 0


#: The process-wide memo :meth:`InputPipeline.featurize` reads through.
RECENT_FEATURES = RecentFeatures()


def clear_recent_features() -> None:
    """Forget the features of recent signals (e.g. before timing a cold prediction, or after
    switching an encoder's runtime)."""
    RECENT_FEATURES.clear()
