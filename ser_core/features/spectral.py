"""Spectral features computed with librosa: log-mel, MFCC (+ deltas), MFCC statistics, images.

Every function takes a validated float32 mono signal at the config's rate and returns float32.
"""

from __future__ import annotations

import librosa
import numpy as np

from ser_core.features.config import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LogMelConfig,
    MFCCConfig,
    MFCCStatsConfig,
    SpectrogramImageConfig,
    WaveformConfig,
)

_EPS = 1e-8


def mel_power(
    signal: np.ndarray,
    *,
    sample_rate: int,
    n_fft: int,
    win_length: int,
    hop_length: int,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    power: float = 2.0,
) -> np.ndarray:
    """Mel spectrogram ``(n_mels, 1 + len // hop_length)`` (Hann window, centred zero-padded frames,
    Slaney-normalised filterbank)."""
    return librosa.feature.melspectrogram(
        y=signal,
        sr=sample_rate,
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
        window="hann",
        center=True,
        pad_mode="constant",  # explicit: librosa's default changed between releases
        power=power,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
    )


def _power_to_db(spec: np.ndarray, top_db: float | None, power: float) -> np.ndarray:
    if power == 2.0:
        return librosa.power_to_db(spec, ref=1.0, amin=1e-10, top_db=top_db)
    return librosa.amplitude_to_db(spec, ref=1.0, amin=1e-5, top_db=top_db)


def _standardize(x: np.ndarray, axis: int | None) -> np.ndarray:
    mean = x.mean(axis=axis, keepdims=True)
    std = x.std(axis=axis, keepdims=True)
    # A constant row (e.g. a single frame) would divide by zero; it becomes all zeros instead.
    return (x - mean) / np.maximum(std, _EPS)


def logmel(config: LogMelConfig, signal: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram ``(n_mels, frames)`` as described by :class:`LogMelConfig`."""
    spec = mel_power(
        signal,
        sample_rate=config.sample_rate,
        n_fft=config.n_fft,
        win_length=config.win_length,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
        power=config.power,
    )
    if config.log == "db":
        out = _power_to_db(spec, config.top_db, config.power)
    else:
        out = np.log(spec + config.log_offset)
    if config.normalize == "utterance":
        out = _standardize(out, axis=None)
    elif config.normalize == "band":
        out = _standardize(out, axis=1)
    return out.astype(np.float32, copy=False)


def deltas(features: np.ndarray, width: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """First- and second-order deltas along the last axis (``librosa.feature.delta``).

    The regression window shrinks to the largest odd width that fits short inputs; with fewer
    than 3 frames the deltas are zero (there is no slope to estimate).
    """
    n = features.shape[-1]
    width = min(width, n if n % 2 else n - 1)
    if width < 3:
        zeros = np.zeros_like(features)
        return zeros, zeros.copy()
    d1 = librosa.feature.delta(features, width=width, order=1, axis=-1)
    d2 = librosa.feature.delta(features, width=width, order=2, axis=-1)
    return d1, d2


def mfcc(config: MFCCConfig, signal: np.ndarray) -> np.ndarray:
    """MFCCs ``(n_mfcc or 3*n_mfcc, frames)`` as described by :class:`MFCCConfig`."""
    spec = mel_power(
        signal,
        sample_rate=config.sample_rate,
        n_fft=config.n_fft,
        win_length=config.win_length,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
    )
    # top_db=80 keeps log(0) of digital silence from dominating the cepstrum.
    db = librosa.power_to_db(spec, ref=1.0, amin=1e-10, top_db=80.0)
    coeffs = librosa.feature.mfcc(S=db, n_mfcc=config.n_mfcc, dct_type=2, norm="ortho")
    if config.deltas:
        d1, d2 = deltas(coeffs, config.delta_width)
        coeffs = np.concatenate([coeffs, d1, d2], axis=0)
    if config.cmvn:
        coeffs = _standardize(coeffs, axis=1)
    return coeffs.astype(np.float32, copy=False)


def mfcc_row_names(config: MFCCConfig) -> list[str]:
    """Names of the MFCC rows: ``mfcc_00`` ..., then ``mfcc_d1_00`` ..., ``mfcc_d2_00`` ..."""
    prefixes = ["mfcc", "mfcc_d1", "mfcc_d2"] if config.deltas else ["mfcc"]
    return [f"{p}_{i:02d}" for p in prefixes for i in range(config.n_mfcc)]


_STAT_FUNCS = {
    "mean": np.mean,
    "std": np.std,
    "min": np.min,
    "max": np.max,
    "median": np.median,
}


def mfcc_stats(config: MFCCStatsConfig, signal: np.ndarray) -> np.ndarray:
    """Statistic-major vector ``(rows * len(stats),)`` of MFCC statistics over time."""
    coeffs = mfcc(config.mfcc, signal)
    parts = [_STAT_FUNCS[name](coeffs, axis=1) for name in config.stats]
    return np.concatenate(parts).astype(np.float32, copy=False)


def mfcc_stats_names(config: MFCCStatsConfig) -> list[str]:
    """Names matching :func:`mfcc_stats` (e.g. ``mfcc_00_mean``)."""
    rows = mfcc_row_names(config.mfcc)
    return [f"{row}_{stat}" for stat in config.stats for row in rows]


def resize_linear(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linear interpolation of ``x`` to ``size`` samples along ``axis``.

    Half-pixel sample centres (source coordinate ``(i + 0.5) * n / size - 0.5``, clamped), the
    convention of ``torch.nn.functional.interpolate(..., align_corners=False)``; applied to both
    axes in turn it is bilinear resizing.
    """
    n = x.shape[axis]
    if n == size:
        return x
    src = np.clip((np.arange(size) + 0.5) * (n / size) - 0.5, 0.0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = (src - lo).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = size
    frac = frac.reshape(shape)
    return np.take(x, lo, axis=axis) * (1 - frac) + np.take(x, hi, axis=axis) * frac


def _unit_range(x: np.ndarray, top_db: float) -> np.ndarray:
    """Map ``[max - top_db, max]`` dB to ``[0, 1]`` (a fixed range, so loudness does not matter)."""
    return np.clip((x - x.max() + top_db) / top_db, 0.0, 1.0)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi - lo > _EPS else np.zeros_like(x)


def spectrogram_image(config: SpectrogramImageConfig, signal: np.ndarray) -> np.ndarray:
    """ImageNet-ready image ``(3, height, width)``, see :class:`SpectrogramImageConfig`."""
    db = logmel(config.logmel, signal)
    assert config.logmel.top_db is not None  # checked by the config
    image = _unit_range(db, config.logmel.top_db)
    if config.fit == "pad":
        frames = image_frames(config)
        if image.shape[1] >= frames:
            image = image[:, :frames]
        else:
            image = np.pad(image, ((0, 0), (0, frames - image.shape[1])))  # 0 = silence
    if config.channels == "replicate":
        planes = [image, image, image]
    else:
        d1, d2 = deltas(image)
        planes = [image, _minmax(d1), _minmax(d2)]
    out = np.stack(
        [resize_linear(resize_linear(p, config.height, 0), config.width, 1) for p in planes]
    )
    if config.imagenet_norm:
        mean = np.asarray(IMAGENET_MEAN, dtype=np.float32)[:, None, None]
        std = np.asarray(IMAGENET_STD, dtype=np.float32)[:, None, None]
        out = (out - mean) / std
    return out.astype(np.float32, copy=False)


def image_frames(config: SpectrogramImageConfig) -> int:
    """Log-mel frames covering ``config.duration`` seconds (the ``fit="pad"`` length)."""
    return 1 + round(config.duration * config.sample_rate) // config.logmel.hop_length


def waveform(config: WaveformConfig, signal: np.ndarray) -> np.ndarray:
    """The signal itself, optionally cropped / zero-padded and standardised."""
    out = signal
    n = None if config.duration is None else round(config.duration * config.sample_rate)
    if n is not None:
        out = out[:n]
    if config.normalize:
        # Statistics of the audio only: normalising after padding would shift the padding.
        out = _standardize(out, axis=None)
    if n is not None and len(out) < n:
        out = np.pad(out, (0, n - len(out)))
    # Always a fresh array: callers may modify it without touching the input.
    return np.array(out, dtype=np.float32, copy=True)
