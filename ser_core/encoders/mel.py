"""Whisper's log-mel front end in numpy (no torch), shared by every Whisper runtime.

The torch encoder, its ONNX Runtime export and the torch-free exported pipeline all compute the
encoder's input here, so they cannot drift apart; a test checks it against
``transformers.WhisperFeatureExtractor``.
"""

from __future__ import annotations

import numpy as np

from ser_core.errors import AudioInputError

__all__ = ["HOP_LENGTH", "N_FFT", "SAMPLE_RATE", "log_mel", "mono_signal", "slaney_mel_filters"]

SAMPLE_RATE = 16_000
#: Whisper's STFT: 25 ms Hann window, 10 ms hop at 16 kHz.
N_FFT = 400
HOP_LENGTH = 160

# The periodic Hann window (torch.hann_window's default, what Whisper uses).
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def mono_signal(signal: np.ndarray, min_samples: int = 1) -> np.ndarray:
    """Validate one mono clip and return it as a 1-D float32 array.

    Raises:
        AudioInputError: not 1-D (a leading axis of size 1 is accepted), empty, non-finite or
            shorter than ``min_samples``.
    """
    array = np.asarray(signal, dtype=np.float32)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise AudioInputError(
            f"expected a mono 16 kHz signal of shape (samples,), got shape {tuple(array.shape)}",
            reason="bad_shape",
        )
    if array.size == 0:
        raise AudioInputError("the signal is empty", reason="empty")
    if not np.isfinite(array).all():
        raise AudioInputError("the signal contains NaN or infinite samples", reason="non_finite")
    if array.size < min_samples:
        raise AudioInputError(
            f"the signal has {array.size} samples; the encoder needs at least {min_samples} "
            f"({min_samples / SAMPLE_RATE * 1000:.0f} ms at 16 kHz)",
            reason="too_short",
        )
    return array


def slaney_mel_filters(n_mels: int) -> np.ndarray:
    """Slaney-style mel filterbank ``(n_mels, 201)``, as OpenAI's Whisper uses (librosa's)."""
    import librosa  # deferred: librosa's filters import scipy.signal (~1.5 s)

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels).astype(np.float32)


def log_mel(
    signal: np.ndarray, filters: np.ndarray, max_frames: int | None = 2 * 1500
) -> np.ndarray:
    """Whisper's normalised log-mel ``(n_mels, len(signal) // 160)`` of a 16 kHz clip, unpadded.

    Equals the first ``len // 160`` frames of ``transformers.WhisperFeatureExtractor`` (which pads
    every clip to 30 s): power STFT (n_fft 400, hop 160, periodic Hann, centred, reflect-padded),
    mel filterbank, ``log10(max(x, 1e-10))``, floor at ``max - 8``, then ``(x + 4) / 4``. To see
    the same windows near the clip's end as the padded extractor, the signal gets ``n_fft``
    trailing zeros before the STFT, and the maximum is taken over every frame the extractor would
    keep (at most ``max_frames``).

    Raises:
        AudioInputError: see :func:`mono_signal` (at least one hop, 10 ms, is needed).
    """
    x = mono_signal(signal, min_samples=HOP_LENGTH)
    frames = x.size // HOP_LENGTH
    padded = np.pad(np.pad(x, (0, N_FFT)), (N_FFT // 2, N_FFT // 2), mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH]
    spectrum = np.fft.rfft(windows * _WINDOW, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32).T  # (201, steps)
    log_spec = np.log10(np.maximum(np.asarray(filters, np.float32) @ power, 1e-10))
    limit = log_spec.shape[1] if max_frames is None else min(log_spec.shape[1], max_frames)
    log_spec = np.maximum(log_spec, log_spec[:, :limit].max() - 8.0)
    return np.ascontiguousarray(((log_spec + 4.0) / 4.0)[:, :frames], dtype=np.float32)
