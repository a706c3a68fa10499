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

The helpers (:func:`trim_silence`, :func:`normalize_peak`, :func:`normalize_loudness`,
:func:`pad_or_crop`, :func:`frame_windows`) are pure numpy functions on 1-D float32 signals.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass
from typing import IO, Any, Literal

import av
import numpy as np
import soundfile as sf
import soxr

from ser_core.errors import AudioInputError

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
    "trim_silence",
]

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

_MAX_ARRAY_CHANNELS = 16  # a 2-D array's smaller dimension is its channels only up to this
_MAX_LOUDNESS_GAIN_DB = 40.0


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


def _source_name(source: object) -> str:
    name = getattr(source, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return os.fspath(name)  # type: ignore[return-value]
    return "<file>"


# --------------------------------------------------------------------------------------------
# Opening sources
# --------------------------------------------------------------------------------------------


class _Opened:
    """A source made ready for the decoders: a path string or a seekable binary file object.

    A caller's file object is used directly only when it is seekable and at its start; it is
    rewound before each decoding attempt and when done, so an upload can be read again
    (Streamlit reruns scripts with the same ``UploadedFile``). Anything else is buffered.
    """

    def __init__(self, source: Any) -> None:
        self.path: str | None = None
        self.fileobj: IO[bytes] | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.name = "<bytes>"
            if len(source) == 0:
                raise _empty(self.name)
            self.fileobj = io.BytesIO(bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)  # type: ignore[assignment]
            self.name = str(self.path)
            if not os.path.exists(self.name):
                raise AudioInputError(
                    f"{self.name}: no such file; check the path and try again.",
                    reason="not_found",
                )
            if not os.path.isfile(self.name):
                raise AudioInputError(
                    f"{self.name} is a folder, not an audio file; give the path of a file.",
                    reason="not_found",
                )
            if os.path.getsize(self.name) == 0:
                raise _empty(self.name)
        elif hasattr(source, "read"):
            self.name = _source_name(source)
            seekable = getattr(source, "seekable", None)
            if callable(seekable) and seekable() and source.tell() == 0:
                self.fileobj = source
                size = source.seek(0, io.SEEK_END)
                source.seek(0)
            else:
                # Pipes, HTTP responses, ... (the decoders need to seek), and objects not at
                # their start (libsndfile seeks to absolute offsets): buffer the rest.
                position = source.tell() if callable(seekable) and seekable() else None
                data = source.read()
                if position is not None:
                    source.seek(position)
                self.fileobj = io.BytesIO(data)
                size = len(data)
            if size <= 0:
                raise _empty(self.name)
        else:
            raise TypeError(
                "expected a path, bytes or a binary file object (read_audio also takes a numpy "
                f"array with sample_rate), not {type(source).__name__}"
            )

    def target(self) -> str | IO[bytes]:
        """The path, or the file object rewound to its start."""
        if self.fileobj is not None:
            self.fileobj.seek(0)
            return self.fileobj
        assert self.path is not None
        return self.path

    def rewind(self) -> None:
        if self.fileobj is not None:
            self.fileobj.seek(0)


# --------------------------------------------------------------------------------------------
# Decoders. Each returns (data of shape (frames, channels) float32, sample rate) or raises
# _DecodeError when the library cannot read the input at all.
# --------------------------------------------------------------------------------------------


class _DecodeError(Exception):
    pass


def _max_frames(rate: int, limits: AudioLimits | None) -> int:
    """Frames to decode at most: one more than the limit, so too-long audio is detected."""
    if limits is None:
        return -1
    return math.ceil(limits.max_duration * rate) + 1


def _decode_soundfile(opened: _Opened, limits: AudioLimits | None) -> tuple[np.ndarray, int]:
    try:
        handle = sf.SoundFile(opened.target())
    except (sf.SoundFileError, RuntimeError, TypeError) as exc:
        raise _DecodeError(str(exc)) from exc
    with handle:
        rate = _check_rate(handle.samplerate, "sample rate", opened.name)
        # The header gives the length: reject a too-long file before decoding any of it.
        if limits is not None and handle.frames / rate > limits.max_duration:
            raise _too_long(opened.name, handle.frames / rate, limits)
        try:
            # frames limit: a lying header cannot make us decode an hour of audio.
            data = handle.read(frames=_max_frames(rate, limits), dtype="float32", always_2d=True)
        except (sf.SoundFileError, RuntimeError) as exc:
            raise _DecodeError(str(exc)) from exc
    return data, rate


def _decode_av(opened: _Opened, limits: AudioLimits | None) -> tuple[np.ndarray, int]:
    try:
        container = av.open(opened.target(), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise _DecodeError(str(exc)) from exc
    with container:
        if not container.streams.audio:
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise _DecodeError(f"it holds {', '.join(kinds)}, no audio stream")
        stream = container.streams.audio[0]
        if limits is not None and container.duration is not None:
            duration = container.duration / av.time_base
            if duration > limits.max_duration:
                raise _too_long(opened.name, duration, limits)
        # Convert whatever sample format the codec produces to planar float32, keeping the
        # native rate and channel layout (resampling happens later, with soxr, for all inputs).
        converter = av.AudioResampler(format="fltp")
        chunks: list[np.ndarray] = []
        rate = 0
        total = 0
        try:
            for frame in container.decode(stream):
                if not rate:
                    rate = _check_rate(frame.sample_rate, "sample rate", opened.name)
                for out in converter.resample(frame):
                    chunks.append(out.to_ndarray())
                    total += out.samples
                if limits is not None and total > _max_frames(rate, limits):
                    raise _too_long(opened.name, total / rate, limits)
            for out in converter.resample(None):
                chunks.append(out.to_ndarray())
        except AudioInputError:
            raise
        except (av.error.FFmpegError, ValueError) as exc:
            if not chunks:
                raise _DecodeError(str(exc)) from exc
            # A damaged tail (e.g. a browser recording stopped abruptly): keep what decoded.
            warnings.warn(
                f"{opened.name}: decoding stopped early ({exc}); using the first "
                f"{total / rate:.2f} s.",
                UserWarning,
                stacklevel=4,
            )
        channels = stream.codec_context.channels or 1
    if not chunks:
        return np.zeros((0, channels), dtype=np.float32), rate or TARGET_SAMPLE_RATE
    data = np.concatenate(chunks, axis=1).T  # (channels, n) -> (n, channels)
    return np.ascontiguousarray(data, dtype=np.float32), rate


def _decode(opened: _Opened, limits: AudioLimits | None) -> tuple[np.ndarray, int]:
    try:
        try:
            return _decode_soundfile(opened, limits)
        except _DecodeError as sf_error:
            try:
                return _decode_av(opened, limits)
            except _DecodeError as av_error:
                raise _not_audio(
                    opened.name, f"libsndfile: {sf_error}; FFmpeg: {av_error}"
                ) from None
    finally:
        opened.rewind()


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


def audio_info(source: str | os.PathLike[str] | bytes | bytearray | IO[bytes]) -> AudioInfo:
    """Read sample rate, channels and length from the header, without decoding the audio.

    Uses libsndfile; for formats it does not read, FFmpeg's demuxer (when the container does
    not state its duration, packet durations are summed, which still does not decode).

    Args:
        source: a path, raw file bytes or a binary file object (its position is restored).

    Returns:
        The header information.

    Raises:
        AudioInputError: ``"not_found"``, ``"empty"``, ``"not_audio"`` or
            ``"bad_sample_rate"``.
    """
    opened = _Opened(source)
    try:
        try:
            info = sf.info(opened.target())
        except (sf.SoundFileError, RuntimeError, TypeError) as sf_error:
            opened.rewind()
            try:
                return _info_av(opened)
            except _DecodeError as av_error:
                raise _not_audio(
                    opened.name, f"libsndfile: {sf_error}; FFmpeg: {av_error}"
                ) from None
    finally:
        opened.rewind()
    rate = _check_rate(info.samplerate, "sample rate", opened.name)
    return AudioInfo(
        sample_rate=rate,
        channels=int(info.channels),
        frames=int(info.frames),
        duration=info.frames / rate,
        format=str(info.format),
        subtype=str(info.subtype),
        source=opened.name,
    )


def _info_av(opened: _Opened) -> AudioInfo:
    try:
        container = av.open(opened.target(), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise _DecodeError(str(exc)) from exc
    with container:
        if not container.streams.audio:
            raise _DecodeError("no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        rate = _check_rate(ctx.sample_rate, "sample rate", opened.name)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:  # e.g. browser WebM recordings: add up packet durations (demuxing only)
            ticks = 0
            try:
                for packet in container.demux(stream):
                    ticks += packet.duration or 0
            except av.error.FFmpegError:
                pass  # a damaged tail: report what was readable
            duration = float(ticks * stream.time_base) if stream.time_base else 0.0
        return AudioInfo(
            sample_rate=rate,
            channels=int(ctx.channels),
            frames=round(duration * rate),
            duration=duration,
            format=container.format.name,
            subtype=ctx.name,
            source=opened.name,
        )


# --------------------------------------------------------------------------------------------
# Signal helpers
# --------------------------------------------------------------------------------------------


def trim_silence(
    signal: np.ndarray, sample_rate: int, top_db: float = 40.0, frame_dur: float = 0.025
) -> np.ndarray:
    """Remove leading and trailing silence.

    Frames (``frame_dur`` long, hop a quarter of that, centred like librosa's) whose RMS is
    more than ``top_db`` below the loudest frame are silence. The cut is made at the centre
    of the first and one hop after the last loud frame, which keeps a few milliseconds of
    margin around the speech.

    Args:
        signal: 1-D float signal.
        sample_rate: its sample rate in Hz.
        top_db: how far below the loudest frame counts as silence, in dB.
        frame_dur: frame length in seconds.

    Returns:
        The trimmed signal (a view), or ``signal`` itself when it is all silence or shorter
        than one frame: the result is never empty.
    """
    signal = np.asarray(signal)
    n = signal.shape[0]
    frame = max(1, round(frame_dur * sample_rate))
    hop = max(1, frame // 4)
    if n <= frame:
        return signal
    padded = np.pad(signal.astype(np.float64), (frame // 2, frame // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop]
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    loudest = float(rms.max())
    if loudest <= 0.0:
        return signal
    loud = np.flatnonzero(rms > loudest * 10.0 ** (-top_db / 20.0))
    start = int(loud[0]) * hop
    end = min(n, (int(loud[-1]) + 1) * hop)
    return signal[start:end] if end > start else signal


def normalize_peak(
    signal: np.ndarray, peak_dbfs: float = -1.0, *, max_gain_db: float | None = None
) -> np.ndarray:
    """Scale so the largest absolute sample is at ``peak_dbfs``.

    Args:
        signal: float signal.
        peak_dbfs: wanted peak level in dBFS (-1 dBFS leaves headroom for later processing).
        max_gain_db: if given, never amplify by more than this many dB.

    Returns:
        A new float32 array (an unchanged copy when the signal is all zeros).
    """
    signal = np.asarray(signal, dtype=np.float32)
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    if peak == 0.0:
        return signal.copy()
    gain_db = peak_dbfs - _dbfs(peak)
    if max_gain_db is not None:
        gain_db = min(gain_db, max_gain_db)
    return (signal * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)


def normalize_loudness(
    signal: np.ndarray,
    sample_rate: int,
    target_dbfs: float = -23.0,
    *,
    max_gain_db: float = _MAX_LOUDNESS_GAIN_DB,
    peak_ceiling: float = 1.0,
) -> np.ndarray:
    """Scale to a target RMS level, ignoring pauses.

    The level is a gated RMS in dBFS (full-scale sine = -3 dBFS): the signal is cut into 100 ms
    blocks, blocks below -70 dBFS and then blocks more than 10 dB below the mean of the rest
    are ignored (the gating of EBU R128, but without its K-weighting, so this is not LUFS).
    Gain is capped at ``max_gain_db`` so near-silence is not blown up into loud noise, and
    lowered if needed so the peak stays within ``peak_ceiling`` (clipping distorts more than a
    slightly low level).

    Args:
        signal: 1-D float signal.
        sample_rate: its sample rate in Hz (sets the block length).
        target_dbfs: wanted gated RMS level in dBFS.
        max_gain_db: largest amplification, in dB.
        peak_ceiling: largest absolute sample allowed after scaling.

    Returns:
        A new float32 array (an unchanged copy when every block is below -70 dBFS).
    """
    signal = np.asarray(signal, dtype=np.float32)
    block = max(1, round(0.1 * sample_rate))
    values = signal.astype(np.float64)
    n_blocks = max(1, math.ceil(values.shape[0] / block))
    padded = np.pad(values, (0, n_blocks * block - values.shape[0]))
    power = np.mean(padded.reshape(n_blocks, block) ** 2, axis=1)
    kept = power[power > 10.0 ** (-70.0 / 10.0)]
    if kept.size == 0:
        return signal.copy()
    kept = kept[kept > np.mean(kept) * 10.0 ** (-10.0 / 10.0)]
    level_db = 10.0 * math.log10(float(np.mean(kept)))
    gain_db = min(target_dbfs - level_db, max_gain_db)
    gain = 10.0 ** (gain_db / 20.0)
    peak = float(np.max(np.abs(values)))
    if peak * gain > peak_ceiling:
        gain = peak_ceiling / peak
    return (values * gain).astype(np.float32)


def pad_or_crop(
    signal: np.ndarray,
    length: int,
    *,
    mode: Literal["center", "start", "end", "random"] = "center",
    rng: np.random.Generator | int | None = None,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Make a signal exactly ``length`` samples long.

    ``mode`` says which part is kept and where the signal sits:

    - ``"center"``: crop equally from both ends / pad equally on both sides (the odd sample
      goes to the end);
    - ``"start"``: keep the beginning (crop the end) / pad at the end;
    - ``"end"``: keep the end (crop the beginning) / pad at the beginning;
    - ``"random"``: a random crop offset / a random split of the padding (for training).

    Args:
        signal: 1-D signal.
        length: wanted number of samples (>= 0).
        mode: see above.
        rng: random generator or seed, used by ``"random"`` only.
        pad_mode: :func:`numpy.pad` mode (``"constant"`` pads with zeros; ``"reflect"``,
            ``"wrap"``, ``"edge"``, ... also work).

    Returns:
        The cropped signal (a view) or a new padded array; ``signal`` itself if it already
        has the length.

    Raises:
        ValueError: a negative length, an unknown mode, or non-constant padding of an empty
            signal.
    """
    signal = np.asarray(signal)
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    if mode not in ("center", "start", "end", "random"):
        raise ValueError(f"mode must be 'center', 'start', 'end' or 'random', got {mode!r}")
    n = signal.shape[0]
    extra = abs(n - length)
    if extra == 0:
        return signal
    if mode == "start":
        offset = 0
    elif mode == "end":
        offset = extra
    elif mode == "center":
        offset = extra // 2
    else:
        offset = int(np.random.default_rng(rng).integers(0, extra + 1))
    if n > length:
        return signal[offset : offset + length]
    if n == 0 and pad_mode != "constant":
        raise ValueError(f"cannot pad an empty signal with pad_mode={pad_mode!r}")
    return np.pad(signal, (offset, extra - offset), mode=pad_mode)  # type: ignore[call-overload]


def frame_windows(
    signal: np.ndarray,
    sample_rate: int,
    win_dur: float,
    hop_dur: float,
    *,
    pad_last: bool = True,
) -> list[Window]:
    """Cut a signal into (possibly overlapping) fixed-length windows.

    Windows start at 0, ``hop``, ``2 * hop``, ... With ``pad_last`` the last partial window is
    kept and zero-padded to the full length, so no audio is dropped; without it, trailing
    samples that do not fill a whole window are dropped. A signal shorter than one window
    always gives exactly one zero-padded window.

    Args:
        signal: 1-D signal.
        sample_rate: its sample rate in Hz.
        win_dur: window length in seconds.
        hop_dur: distance between window starts in seconds.
        pad_last: keep (zero-padded) the last partial window.

    Returns:
        The windows in time order. Full windows are read-only views into ``signal``.

    Raises:
        ValueError: an empty signal, or a window or hop shorter than one sample.
    """
    signal = np.asarray(signal)
    win = round(win_dur * sample_rate)
    hop = round(hop_dur * sample_rate)
    if win < 1 or hop < 1:
        raise ValueError(
            f"win_dur and hop_dur must each be at least one sample long at {sample_rate} Hz, "
            f"got {win_dur} s and {hop_dur} s"
        )
    n = signal.shape[0]
    if n == 0:
        raise ValueError("cannot cut windows from an empty signal")
    if n <= win:
        starts = [0]
    else:
        count = (n - win) // hop + 1  # full windows
        starts = [i * hop for i in range(count)]
        last_end = starts[-1] + win
        # With hop > win the gap after the last full window may reach the end: nothing to add.
        if pad_last and last_end < n and count * hop < n:
            starts.append(count * hop)
    windows = []
    for start in starts:
        stop = min(start + win, n)
        chunk = signal[start:stop]
        if chunk.shape[0] < win:
            chunk = np.pad(chunk, (0, win - chunk.shape[0]))
        else:
            chunk = chunk.view()
            chunk.flags.writeable = False
        windows.append(Window(start=start / sample_rate, end=stop / sample_rate, signal=chunk))
    return windows
