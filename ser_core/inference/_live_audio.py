"""The live path's audio plumbing: a thread-safe ring buffer of 16 kHz samples and the
per-session resampler that turns browser frames into them (see :mod:`ser_core.inference.live`).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ser_core.audio import TARGET_SAMPLE_RATE, resample

__all__ = ["FrameResampler", "RingBuffer"]


class RingBuffer:
    """A fixed-capacity float32 ring buffer, safe to write from one thread and read from another.

    Args:
        capacity: how many samples it keeps (older ones are overwritten).
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self._data = np.zeros(capacity, dtype=np.float32)
        self._capacity = capacity
        self._write = 0  # index of the next sample to write
        self._total = 0  # samples ever written
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """Number of samples the buffer holds at most."""
        return self._capacity

    @property
    def total_written(self) -> int:
        """Samples written since creation (or the last :meth:`clear`)."""
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return min(self._total, self._capacity)

    def write(self, samples: np.ndarray) -> None:
        """Append samples (only the last ``capacity`` are kept if more are given)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        n = samples.shape[0]
        if n == 0:
            return
        with self._lock:
            self._total += n
            if n >= self._capacity:
                self._data[:] = samples[-self._capacity :]
                self._write = 0
                return
            end = self._write + n
            if end <= self._capacity:
                self._data[self._write : end] = samples
            else:
                first = self._capacity - self._write
                self._data[self._write :] = samples[:first]
                self._data[: n - first] = samples[first:]
            self._write = end % self._capacity

    def latest(self, n: int) -> np.ndarray:
        """A copy of the last ``n`` samples (fewer if fewer were written), oldest first."""
        with self._lock:
            available = min(self._total, self._capacity, max(n, 0))
            if available == 0:
                return np.zeros(0, dtype=np.float32)
            start = (self._write - available) % self._capacity
            if start + available <= self._capacity:
                return self._data[start : start + available].copy()
            first = self._capacity - start
            return np.concatenate([self._data[start:], self._data[: available - first]])

    def clear(self) -> None:
        """Forget everything written."""
        with self._lock:
            self._write = 0
            self._total = 0
            self._data[:] = 0.0


class FrameResampler:
    """Turns :class:`av.AudioFrame` objects of any rate / layout into 16 kHz mono float32.

    One instance per live session: :class:`av.AudioResampler` keeps filter state between frames,
    so a fresh one per frame would click at every frame boundary and drift in length. Raw arrays
    (tests, other sources) go through :meth:`resample_array` (soxr, stateless per call).

    Args:
        rate: the output rate in Hz.
    """

    def __init__(self, rate: int = TARGET_SAMPLE_RATE) -> None:
        self.rate = rate
        self._resampler: Any = None
        self._input_rate: int | None = None

    def __call__(self, frame: Any) -> np.ndarray:
        """Resample one ``av.AudioFrame``; returns a 1-D float32 array (possibly empty)."""
        import av  # a dependency of ser_core.audio already; imported here to keep import light

        if self._resampler is None or frame.sample_rate != self._input_rate:
            # A rate change mid-stream (device switch) needs a new filter.
            # Planar float at the input's own layout; channels are averaged below (FFmpeg's own
            # stereo→mono downmix scales by 1/√2, which would change levels against read_audio).
            self._resampler = av.AudioResampler(format="fltp", rate=self.rate)
            self._input_rate = frame.sample_rate
        chunks = [f.to_ndarray().mean(axis=0) for f in self._resampler.resample(frame)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def resample_array(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Downmix (channels last or first, the smaller axis) and resample a numpy signal."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 2:
            axis = 0 if samples.shape[0] < samples.shape[1] else 1
            samples = samples.mean(axis=axis)
        if sample_rate == self.rate:
            return samples.astype(np.float32, copy=False)
        return resample(samples, sample_rate, self.rate)
