"""The entry point :func:`read_audio` (decode, validate, downmix, resample) and :func:`resample`,
the only resampler in ``ser_core``; numpy arrays are taken here, files go through
:mod:`ser_core.audio.decode`."""

from __future__ import annotations

import warnings

import numpy as np
import soxr

from ser_core.audio.base import (
    DEFAULT_LIMITS,
    TARGET_SAMPLE_RATE,
    AudioClip,
    AudioClippingWarning,
    AudioLimits,
    AudioSource,
    _check_rate,
    _dbfs,
    _empty,
    _too_long,
)
from ser_core.audio.decode import _decode, _Opened
from ser_core.errors import AudioInputError

_MAX_ARRAY_CHANNELS = 16  # a 2-D array's smaller dimension is its channels only up to this


# --------------------------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------------------------


def _array_to_float(array: np.ndarray) -> np.ndarray:
    """Integer PCM to float32 in [-1, 1); floats to float32. Always a new array."""
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float32)  # a copy: the clip never shares the caller's memory
    if kind in "iu":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        # float64 intermediate keeps int32 precision; unsigned PCM is centred on half scale.
        values = array.astype(np.float64)
        if kind == "u":
            values -= half
        return (values / half).astype(np.float32)
    raise AudioInputError(
        f"<array>: unsupported sample type {array.dtype}; pass float or integer PCM samples.",
        reason="bad_shape",
    )


def _array_frames(array: np.ndarray) -> np.ndarray:
    """Arrange an array as (frames, channels).

    1-D arrays are mono. For 2-D arrays the smaller dimension is the channels when it is at
    most 16, so both (n, channels) (soundfile's layout) and (channels, n) (librosa's and
    torchaudio's) work; a square array is read as (n, channels).
    """
    if array.ndim == 1:
        return array[:, None]
    if array.ndim == 2:
        rows, cols = array.shape
        if cols <= rows and cols <= _MAX_ARRAY_CHANNELS:
            return array
        if rows < cols and rows <= _MAX_ARRAY_CHANNELS:
            return array.T
    raise AudioInputError(
        f"<array>: cannot read an array of shape {array.shape} as audio; pass shape (n,) for "
        f"mono, or (n, channels) / (channels, n) with at most {_MAX_ARRAY_CHANNELS} channels.",
        reason="bad_shape",
    )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def resample(signal: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample with soxr's high-quality ("HQ") filter: the only resampler in ``ser_core``.

    Args:
        signal: float samples, shape (n,) or (n, channels).
        orig_rate: sample rate of ``signal`` in Hz.
        target_rate: wanted sample rate in Hz.

    Returns:
        float32 samples at ``target_rate``, ``round(n * target_rate / orig_rate)`` long
        (a new array; the input itself when the rates are equal and it is already float32).

    Raises:
        AudioInputError: ``bad_sample_rate`` when a rate is outside 1 kHz to 384 kHz.
    """
    orig = _check_rate(orig_rate, "source sample rate", "resample")
    target = _check_rate(target_rate, "target sample rate", "resample")
    signal = np.asarray(signal, dtype=np.float32)
    if orig == target or signal.shape[0] == 0:
        return signal
    return soxr.resample(signal, orig, target, quality="HQ").astype(np.float32, copy=False)


def read_audio(
    source: AudioSource,
    sample_rate: int | None = None,
    *,
    target_rate: int = TARGET_SAMPLE_RATE,
    limits: AudioLimits = DEFAULT_LIMITS,
    validate: bool = True,
) -> AudioClip:
    """Decode, validate, downmix and resample audio to a float32 mono signal.

    Args:
        source: a path (str or PathLike), raw file ``bytes``, a binary file object (an upload,
            :class:`io.BytesIO`, an open file; read from its current position, which is
            restored afterwards if the object can seek) or a numpy array of samples. Arrays
            are (n,) for mono, or 2-D with the smaller dimension (at most 16) as channels;
            integer arrays are PCM (int16 / 32768, uint8 centred on 128, ...), float arrays are
            taken as they are.
        sample_rate: sample rate of ``source`` in Hz; required for arrays, not allowed for
            anything else (files carry their own rate; use ``target_rate`` for the output).
        target_rate: sample rate of the returned signal in Hz.
        limits: duration, silence and clipping thresholds applied when ``validate`` is true.
        validate: check duration and silence. ``False`` (for internal streaming) still rejects
            unreadable, empty and non-finite audio and absurd sample rates.

    Returns:
        The clip, mono (channels averaged) float32 at ``target_rate``.

    Raises:
        AudioInputError: with ``reason`` ``"not_found"``, ``"not_audio"``, ``"empty"``,
            ``"bad_sample_rate"``, ``"bad_shape"``, ``"non_finite"``, ``"too_long"``,
            ``"too_short"`` or ``"silent"``.
        TypeError: ``sample_rate`` missing for an array, or given for a file.

    Warns:
        AudioClippingWarning: when at least ``limits.clip_fraction`` of the samples are at
            full scale.
    """
    target_rate = _check_rate(target_rate, "target sample rate", "read_audio")
    active_limits = limits if validate else None

    if isinstance(source, np.ndarray):
        name = "<array>"
        if sample_rate is None:
            raise AudioInputError(
                "<array>: a numpy array needs its sample rate: call "
                "read_audio(array, sample_rate=...).",
                reason="bad_sample_rate",
            )
        rate = _check_rate(sample_rate, "sample rate", name)
        if source.size == 0 and source.ndim in (1, 2):
            raise _empty(name)
        data = _array_frames(_array_to_float(source))
        if active_limits is not None and data.shape[0] / rate > active_limits.max_duration:
            raise _too_long(name, data.shape[0] / rate, active_limits)
    else:
        if sample_rate is not None:
            raise TypeError(
                "sample_rate is only for numpy arrays (files carry their own rate); to choose "
                "the output rate use read_audio(source, target_rate=...)"
            )
        opened = _Opened(source)
        name = opened.name
        data, rate = _decode(opened, active_limits)

    frames, channels = data.shape
    if frames == 0 or channels == 0:
        raise _empty(name)
    if not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise AudioInputError(
            f"{name} contains {bad} invalid samples (NaN or infinity): the file is corrupt; "
            "re-export it or choose another file.",
            reason="non_finite",
        )
    duration = frames / rate
    if active_limits is not None:
        if duration > active_limits.max_duration:  # headers can lie; check what we decoded
            raise _too_long(name, duration, active_limits)
        if duration < active_limits.min_duration:
            raise AudioInputError(
                f"{name} is only {duration:.3f} s long; at least "
                f"{active_limits.min_duration:g} s of speech is needed: record a longer clip.",
                reason="too_short",
            )

    # Clipping is judged on the source samples: resampling smooths the flat tops away.
    clipped_fraction = float(np.count_nonzero(np.abs(data) >= limits.clip_level)) / data.size
    clipped = clipped_fraction >= limits.clip_fraction
    if clipped:
        warnings.warn(
            f"{name}: {100 * clipped_fraction:.2f} % of the samples are at full scale, so the "
            "recording is clipped (distorted), which can bias predictions; record again with "
            "a lower input gain if you can.",
            AudioClippingWarning,
            stacklevel=2,
        )

    mono = data[:, 0] if channels == 1 else data.mean(axis=1, dtype=np.float32)
    signal = np.ascontiguousarray(resample(mono, rate, target_rate), dtype=np.float32)
    if signal.shape[0] == 0:
        raise _empty(name)

    if active_limits is not None:
        _check_silence(signal, name, active_limits)

    return AudioClip(
        signal=signal,
        sample_rate=target_rate,
        original_sample_rate=rate,
        original_channels=channels,
        source=name,
        clipped=clipped,
    )


def _check_silence(signal: np.ndarray, name: str, limits: AudioLimits) -> None:
    # Remove the mean first: a constant offset carries no sound but would read as loud.
    centred = signal.astype(np.float64) - float(np.mean(signal, dtype=np.float64))
    peak = _dbfs(float(np.max(np.abs(centred))))
    rms = _dbfs(float(np.sqrt(np.mean(centred * centred))))
    if peak < limits.silence_dbfs or rms < limits.silence_rms_dbfs:
        raise AudioInputError(
            f"{name}: the audio is silent (peak {peak:.1f} dBFS, RMS {rms:.1f} dBFS; a clip "
            f"needs a peak of at least {limits.silence_dbfs:g} dBFS and an RMS of at least "
            f"{limits.silence_rms_dbfs:g} dBFS): check the microphone or choose another file.",
            reason="silent",
        )
