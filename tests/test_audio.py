"""Tests of ``ser_core.audio``. Every signal is generated here, into temporary folders."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from bad_audio import png_bytes, wav_bytes

from ser_core.audio import (
    TARGET_SAMPLE_RATE,
    AudioClip,
    AudioClippingWarning,
    AudioLimits,
    audio_info,
    frame_windows,
    normalize_loudness,
    normalize_peak,
    pad_or_crop,
    read_audio,
    resample,
    speech_bounds,
    trim_silence,
)
from ser_core.errors import AudioInputError

SR = TARGET_SAMPLE_RATE


def tone(freq: float, duration: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(duration * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(signal: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin, zero-padded to a 0.25 Hz grid."""
    n = 4 * rate
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.shape[0]), n=n))
    return float(np.fft.rfftfreq(n, 1 / rate)[np.argmax(spectrum)])


def rms_dbfs(signal: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.asarray(signal, dtype=np.float64) ** 2)))


def write_with_av(path: Path, signal: np.ndarray, rate: int, codec: str, container: str) -> None:
    """Encode (channels, n) float samples with FFmpeg; skip the test if the encoder is missing."""
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        pytest.skip(f"FFmpeg in this PyAV build has no {codec} encoder")
    layout = "mono" if signal.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(signal, dtype=np.float32), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


class FakeUpload(io.BytesIO):
    """Like Streamlit's ``UploadedFile``: a BytesIO with a ``name``."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


class PipeLike:
    """A binary stream that cannot seek (a pipe, an HTTP response)."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)

    def seekable(self) -> bool:
        return False


def expect_error(reason: str, *args: object, **kwargs: object) -> AudioInputError:
    with pytest.raises(AudioInputError) as info:
        read_audio(*args, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason == reason, str(info.value)
    assert str(info.value)  # a message a person can read
    return info.value


# --------------------------------------------------------------------------------------------
# Format round trips
# --------------------------------------------------------------------------------------------

# (format, subtype, extension, rate, lossless)
FORMATS = [
    ("WAV", "PCM_16", "wav", 44100, True),
    ("WAV", "PCM_24", "wav", 44100, True),
    ("WAV", "FLOAT", "wav", 44100, True),
    ("FLAC", "PCM_16", "flac", 44100, True),
    ("OGG", "VORBIS", "ogg", 44100, False),
    ("OGG", "OPUS", "opus", 48000, False),  # Opus only runs at 8/12/16/24/48 kHz
    ("MP3", "MPEG_LAYER_III", "mp3", 44100, False),
    ("AIFF", "PCM_16", "aiff", 44100, True),
]


@pytest.fixture(scope="module")
def format_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    files = {}
    for fmt, subtype, ext, rate, _ in FORMATS:
        if subtype not in sf.available_subtypes(fmt):
            continue
        path = folder / f"tone_{subtype.lower()}.{ext}"
        sf.write(path, tone(440, 1.0, rate), rate, format=fmt, subtype=subtype)
        files[subtype] = path
    return files


@pytest.mark.parametrize(("fmt", "subtype", "ext", "rate", "lossless"), FORMATS)
@pytest.mark.parametrize("kind", ["path", "str", "bytes", "bytesio"])
def test_format_round_trip(
    format_files: dict[str, Path],
    fmt: str,
    subtype: str,
    ext: str,
    rate: int,
    lossless: bool,
    kind: str,
) -> None:
    if subtype not in format_files:
        pytest.skip(f"libsndfile here cannot write {fmt}/{subtype}")
    path = format_files[subtype]
    source: object = {
        "path": path,
        "str": str(path),
        "bytes": path.read_bytes(),
        "bytesio": FakeUpload(path.read_bytes(), path.name),
    }[kind]
    clip = read_audio(source)  # type: ignore[arg-type]
    assert isinstance(clip, AudioClip)
    assert clip.signal.dtype == np.float32
    assert clip.signal.ndim == 1
    assert clip.sample_rate == SR
    assert clip.original_sample_rate == rate
    assert clip.original_channels == 1
    assert clip.duration == pytest.approx(1.0, abs=0.001 if lossless else 0.06)
    assert peak_frequency(clip.signal, SR) == pytest.approx(440, abs=2)
    expected_source = {"bytes": "<bytes>", "bytesio": path.name}.get(kind, str(path))
    assert clip.source == expected_source


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT", "FLAC"])
def test_lossless_samples_survive(tmp_path: Path, subtype: str) -> None:
    signal = tone(440, 0.5, SR, amp=0.7)
    path = tmp_path / "x.flac" if subtype == "FLAC" else tmp_path / "x.wav"
    sf.write(path, signal, SR, subtype="PCM_16" if subtype == "FLAC" else subtype)
    clip = read_audio(path)
    tolerance = {"PCM_24": 1e-6, "FLOAT": 0.0}.get(subtype, 1 / 32768)
    np.testing.assert_allclose(clip.signal, signal, atol=tolerance)


def test_extension_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "actually_flac.wav"
    sf.write(path, tone(440, 0.5, SR), SR, format="FLAC")
    assert read_audio(path).duration == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("codec", "container", "ext"),
    [("aac", "ipod", "m4a"), ("libopus", "webm", "webm")],  # what phones / browsers record
)
def test_ffmpeg_fallback(tmp_path: Path, codec: str, container: str, ext: str) -> None:
    path = tmp_path / f"clip.{ext}"
    stereo = np.stack([tone(440, 1.0, 48000), tone(440, 1.0, 48000)])
    write_with_av(path, stereo, 48000, codec, container)
    with pytest.raises(sf.LibsndfileError):  # proves the fallback is what reads it
        sf.info(path)
    for source in (path, path.read_bytes(), FakeUpload(path.read_bytes(), path.name)):
        clip = read_audio(source)  # type: ignore[arg-type]
        assert clip.sample_rate == SR
        assert clip.original_sample_rate == 48000
        assert clip.original_channels == 2
        assert clip.duration == pytest.approx(1.0, abs=0.06)  # encoder priming/padding
        assert peak_frequency(clip.signal, SR) == pytest.approx(440, abs=2)
    info = audio_info(path)
    assert (info.sample_rate, info.channels) == (48000, 2)
    assert info.duration == pytest.approx(1.0, abs=0.06)
    expect_error("too_long", path, limits=AudioLimits(max_duration=0.5))


# --------------------------------------------------------------------------------------------
# File objects and arrays
# --------------------------------------------------------------------------------------------


def test_upload_can_be_read_twice() -> None:
    upload = FakeUpload(wav_bytes(tone(440, 0.5, SR)), "recording.wav")
    first = read_audio(upload)
    assert upload.tell() == 0  # rewound: Streamlit reruns read the same object again
    second = read_audio(upload)
    np.testing.assert_array_equal(first.signal, second.signal)
    assert first.source == "recording.wav"


def test_unseekable_and_offset_file_objects() -> None:
    data = wav_bytes(tone(440, 0.5, SR))
    assert read_audio(PipeLike(data)).source == "<file>"  # type: ignore[arg-type]
    assert read_audio(bytearray(data)).duration == pytest.approx(0.5)
    prefixed = io.BytesIO(b"junk" + data)
    prefixed.seek(4)
    assert read_audio(prefixed).duration == pytest.approx(0.5)
    assert prefixed.tell() == 4


def test_int_arrays_are_scaled() -> None:
    signal = tone(440, 0.5, SR, amp=0.5)
    as_int16 = np.round(signal * 32767).astype(np.int16)
    np.testing.assert_allclose(read_audio(as_int16, SR).signal, signal, atol=1e-4)
    as_int32 = np.round(signal.astype(np.float64) * 2**31).astype(np.int32)
    np.testing.assert_allclose(read_audio(as_int32, SR).signal, signal, atol=1e-6)
    as_uint8 = np.round(signal * 127 + 128).astype(np.uint8)
    np.testing.assert_allclose(read_audio(as_uint8, SR).signal, signal, atol=1e-2)
    full_scale = np.array([-32768, 0, 32767] * 4000, dtype=np.int16)
    with pytest.warns(AudioClippingWarning):
        assert read_audio(full_scale, SR).signal.min() == -1.0


def test_array_layouts_and_copy() -> None:
    left, right = tone(440, 0.5, SR), tone(1000, 0.5, SR, amp=0.25)
    expected = (left + right) / 2
    frames_first = np.stack([left, right], axis=1)  # (n, 2), soundfile's layout
    channels_first = np.stack([left, right])  # (2, n), librosa's layout
    for array in (frames_first, channels_first, channels_first.astype(np.float64)):
        clip = read_audio(array, SR)
        assert clip.original_channels == 2
        np.testing.assert_allclose(clip.signal, expected, atol=1e-6)
    mono = tone(440, 0.5, SR)
    clip = read_audio(mono, SR)
    clip.signal[:] = 0
    assert mono.any()  # the clip never shares the caller's memory
    assert read_audio(mono, sample_rate=8000).duration == pytest.approx(1.0)


def test_array_errors() -> None:
    signal = tone(440, 0.5, SR)
    expect_error("bad_sample_rate", signal)  # no sample rate
    expect_error("bad_sample_rate", signal, 500)
    expect_error("bad_sample_rate", signal, 1_000_000)
    expect_error("bad_shape", np.zeros((2, 3, 8000), dtype=np.float32), SR)
    expect_error("bad_shape", np.ones((40, 40), dtype=np.float32), SR)
    expect_error("bad_shape", signal.astype(np.complex64), SR)
    expect_error("empty", np.zeros(0, dtype=np.float32), SR)
    expect_error("empty", np.zeros((0, 2), dtype=np.float32), SR)
    with pytest.raises(TypeError, match="target_rate"):
        read_audio(wav_bytes(signal), 16000)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        read_audio(12345)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Resampling and downmixing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("duration", [1.0, 1.2345])
def test_resampling_keeps_pitch_and_length(tmp_path: Path, rate: int, duration: float) -> None:
    path = tmp_path / "tone.wav"
    sf.write(path, tone(440, duration, rate), rate, subtype="FLOAT")
    clip = read_audio(path)
    assert clip.original_sample_rate == rate
    assert abs(clip.signal.shape[0] - round(duration * SR)) <= 1
    assert peak_frequency(clip.signal, SR) == pytest.approx(440, abs=2)
    # Level kept (no gain change) and no aliasing junk: compare with an ideal 16 kHz tone.
    middle = slice(SR // 10, -SR // 10)  # ignore the filter's edge effects
    np.testing.assert_allclose(clip.signal[middle], tone(440, duration, SR)[middle], atol=2e-3)


def test_resample_function() -> None:
    signal = tone(3000, 1.0, 48000)
    out = resample(signal, 48000, SR)
    assert out.dtype == np.float32
    assert out.shape == (SR,)
    assert peak_frequency(out, SR) == pytest.approx(3000, abs=2)
    # Above the new Nyquist frequency: filtered out rather than aliased to 16000 - 10000 Hz.
    assert np.max(np.abs(resample(tone(10000, 1.0, 48000), 48000, SR)[1000:-1000])) < 1e-3
    assert resample(signal, 48000, 48000) is signal
    stereo = np.stack([signal, signal], axis=1)
    assert resample(stereo, 48000, SR).shape == (SR, 2)
    with pytest.raises(AudioInputError) as info:
        resample(signal, 100, SR)
    assert info.value.reason == "bad_sample_rate"


def test_target_rate() -> None:
    clip = read_audio(tone(440, 1.0, 44100), 44100, target_rate=22050)
    assert clip.sample_rate == 22050
    assert clip.signal.shape == (22050,)
    expect_error("bad_sample_rate", tone(440, 1.0, SR), SR, target_rate=10)


def test_stereo_downmix_is_the_average(tmp_path: Path) -> None:
    left, right = tone(440, 1.0, SR), tone(1000, 1.0, SR, amp=0.3)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    clip = read_audio(path)
    assert clip.original_channels == 2
    np.testing.assert_allclose(clip.signal, (left + right) / 2, atol=1e-7)


def test_six_channel_downmix(tmp_path: Path) -> None:
    channels = [tone(200 * (i + 1), 1.0, 48000, amp=0.1 * (i + 1)) for i in range(6)]
    path = tmp_path / "surround.wav"
    sf.write(path, np.stack(channels, axis=1), 48000, subtype="FLOAT")
    clip = read_audio(path)
    assert clip.original_channels == 6
    assert audio_info(path).channels == 6
    expected = resample(np.mean(channels, axis=0), 48000, SR)
    np.testing.assert_allclose(clip.signal, expected, atol=1e-6)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    expect_error("not_found", tmp_path / "nope.wav")
    expect_error("not_found", tmp_path)  # a folder
    with pytest.raises(AudioInputError) as info:
        audio_info(tmp_path / "nope.wav")
    assert info.value.reason == "not_found"


def test_empty_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    expect_error("empty", empty)
    expect_error("empty", b"")
    expect_error("empty", FakeUpload(b"", "empty.wav"))
    expect_error("empty", PipeLike(b""))
    no_samples = tmp_path / "no_samples.wav"
    sf.write(no_samples, np.zeros(0, dtype=np.float32), SR, subtype="PCM_16")
    assert no_samples.stat().st_size > 0  # a header and nothing else
    expect_error("empty", no_samples)
    expect_error("empty", no_samples, validate=False)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda: wav_bytes(tone(440, 1.0, SR))[:30], id="truncated_header"),
        pytest.param(png_bytes, id="png"),
        pytest.param(lambda: b"This is a text file, not audio.\n" * 20, id="text"),
        pytest.param(lambda: bytes(range(256)) * 40, id="random_bytes"),
    ],
)
def test_not_audio(tmp_path: Path, content: Callable[[], bytes]) -> None:
    path = tmp_path / "fake.wav"
    path.write_bytes(content())
    error = expect_error("not_audio", path)
    assert "WAV" in str(error)  # lists the supported formats
    assert "fake.wav" in str(error)
    expect_error("not_audio", path.read_bytes())
    with pytest.raises(AudioInputError) as info:
        audio_info(path)
    assert info.value.reason == "not_audio"


@pytest.mark.parametrize(
    "signal",
    [
        pytest.param(np.zeros(SR, dtype=np.float32), id="zeros"),
        pytest.param(np.full(SR, 0.5, dtype=np.float32), id="dc_offset"),
        pytest.param(np.full(SR, 0.3, dtype=np.float32) + tone(440, 1.0, SR, 1e-4), id="dc_hum"),
        pytest.param(tone(440, 1.0, SR, amp=10 ** (-65 / 20)), id="very_quiet"),
        # Peak -40 dBFS but RMS -82 dBFS: a faint click in an otherwise silent file.
        pytest.param(np.eye(1, SR, SR // 2, dtype=np.float32)[0] * 0.01, id="faint_click"),
    ],
)
def test_silence(signal: np.ndarray) -> None:
    error = expect_error("silent", wav_bytes(signal, subtype="FLOAT"))
    assert "dBFS" in str(error)
    assert read_audio(signal, SR, validate=False).duration == pytest.approx(1.0)


def test_quiet_speech_level_is_not_silent() -> None:
    clip = read_audio(tone(440, 1.0, SR, amp=10 ** (-45 / 20)), SR)
    assert clip.duration == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite(tmp_path: Path, bad: float) -> None:
    signal = tone(440, 1.0, SR)
    signal[100] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, signal, SR, subtype="FLOAT")
    expect_error("non_finite", path)
    expect_error("non_finite", path, validate=False)
    expect_error("non_finite", signal, SR)


def test_too_short(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(path, tone(440, 0.1, SR), SR)
    error = expect_error("too_short", path)
    assert "0.25" in str(error)
    assert read_audio(path, validate=False).duration == pytest.approx(0.1)
    assert read_audio(path, limits=AudioLimits(min_duration=0.05)).duration == pytest.approx(0.1)


def test_too_long_is_rejected_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, tone(440, 5.0, 8000), 8000, subtype="PCM_16")
    reads: list[object] = []
    original_read = sf.SoundFile.read

    def spy(self: sf.SoundFile, *args: object, **kwargs: object) -> np.ndarray:
        reads.append(args)
        return original_read(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    error = expect_error("too_long", path, limits=AudioLimits(max_duration=2.0))
    assert "5.0 s" in str(error)
    assert reads == []  # the header alone decided
    assert read_audio(path, limits=AudioLimits(max_duration=2.0), validate=False).duration == 5.0
    expect_error("too_long", tone(440, 5.0, 8000), 8000, limits=AudioLimits(max_duration=2.0))


def test_default_limits() -> None:
    limits = AudioLimits()
    assert (limits.min_duration, limits.max_duration) == (0.25, 600.0)
    assert (limits.silence_dbfs, limits.clip_level) == (-60.0, 0.999)
    with pytest.raises(ValueError, match="min_duration"):
        AudioLimits(min_duration=5.0, max_duration=1.0)


def test_clipping_warning() -> None:
    clipped = np.clip(tone(440, 1.0, SR, amp=1.5), -1.0, 1.0)
    with pytest.warns(AudioClippingWarning, match="clipped"):
        clip = read_audio(wav_bytes(clipped, subtype="FLOAT"))
    assert clip.clipped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not read_audio(tone(440, 1.0, SR, amp=0.9), SR).clipped
        one_sample = tone(440, 1.0, SR, amp=0.5)
        one_sample[10] = 1.0  # a single full-scale sample is below 0.1 %
        assert not read_audio(one_sample, SR).clipped


# --------------------------------------------------------------------------------------------
# audio_info
# --------------------------------------------------------------------------------------------


def test_audio_info(tmp_path: Path) -> None:
    path = tmp_path / "info.flac"
    sf.write(path, np.zeros((22050 * 3, 2), dtype=np.float32), 22050, format="FLAC")
    for source in (path, path.read_bytes(), FakeUpload(path.read_bytes(), "info.flac")):
        info = audio_info(source)  # type: ignore[arg-type]
        assert (info.sample_rate, info.channels, info.frames) == (22050, 2, 22050 * 3)
        assert info.duration == pytest.approx(3.0)
        assert info.format == "FLAC"
    expect_info_empty = FakeUpload(b"", "x.wav")
    with pytest.raises(AudioInputError) as error:
        audio_info(expect_info_empty)
    assert error.value.reason == "empty"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_trim_silence() -> None:
    speech = tone(440, 1.0, SR)
    floor = (1e-5 * np.random.default_rng(0).standard_normal(SR // 2)).astype(np.float32)
    signal = np.concatenate([floor, speech, floor])
    trimmed = trim_silence(signal, SR)
    assert trimmed.shape[0] == pytest.approx(SR, abs=0.03 * SR)  # within about one frame
    assert trim_silence(speech, SR).shape[0] == pytest.approx(SR, abs=0.01 * SR)
    zeros = np.zeros(SR, dtype=np.float32)
    assert trim_silence(zeros, SR) is zeros  # never empty
    short = tone(440, 0.01, SR)
    assert trim_silence(short, SR) is short
    # speech_bounds gives the trimmed part's place in the clip
    start, stop = speech_bounds(signal, SR)
    np.testing.assert_array_equal(signal[start:stop], trimmed)
    assert start == pytest.approx(SR // 2, abs=0.03 * SR)
    assert speech_bounds(zeros, SR) == (0, SR)


def test_normalize_peak() -> None:
    signal = tone(440, 0.5, SR, amp=0.1)
    out = normalize_peak(signal)
    assert np.max(np.abs(out)) == pytest.approx(10 ** (-1 / 20), rel=1e-5)
    assert out.dtype == np.float32
    assert np.max(np.abs(normalize_peak(signal, -6.0))) == pytest.approx(10 ** (-6 / 20), rel=1e-5)
    capped = normalize_peak(tone(440, 0.5, SR, amp=1e-4), max_gain_db=20.0)
    assert np.max(np.abs(capped)) == pytest.approx(1e-3, rel=1e-3)
    assert not normalize_peak(np.zeros(100, dtype=np.float32)).any()


def test_normalize_loudness() -> None:
    quiet = tone(440, 2.0, SR, amp=0.01)
    out = normalize_loudness(quiet, SR)
    assert rms_dbfs(out) == pytest.approx(-23.0, abs=0.1)
    # Pauses do not count: the same speech with 2 s of silence gets the same gain.
    with_pause = normalize_loudness(np.concatenate([quiet, np.zeros(2 * SR, np.float32)]), SR)
    np.testing.assert_allclose(with_pause[: 2 * SR], out, rtol=1e-5)
    # Near-silence is not blown up: gain is capped at +40 dB.
    faint = tone(440, 1.0, SR, amp=10 ** (-60 / 20))
    assert rms_dbfs(normalize_loudness(faint, SR)) == pytest.approx(rms_dbfs(faint) + 40, abs=0.1)
    # The peak never goes past full scale.
    assert np.max(np.abs(normalize_loudness(quiet, SR, target_dbfs=-1.0))) <= 1.0
    assert not normalize_loudness(np.zeros(SR, dtype=np.float32), SR).any()


def test_pad_or_crop() -> None:
    signal = np.arange(1, 11, dtype=np.float32)
    np.testing.assert_array_equal(pad_or_crop(signal, 4), [4, 5, 6, 7])
    np.testing.assert_array_equal(pad_or_crop(signal, 4, mode="start"), [1, 2, 3, 4])
    np.testing.assert_array_equal(pad_or_crop(signal, 4, mode="end"), [7, 8, 9, 10])
    np.testing.assert_array_equal(pad_or_crop(signal[:3], 6), [0, 1, 2, 3, 0, 0])
    np.testing.assert_array_equal(pad_or_crop(signal[:3], 5, mode="start"), [1, 2, 3, 0, 0])
    np.testing.assert_array_equal(pad_or_crop(signal[:3], 5, mode="end"), [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(
        pad_or_crop(signal[:3], 7, mode="start", pad_mode="reflect"), [1, 2, 3, 2, 1, 2, 3]
    )
    assert pad_or_crop(signal, 10) is signal
    assert pad_or_crop(signal, 0).shape == (0,)
    crops = {tuple(pad_or_crop(signal, 4, mode="random", rng=seed)) for seed in range(50)}
    assert len(crops) > 3
    assert all(crop in {tuple(signal[i : i + 4]) for i in range(7)} for crop in crops)
    assert np.array_equal(
        pad_or_crop(signal, 4, mode="random", rng=7), pad_or_crop(signal, 4, mode="random", rng=7)
    )
    padded = pad_or_crop(signal[:3], 8, mode="random", rng=np.random.default_rng(1))
    assert padded.shape == (8,)
    assert np.count_nonzero(padded) == 3
    with pytest.raises(ValueError, match="length"):
        pad_or_crop(signal, -1)
    with pytest.raises(ValueError, match="mode"):
        pad_or_crop(signal, 4, mode="middle")  # type: ignore[arg-type]


def test_frame_windows_exact_fit() -> None:
    signal = tone(440, 2.5, SR)
    windows = frame_windows(signal, SR, 1.0, 0.5)
    assert [(w.start, w.end) for w in windows] == [(0, 1), (0.5, 1.5), (1, 2), (1.5, 2.5)]
    assert all(w.signal.shape == (SR,) for w in windows)
    np.testing.assert_array_equal(windows[1].signal, signal[SR // 2 : SR // 2 + SR])
    assert not windows[0].signal.flags.writeable  # views: cannot corrupt the source


def test_frame_windows_partial_last() -> None:
    signal = tone(440, 2.3, SR)
    windows = frame_windows(signal, SR, 1.0, 0.5)
    assert [w.start for w in windows] == [0.0, 0.5, 1.0, 1.5]
    last = windows[-1]
    assert last.end == pytest.approx(2.3)
    assert last.signal.shape == (SR,)  # zero-padded
    np.testing.assert_array_equal(last.signal[: int(0.8 * SR)], signal[int(1.5 * SR) :])
    assert not last.signal[int(0.8 * SR) :].any()
    # Every sample is in some window.
    assert windows[0].start == 0
    assert windows[-1].end == pytest.approx(signal.shape[0] / SR)
    dropped = frame_windows(signal, SR, 1.0, 0.5, pad_last=False)
    assert [w.start for w in dropped] == [0.0, 0.5, 1.0]


def test_frame_windows_short_and_errors() -> None:
    short = tone(440, 0.3, SR)
    for pad_last in (True, False):
        (only,) = frame_windows(short, SR, 1.0, 0.5, pad_last=pad_last)
        assert (only.start, only.end) == (0.0, pytest.approx(0.3))
        assert only.signal.shape == (SR,)
    gaps = frame_windows(np.ones(100, dtype=np.float32), 100, 0.1, 0.5)
    assert [w.start for w in gaps] == [0.0, 0.5]  # hop > window: nothing past the end
    with pytest.raises(ValueError, match="empty"):
        frame_windows(np.zeros(0, dtype=np.float32), SR, 1.0, 0.5)
    with pytest.raises(ValueError, match="sample"):
        frame_windows(short, SR, 1.0, 0.0)
