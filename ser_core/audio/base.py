"""Constants, limits and result types of :mod:`ser_core.audio`, and the checks shared by its
modules (sample-rate sanity, the errors for unreadable, empty and too-long input)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import IO

import numpy as np

from ser_core.errors import AudioInputError

TARGET_SAMPLE_RATE = 16000
"""Sample rate (Hz) of every signal :func:`read_audio` returns unless told otherwise."""

MIN_SAMPLE_RATE = 1000
"""Lowest sample rate (Hz) accepted; below this a header is almost certainly wrong."""

MAX_SAMPLE_RATE = 384000
"""Highest sample rate (Hz) accepted (the highest rate common audio interfaces offer)."""

SUPPORTED_FORMATS = (
    "WAV, FLAC, OGG (Vorbis/Opus), MP3, AIFF, M4A/AAC, WebM/Opus and most other formats FFmpeg "
    "can decode"
)
"""Human-readable list of the formats :func:`read_audio` reads, used in error messages."""

# Anything read_audio accepts. Arrays also need ``sample_rate``.
AudioSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | np.ndarray


class AudioClippingWarning(UserWarning):
    """The audio has many samples at full scale: it was recorded too loud and is distorted."""


@dataclass(frozen=True)
class AudioLimits:
    """What :func:`read_audio` accepts (only applied when ``validate=True``).

    Silence rule: after removing the mean (so a DC offset alone counts as silence), a clip is
    *silent* when its peak is below ``silence_dbfs`` (nothing ever reaches -60 dBFS: digital
    silence, dither, an unplugged microphone) **or** its RMS over the whole clip is below
    ``silence_rms_dbfs`` (almost no energy: e.g. a faint click in an otherwise silent file).
    Level thresholds cannot tell speech from noise: a loud click or hum passes.
    Levels are measured on the final mono signal, relative to full scale (|x| = 1).

    Attributes:
        min_duration: shortest clip accepted, in seconds (0.25 s: less holds no usable prosody).
        max_duration: longest clip accepted, in seconds (10 minutes per call by default; longer
            recordings should be split or streamed through :func:`frame_windows`).
        silence_dbfs: peak level (dBFS) below which a clip is silent.
        silence_rms_dbfs: whole-clip RMS level (dBFS) below which a clip is silent.
        clip_level: absolute sample value counted as clipped.
        clip_fraction: fraction of clipped samples from which an
            :class:`AudioClippingWarning` is emitted (0.001 = 0.1 %).
    """

    min_duration: float = 0.25
    max_duration: float = 600.0
    silence_dbfs: float = -60.0
    silence_rms_dbfs: float = -70.0
    clip_level: float = 0.999
    clip_fraction: float = 0.001

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_duration <= self.max_duration:
            raise ValueError(
                f"AudioLimits needs 0 <= min_duration <= max_duration, got "
                f"min_duration={self.min_duration}, max_duration={self.max_duration}"
            )


DEFAULT_LIMITS = AudioLimits()


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is ambiguous
class AudioClip:
    """A decoded, validated mono clip.

    Attributes:
        signal: float32 mono 1-D signal at ``sample_rate``, nominally in [-1, 1] (resampling a
            clipped recording can overshoot slightly; values are not clamped).
        sample_rate: sample rate of ``signal`` in Hz.
        original_sample_rate: sample rate of the source before resampling, in Hz.
        original_channels: number of channels of the source before downmixing.
        source: where the audio came from: the path as given, the upload's name, ``"<bytes>"``,
            ``"<file>"`` (a file object without a name) or ``"<array>"``.
        clipped: whether the source had enough full-scale samples to warn about clipping.
    """

    signal: np.ndarray
    sample_rate: int
    original_sample_rate: int
    original_channels: int
    source: str
    clipped: bool = False

    @property
    def duration(self) -> float:
        """Length of the clip in seconds."""
        return self.signal.shape[0] / self.sample_rate


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file's header says, obtained without decoding the whole file.

    Attributes:
        sample_rate: sample rate in Hz.
        channels: number of channels.
        frames: number of samples per channel (may be an estimate for compressed streams).
        duration: length in seconds (``frames / sample_rate``).
        format: container format, e.g. ``"WAV"``, ``"FLAC"``, ``"OGG"``, ``"mov,mp4,m4a,..."``.
        subtype: encoding, e.g. ``"PCM_16"``, ``"VORBIS"``, ``"aac"``.
        source: where the audio came from (as in :attr:`AudioClip.source`).
    """

    sample_rate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str
    source: str


@dataclass(frozen=True, eq=False)
class Window:
    """One analysis window cut from a longer signal by :func:`frame_windows`.

    Attributes:
        start: time of the window's first sample in the original signal, in seconds.
        end: time just after the last *real* (not padded) sample it covers, in seconds.
        signal: the window's samples (always the full window length when padded).
    """

    start: float
    end: float
    signal: np.ndarray


# --------------------------------------------------------------------------------------------
# Small shared helpers
# --------------------------------------------------------------------------------------------


def _dbfs(level: float) -> float:
    """Amplitude relative to full scale in dB (-inf for 0)."""
    return 20.0 * math.log10(level) if level > 0 else -math.inf


def _check_rate(rate: float, what: str, name: str) -> int:
    """Return ``rate`` as an int, or raise ``bad_sample_rate`` when it is absurd."""
    try:
        as_int = int(rate)
        ok = as_int == rate and MIN_SAMPLE_RATE <= as_int <= MAX_SAMPLE_RATE
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise AudioInputError(
            f"{name}: the {what} {rate!r} Hz is not a usable sample rate (expected a whole "
            f"number between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz): the file header is "
            "probably corrupt; re-export the audio or choose another file.",
            reason="bad_sample_rate",
        )
    return as_int


def _not_audio(name: str, detail: str = "") -> AudioInputError:
    # The message says what to do; the decoders' own words go to ``detail`` (logs, bug
    # reports): they name library internals and object reprs a person cannot act on.
    return AudioInputError(
        f"{name} is not audio, or is corrupt or in an unsupported format. Supported formats: "
        f"{SUPPORTED_FORMATS}. Convert it to WAV or FLAC, or choose another file.",
        reason="not_audio",
        detail=detail,
    )


def _empty(name: str) -> AudioInputError:
    return AudioInputError(
        f"{name} contains no audio (zero samples): record again or choose another file.",
        reason="empty",
    )


def _too_long(name: str, duration: float, limits: AudioLimits) -> AudioInputError:
    return AudioInputError(
        f"{name} is {duration:.1f} s long, more than the {limits.max_duration:g} s limit: cut "
        "it into shorter pieces (or raise max_duration) and try again.",
        reason="too_long",
    )
