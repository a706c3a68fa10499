"""A generated corpus of awkward and broken audio files (issue 7: "bad input, measured").

``write_bad_audio_corpus(folder)`` writes one file per case and returns the cases. Each case
says whether the file is usable audio (``ok``) or which :class:`~ser_core.errors.AudioInputError`
``reason`` it must be rejected with. The CLI, the reader and the app tests all run over it.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from ser_core.app_support.samples import synthetic_vowel

RATE = 16000


@dataclass(frozen=True)
class BadAudioCase:
    """One file of the corpus.

    Attributes:
        name: file name (some hold spaces, unicode or a backslash on purpose).
        reason: the ``AudioInputError.reason`` expected, or ``None`` when the file is valid.
        write: writes the file to the path it is given.
    """

    name: str
    reason: str | None
    write: Callable[[Path], None]

    @property
    def ok(self) -> bool:
        return self.reason is None


def _voice(seconds: float, rate: int = RATE, channels: int = 1) -> np.ndarray:
    """A speech-like vowel (pitch contour, formants) at ``rate``, ``channels`` columns."""
    base = synthetic_vowel(seconds)  # 16 kHz
    if rate != RATE:
        from ser_core.audio import resample

        base = resample(base, RATE, rate)
    if channels == 1:
        return base
    # Channels differ (gain and a small delay), as a real multichannel recording does.
    return np.stack([np.roll(base, 7 * c) * (1.0 - 0.1 * c) for c in range(channels)], axis=1)


def _sf(signal: np.ndarray, rate: int = RATE, subtype: str = "PCM_16", **kw: str) -> Callable:
    def write(path: Path) -> None:
        sf.write(path, signal, rate, subtype=subtype, **kw)

    return write


def _bytes(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def png_bytes() -> bytes:
    """A valid 2x2 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def wav_bytes(signal: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, signal, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _float_with(value: float) -> Callable[[Path], None]:
    signal = _voice(1.0).astype(np.float32)
    signal[1000:1010] = value
    return _sf(signal, subtype="FLOAT")


def _av(codec: str, container: str, seconds: float = 2.0) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        signal = (_voice(seconds) * 32767).astype(np.int16)
        with av.open(str(path), "w", format=container) as out:
            stream = out.add_stream(codec, rate=RATE, layout="mono")
            frame = av.AudioFrame.from_ndarray(signal[None, :], format="s16", layout="mono")
            frame.rate = RATE
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)

    return write


def _one_hour(path: Path) -> None:
    # 1 h of 8 kHz PCM (57.6 MB), written in blocks so the test does not hold it in memory.
    block = (_voice(10.0, rate=8000) * 0.5).astype(np.float32)
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as out:
        for _ in range(360):
            out.write(block)


CASES: tuple[BadAudioCase, ...] = (
    BadAudioCase("empty.wav", "empty", _bytes(b"")),
    BadAudioCase("zero-samples.wav", "empty", _bytes(wav_bytes(np.zeros(0, np.float32)))),
    BadAudioCase("truncated-header.wav", "not_audio", _bytes(wav_bytes(_voice(1.0))[:30])),
    BadAudioCase("picture.wav", "not_audio", _bytes(png_bytes())),
    BadAudioCase("notes.wav", "not_audio", _bytes(b"These are my meeting notes.\n" * 20)),
    BadAudioCase("silence.wav", "silent", _sf(np.zeros(2 * RATE, np.float32))),
    BadAudioCase("dc-offset.wav", "silent", _sf(np.full(2 * RATE, 0.3, np.float32))),
    BadAudioCase("nan.wav", "non_finite", _float_with(float("nan"))),
    BadAudioCase("inf.wav", "non_finite", _float_with(float("inf"))),
    BadAudioCase("short-0.1s.wav", "too_short", _sf(_voice(0.1))),
    BadAudioCase("one-hour.wav", "too_long", _one_hour),
    BadAudioCase("rate-8k.wav", None, _sf(_voice(2.0, 8000), 8000)),
    BadAudioCase("rate-96k.wav", None, _sf(_voice(2.0, 96000), 96000)),
    BadAudioCase("pcm-24.wav", None, _sf(_voice(2.0), subtype="PCM_24")),
    BadAudioCase("float-32.wav", None, _sf(_voice(2.0).astype(np.float32), subtype="FLOAT")),
    BadAudioCase("six-channels.wav", None, _sf(_voice(2.0, channels=6))),
    BadAudioCase("clip.mp3", None, _av("libmp3lame", "mp3")),
    BadAudioCase("clip.ogg", None, _sf(_voice(2.0), subtype="VORBIS", format="OGG")),
    BadAudioCase("clip.flac", None, _sf(_voice(2.0), format="FLAC")),
    BadAudioCase("clip.aiff", None, _sf(_voice(2.0), format="AIFF")),
    BadAudioCase("my clip (take 2).wav", None, _sf(_voice(2.0))),
    BadAudioCase("émotion_日本語_😀.wav", None, _sf(_voice(2.0))),
    BadAudioCase("back\\slash.wav", None, _sf(_voice(2.0))),
)


def write_bad_audio_corpus(folder: Path) -> dict[str, tuple[Path, BadAudioCase]]:
    """Write every case into ``folder``; returns ``{name: (path, case)}``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for case in CASES:
        path = folder / case.name
        case.write(path)
        written[case.name] = (path, case)
    return written
