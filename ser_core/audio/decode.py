"""Opening sources and decoding them: libsndfile first, FFmpeg (PyAV) as the fallback.

Holds :func:`audio_info` (header only) and the private decoders :func:`read_audio` builds on.
The file extension is never trusted, and nothing is written to temporary files.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from typing import IO, Any

import av
import numpy as np
import soundfile as sf

from ser_core.audio.base import (
    TARGET_SAMPLE_RATE,
    AudioInfo,
    AudioLimits,
    _check_rate,
    _empty,
    _not_audio,
    _too_long,
)
from ser_core.errors import AudioInputError

# --------------------------------------------------------------------------------------------
# Opening sources
# --------------------------------------------------------------------------------------------


def _source_name(source: object) -> str:
    name = getattr(source, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return os.fspath(name)  # type: ignore[return-value]
    return "<file>"


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


def _open_av(opened: _Opened) -> Any:
    """The FFmpeg container of ``opened``; what FFmpeg cannot open is a :class:`_DecodeError`."""
    try:
        return av.open(opened.target(), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise _DecodeError(str(exc)) from exc


def _decode_av(opened: _Opened, limits: AudioLimits | None) -> tuple[np.ndarray, int]:
    with _open_av(opened) as container:
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
    with _open_av(opened) as container:
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
