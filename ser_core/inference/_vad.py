"""Voice activity detection for the live path: silence is never classified (see
:mod:`ser_core.inference.live`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ser_core.audio import TARGET_SAMPLE_RATE, resample

__all__ = ["VoiceActivityDetector", "available_vad_backends"]


def _silero_loader() -> Callable[[], Any] | None:
    try:
        from silero_vad import load_silero_vad
    except Exception:
        return None
    return load_silero_vad  # type: ignore[no-any-return]


def _webrtcvad_module() -> Any:
    try:
        import webrtcvad
    except Exception:
        return None
    return webrtcvad


def available_vad_backends() -> list[str]:
    """The VAD backends that can be used here, best first (``"energy"`` is always there)."""
    backends = []
    if _silero_loader() is not None:
        backends.append("silero")
    if _webrtcvad_module() is not None:
        backends.append("webrtcvad")
    backends.append("energy")
    return backends


class VoiceActivityDetector:
    """Says whether a 16 kHz signal holds speech, so silence is never classified.

    Args:
        backend: ``"auto"`` (the best of :func:`available_vad_backends`), ``"silero"``
            (silero-vad: a small neural VAD whose model ships inside its wheel, no download),
            ``"webrtcvad"`` (Google's WebRTC GMM VAD) or ``"energy"`` (RMS above
            ``energy_dbfs``; cannot tell speech from noise).
        threshold: silero's speech probability threshold per 32 ms chunk.
        min_speech_fraction: the share of chunks that must be speech for the window to count.
        energy_dbfs: the RMS level (dBFS) the energy backend requires.
        aggressiveness: webrtcvad's mode, 0 (least) to 3 (most aggressive filtering).

    Raises:
        ValueError: an unknown or unavailable backend.
    """

    def __init__(
        self,
        backend: str = "auto",
        *,
        threshold: float = 0.5,
        min_speech_fraction: float = 0.2,
        energy_dbfs: float = -45.0,
        aggressiveness: int = 2,
    ) -> None:
        available = available_vad_backends()
        if backend == "auto":
            backend = available[0]
        if backend not in ("silero", "webrtcvad", "energy"):
            raise ValueError(f"unknown VAD backend {backend!r}; choose silero, webrtcvad or energy")
        if backend not in available:
            raise ValueError(
                f"VAD backend {backend!r} is not installed here (available: {', '.join(available)})"
            )
        self.backend = backend
        self.threshold = threshold
        self.min_speech_fraction = min_speech_fraction
        self.energy_dbfs = energy_dbfs
        self._lock = threading.Lock()  # silero keeps recurrent state: one caller at a time
        self._model: Any = None
        if backend == "silero":
            loader = _silero_loader()
            assert loader is not None
            self._model = loader()
        elif backend == "webrtcvad":
            self._model = _webrtcvad_module().Vad(aggressiveness)

    def speech_fraction(self, signal: np.ndarray, sample_rate: int = TARGET_SAMPLE_RATE) -> float:
        """The share (0-1) of the signal's chunks that hold speech."""
        signal = np.asarray(signal, dtype=np.float32).reshape(-1)
        if sample_rate != TARGET_SAMPLE_RATE:
            signal = resample(signal, sample_rate, TARGET_SAMPLE_RATE)
        if signal.shape[0] == 0:
            return 0.0
        if self.backend == "energy":
            return self._energy_fraction(signal)
        with self._lock:
            if self.backend == "silero":
                return self._silero_fraction(signal)
            return self._webrtc_fraction(signal)

    def is_speech(self, signal: np.ndarray, sample_rate: int = TARGET_SAMPLE_RATE) -> bool:
        """Whether enough of the signal is speech (``min_speech_fraction``)."""
        return self.speech_fraction(signal, sample_rate) >= self.min_speech_fraction

    def _energy_fraction(self, signal: np.ndarray) -> float:
        chunk = 480  # 30 ms
        n = signal.shape[0] // chunk
        if n == 0:
            frames = signal.reshape(1, -1)
        else:
            frames = signal[: n * chunk].reshape(n, chunk).astype(np.float64)
        rms = np.sqrt(np.mean(frames**2, axis=1))
        with np.errstate(divide="ignore"):
            level = 20 * np.log10(np.maximum(rms, 1e-12))
        return float(np.mean(level > self.energy_dbfs))

    def _silero_fraction(self, signal: np.ndarray) -> float:
        import torch  # silero-vad needs torch; ser_core already depends on it

        chunk = 512  # the chunk size silero-vad takes at 16 kHz
        n = signal.shape[0] // chunk
        if n == 0:
            signal = np.pad(signal, (0, chunk - signal.shape[0]))
            n = 1
        self._model.reset_states()
        hits = 0
        with torch.no_grad():
            for i in range(n):
                x = torch.from_numpy(np.ascontiguousarray(signal[i * chunk : (i + 1) * chunk]))
                if float(self._model(x, TARGET_SAMPLE_RATE).item()) >= self.threshold:
                    hits += 1
        return hits / n

    def _webrtc_fraction(self, signal: np.ndarray) -> float:
        chunk = 480  # 30 ms at 16 kHz, a frame size webrtcvad accepts
        pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2")
        n = pcm.shape[0] // chunk
        if n == 0:
            return 0.0
        hits = sum(
            bool(self._model.is_speech(pcm[i * chunk : (i + 1) * chunk].tobytes(), 16000))
            for i in range(n)
        )
        return hits / n
