"""The one place that decodes, validates, downmixes and resamples audio.

Everything that turns "some audio the user gave us" into a model input goes through
:func:`read_audio`: files on disk, raw bytes, uploads (anything with ``.read()``, such as
Streamlit's ``UploadedFile`` or :class:`io.BytesIO`) and numpy arrays. It returns an
:class:`AudioClip` holding a float32 mono signal at :data:`TARGET_SAMPLE_RATE` (16 kHz), or
raises :class:`~ser_core.errors.AudioInputError` with a message a person can act on and a
machine-readable ``reason``.

Decoding tries libsndfile (:mod:`soundfile`: WAV, FLAC, OGG Vorbis/Opus, MP3, AIFF, ...) first
and falls back to FFmpeg (:mod:`av`) for containers libsndfile does not read (M4A/AAC, the
WebM/Opus that browsers record, ...). The file extension is never trusted, and nothing is
written to temporary files.

The helpers (:func:`trim_silence` / :func:`speech_bounds`, :func:`normalize_peak`,
:func:`normalize_loudness`, :func:`pad_or_crop`, :func:`frame_windows`) are pure numpy functions
on 1-D float32 signals.

Modules: :mod:`~ser_core.audio.base` (constants, limits, result types),
:mod:`~ser_core.audio.decode` (opening and decoding, :func:`audio_info`),
:mod:`~ser_core.audio.read` (:func:`read_audio`, :func:`resample`) and
:mod:`~ser_core.audio.transforms` (the signal helpers). Import from ``ser_core.audio``.
"""

from __future__ import annotations

from ser_core.audio.base import (
    DEFAULT_LIMITS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    SUPPORTED_FORMATS,
    TARGET_SAMPLE_RATE,
    AudioClip,
    AudioClippingWarning,
    AudioInfo,
    AudioLimits,
    AudioSource,
    Window,
)
from ser_core.audio.decode import audio_info
from ser_core.audio.read import read_audio, resample
from ser_core.audio.transforms import (
    frame_windows,
    normalize_loudness,
    normalize_peak,
    pad_or_crop,
    speech_bounds,
    trim_silence,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SUPPORTED_FORMATS",
    "TARGET_SAMPLE_RATE",
    "AudioClip",
    "AudioClippingWarning",
    "AudioInfo",
    "AudioLimits",
    "AudioSource",
    "Window",
    "audio_info",
    "frame_windows",
    "normalize_loudness",
    "normalize_peak",
    "pad_or_crop",
    "read_audio",
    "resample",
    "speech_bounds",
    "trim_silence",
]
