"""One entry point for every feature: ``extract(config, signal)`` dispatches on the config type.

Output shapes (float32 unless the config says otherwise):

=========================  ===========================================================
``LogMelConfig``           ``(n_mels, frames)``, ``frames = 1 + len(signal) // hop_length``
``MFCCConfig``             ``(n_mfcc, frames)``, or ``(3 * n_mfcc, frames)`` with deltas
``SpectrogramImageConfig`` ``(3, height, width)``
``EGeMAPSConfig``          ``(88,)`` functionals; ``(25, frames)`` low-level descriptors
``MFCCStatsConfig``        ``(rows * len(stats),)``
``WaveformConfig``         ``(samples,)``
``EncoderStatesConfig``    ``(layers, dim, frames)``, float16 by default (``encoder_states``)
=========================  ===========================================================

Features never resample: a signal at another rate than the config's raises
:class:`~ser_core.errors.AudioInputError` (a ``ValueError``); decode and resample with
``ser_core.audio.read_audio`` first.

Example:
    >>> import numpy as np
    >>> from ser_core.features import LogMelConfig, extract
    >>> extract(LogMelConfig(), np.zeros(16000, dtype=np.float32)).shape
    (64, 101)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar, overload

import numpy as np

from ser_core.errors import AudioInputError
from ser_core.features import egemaps as _egemaps
from ser_core.features import spectral as _spectral
from ser_core.features.config import (
    EGeMAPSConfig,
    FeatureConfig,
    LogMelConfig,
    MFCCConfig,
    MFCCStatsConfig,
    SpectrogramImageConfig,
    WaveformConfig,
)

C = TypeVar("C", bound=FeatureConfig)

_EXTRACTORS: dict[type[FeatureConfig], Callable[[FeatureConfig, np.ndarray], np.ndarray]] = {}


def register_extractor(
    config_type: type[C], extractor: Callable[[C, np.ndarray], np.ndarray]
) -> None:
    """Make :func:`extract` handle ``config_type`` with ``extractor(config, signal)``.

    The extractor receives a validated float32 1-D signal at ``config.rate`` and must return a
    float32 array (or an array of the config's ``storage_dtype`` when it declares one, e.g.
    float16 encoder states). Registering a type again replaces its extractor.
    """
    _EXTRACTORS[config_type] = extractor  # type: ignore[assignment]


register_extractor(LogMelConfig, _spectral.logmel)
register_extractor(MFCCConfig, _spectral.mfcc)
register_extractor(SpectrogramImageConfig, _spectral.spectrogram_image)
register_extractor(EGeMAPSConfig, _egemaps.egemaps)
register_extractor(MFCCStatsConfig, _spectral.mfcc_stats)
register_extractor(WaveformConfig, _spectral.waveform)


def _find_extractor(config: FeatureConfig) -> Callable[[FeatureConfig, np.ndarray], np.ndarray]:
    for cls in type(config).__mro__:
        if cls in _EXTRACTORS:
            return _EXTRACTORS[cls]
    raise TypeError(
        f"no extractor for {type(config).__name__}; expected one of "
        f"{', '.join(sorted(c.__name__ for c in _EXTRACTORS))}"
    )


def validate_signal(signal: np.ndarray, sample_rate: int, expected_rate: int) -> np.ndarray:
    """Check a signal for feature extraction and return it as contiguous float32.

    Raises:
        AudioInputError: wrong rate (``reason="bad_sample_rate"``), not 1-D (``"bad_shape"``),
            empty (``"empty"``), NaN/inf samples (``"non_finite"``) or integer samples.
    """
    if int(sample_rate) != int(expected_rate):
        raise AudioInputError(
            f"the signal is at {sample_rate} Hz but the feature expects {expected_rate} Hz; "
            "features never resample: load the audio with ser_core.audio.read_audio (which "
            "resamples to 16 kHz) or set the config's sample_rate",
            reason="bad_sample_rate",
        )
    x = np.asarray(signal)
    if x.ndim != 1:
        raise AudioInputError(
            f"expected a mono 1-D signal, got shape {x.shape}; downmix with "
            "ser_core.audio.read_audio first",
            reason="bad_shape",
        )
    if x.size == 0:
        raise AudioInputError("the signal is empty", reason="empty")
    if not np.issubdtype(x.dtype, np.floating):
        raise AudioInputError(
            f"expected floating-point samples in [-1, 1], got {x.dtype}; decode with "
            "ser_core.audio.read_audio, which scales integer PCM"
        )
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise AudioInputError("the signal contains NaN or infinite samples", reason="non_finite")
    return x


def extract(config: FeatureConfig, signal: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """Compute the feature described by ``config`` from a mono float signal.

    Args:
        config: a feature config (``LogMelConfig()``, ``MFCCConfig()``, ...).
        signal: 1-D float samples in [-1, 1] (``AudioClip.signal``).
        sample_rate: rate of ``signal`` in Hz; must equal the config's.

    Returns:
        A float32 array of the shape listed in this module's docstring.

    Raises:
        AudioInputError: (a ``ValueError``) rate mismatch or an unusable signal.
        TypeError: ``config`` is not a registered feature config.
    """
    extractor = _find_extractor(config)
    x = validate_signal(signal, sample_rate, config.rate)
    dtype = getattr(config, "storage_dtype", np.float32)  # float16 for compact encoder states
    return np.asarray(extractor(config, x), dtype=dtype)


def extract_batch(
    config: FeatureConfig, signals: Sequence[np.ndarray], sample_rate: int = 16000
) -> list[np.ndarray]:
    """:func:`extract` on each signal (one at a time: clips differ in length, and the spectral
    extractors are vectorised within a clip); combine variable lengths with :func:`pad_batch`.
    For files, :func:`ser_core.features.cache.extract_files` adds the disk cache."""
    return [extract(config, s, sample_rate) for s in signals]


def pad_batch(
    features: Sequence[np.ndarray], axis: int = -1, pad_value: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Stack arrays that differ only along ``axis``, padding at the end to the longest.

    Args:
        features: arrays of equal rank whose shapes agree except along ``axis``.
        axis: the variable-length axis of each item (time: ``-1``).
        pad_value: value written into the padding.

    Returns:
        ``(batch, lengths)``: ``batch`` of shape ``(len(features), *item_shape_with_max_len)``
        in the items' common dtype, and the int64 original lengths along ``axis``.

    Raises:
        ValueError: no items, or shapes that disagree off ``axis``.
    """
    if len(features) == 0:
        raise ValueError("pad_batch needs at least one array")
    arrays = [np.asarray(f) for f in features]
    ndim = arrays[0].ndim
    if ndim == 0 or any(a.ndim != ndim for a in arrays):
        raise ValueError(f"all arrays need the same rank >= 1, got {[a.ndim for a in arrays]}")
    ax = axis % ndim
    lengths = np.array([a.shape[ax] for a in arrays], dtype=np.int64)
    other = {a.shape[:ax] + a.shape[ax + 1 :] for a in arrays}
    if len(other) != 1:
        raise ValueError(
            f"arrays must agree on every axis but {axis}; got shapes {[a.shape for a in arrays]}"
        )
    shape = list(arrays[0].shape)
    shape[ax] = int(lengths.max())
    dtype = np.result_type(*arrays)
    batch = np.full((len(arrays), *shape), pad_value, dtype=dtype)
    for i, a in enumerate(arrays):
        index = [slice(None)] * ndim
        index[ax] = slice(0, a.shape[ax])
        batch[(i, *index)] = a
    return batch, lengths


def feature_names(config: FeatureConfig) -> list[str]:
    """Names of the first output axis: vector entries or spectrogram rows.

    eGeMAPS: openSMILE's names (88 functionals, or 25 descriptors); MFCC statistics:
    ``mfcc_00_mean`` ...; MFCC rows: ``mfcc_00`` ..., ``mfcc_d1_00`` ...; log-mel rows:
    ``mel_000`` ....

    Raises:
        ValueError: images and waveforms have no named axis.
    """
    if isinstance(config, EGeMAPSConfig):
        return _egemaps.egemaps_names(config)
    if isinstance(config, MFCCStatsConfig):
        return _spectral.mfcc_stats_names(config)
    if isinstance(config, MFCCConfig):
        return _spectral.mfcc_row_names(config)
    if isinstance(config, LogMelConfig):
        return [f"mel_{i:03d}" for i in range(config.n_mels)]
    raise ValueError(f"{type(config).__name__} has no named feature axis")


def num_frames(config: FeatureConfig, n_samples: int) -> int:
    """Length of the time axis that :func:`extract` gives for ``n_samples`` samples.

    Raises:
        ValueError: the feature has no time axis, or (openSMILE descriptors) its length is
            only known after extraction.
    """
    if isinstance(config, LogMelConfig | MFCCConfig):
        return 1 + n_samples // config.hop_length
    if isinstance(config, SpectrogramImageConfig):
        return config.width
    if isinstance(config, WaveformConfig):
        if config.duration is None:
            return n_samples
        return round(config.duration * config.sample_rate)
    if callable(getattr(config, "num_frames", None)):  # configs that know their own framing
        return int(config.num_frames(n_samples))  # type: ignore[attr-defined]
    raise ValueError(f"{type(config).__name__} features: use extract(...).shape[-1]")


def _time_axis(config: FeatureConfig, duration: float | None) -> tuple[float, float]:
    """(seconds between consecutive columns, time of column 0) for time-axis features."""
    if callable(getattr(config, "time_axis", None)):  # configs that know their own framing
        return config.time_axis()  # type: ignore[attr-defined]
    if isinstance(config, LogMelConfig | MFCCConfig):
        return config.hop_length / config.sample_rate, 0.0
    if isinstance(config, WaveformConfig):
        return 1.0 / config.sample_rate, 0.0
    if isinstance(config, EGeMAPSConfig) and config.feature_level != "functionals":
        # openSMILE frame i spans [i*hop, i*hop + 20 ms]; report its centre.
        return _egemaps.LLD_HOP_SECONDS, _egemaps.LLD_FRAME_SECONDS / 2
    if isinstance(config, SpectrogramImageConfig):
        frame_s = config.logmel.hop_length / config.sample_rate
        if config.fit == "pad":
            frames = _spectral.image_frames(config)
        elif duration is None:
            raise ValueError(
                "fit='resize' images stretch each clip to the image width: pass the clip's "
                "duration (seconds) to map columns to time"
            )
        else:
            frames = 1 + round(duration * config.sample_rate) // config.logmel.hop_length
        # Column j samples frame (j + 0.5) * frames / width - 0.5 (half-pixel resize).
        step = frames / config.width
        return step * frame_s, (0.5 * step - 0.5) * frame_s
    raise ValueError(f"{type(config).__name__} features are vectors without a time axis")


@overload
def frames_to_seconds(
    config: FeatureConfig, frames: int | float, *, duration: float | None = ...
) -> float: ...
@overload
def frames_to_seconds(
    config: FeatureConfig, frames: np.ndarray | Sequence[int], *, duration: float | None = ...
) -> np.ndarray: ...
def frames_to_seconds(
    config: FeatureConfig,
    frames: int | float | np.ndarray | Sequence[int],
    *,
    duration: float | None = None,
) -> float | np.ndarray:
    """Time in seconds of frame (column) indices along a feature's last axis.

    Spectrogram frames are centred (frame ``i`` is at ``i * hop_length / sample_rate``, like
    ``librosa.frames_to_time``); openSMILE descriptor frames report their centre; image columns
    map back through the resize. A fractional index gives a time between frames.

    Args:
        config: the feature config.
        frames: one index or an array of indices.
        duration: the clip's duration in seconds; needed only for ``fit="resize"`` images.

    Raises:
        ValueError: vector features, or a resized image without ``duration``.
    """
    step, offset = _time_axis(config, duration)
    if np.ndim(frames) == 0:
        return float(frames) * step + offset  # type: ignore[arg-type]
    return np.asarray(frames, dtype=np.float64) * step + offset


def frame_times(
    config: FeatureConfig, n_frames: int, *, duration: float | None = None
) -> np.ndarray:
    """Times (seconds) of the ``n_frames`` columns of a feature: the x axis for plotting it."""
    return frames_to_seconds(config, np.arange(n_frames), duration=duration)
