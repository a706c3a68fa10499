"""Feature extraction: shapes, values, names, time axes, batching and config handling.

All audio is synthetic (tones and seeded noise); nothing reads a corpus.
"""

from __future__ import annotations

import dataclasses
import json

import librosa
import numpy as np
import pytest

from ser_core.errors import AudioInputError
from ser_core.features import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    EGeMAPSConfig,
    FeatureConfig,
    LogMelConfig,
    MFCCConfig,
    MFCCStatsConfig,
    SpectrogramImageConfig,
    WaveformConfig,
    config_from_dict,
    extract,
    extract_batch,
    feature_names,
    frame_times,
    frames_to_seconds,
    get_smile,
    num_frames,
    pad_batch,
)

SR = 16000


def tone(freq: float, seconds: float, amp: float = 0.5, noise: float = 0.01, seed: int = 0):
    """A sine tone plus a little seeded white noise, float32 at 16 kHz."""
    t = np.arange(round(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    x = amp * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(t.size)
    return x.astype(np.float32)


def voice(seconds: float, f0: float = 150.0, seed: int = 0) -> np.ndarray:
    """A crude voiced sound: harmonics of a gliding f0 with a decaying spectrum (for openSMILE)."""
    t = np.arange(round(seconds * SR)) / SR
    f = f0 * (1 + 0.1 * np.sin(2 * np.pi * 2 * t))
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 20))
    x = 0.3 * x / np.abs(x).max()
    x += 0.005 * np.random.default_rng(seed).standard_normal(t.size)
    return x.astype(np.float32)


ALL_CONFIGS: list[FeatureConfig] = [
    LogMelConfig(),
    MFCCConfig(),
    SpectrogramImageConfig(),
    EGeMAPSConfig(),
    MFCCStatsConfig(),
    WaveformConfig(),
]


# ---------------------------------------------------------------- log-mel


@pytest.mark.parametrize("seconds", [1.0, 3.0])
def test_logmel_shape_and_values(seconds: float) -> None:
    x = tone(440, seconds)
    out = extract(LogMelConfig(), x)
    assert out.shape == (64, 1 + len(x) // 160)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    # dB relative to 1.0 with an 80 dB floor below the maximum.
    assert out.max() - out.min() <= 80.0 + 1e-3


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0])
def test_logmel_tone_lands_in_its_mel_band(freq: float) -> None:
    config = LogMelConfig(n_mels=64)
    out = extract(config, tone(freq, 1.0, noise=0.0))
    centres = librosa.mel_frequencies(config.n_mels + 2, fmin=config.fmin, fmax=config.fmax)[1:-1]
    expected = int(np.argmin(np.abs(centres - freq)))
    assert abs(int(np.argmax(out.mean(axis=1))) - expected) <= 1


def test_logmel_n_mels_128_and_natural_log() -> None:
    out = extract(LogMelConfig(n_mels=128, log="log"), tone(440, 1.0))
    assert out.shape == (128, 101)
    assert np.isfinite(out).all()


def test_logmel_normalisation() -> None:
    x = tone(440, 1.0)
    utt = extract(LogMelConfig(normalize="utterance"), x)
    assert abs(float(utt.mean())) < 1e-4
    assert float(utt.std()) == pytest.approx(1.0, abs=1e-3)
    band = extract(LogMelConfig(normalize="band"), x)
    np.testing.assert_allclose(band.mean(axis=1), 0.0, atol=1e-4)


# ---------------------------------------------------------------- MFCC


@pytest.mark.parametrize(
    ("config", "rows"),
    [
        (MFCCConfig(), 120),
        (MFCCConfig(deltas=False), 40),
        (MFCCConfig(n_mfcc=13), 39),
    ],
)
def test_mfcc_rows(config: MFCCConfig, rows: int) -> None:
    x = tone(220, 3.0)
    out = extract(config, x)
    assert out.shape == (rows, 1 + len(x) // 160) == (config.n_rows, num_frames(config, len(x)))
    assert out.dtype == np.float32
    assert np.isfinite(out).all()


def test_mfcc_delta_rows_are_deltas_of_the_static_rows() -> None:
    out = extract(MFCCConfig(), voice(1.0))
    static, d1, d2 = out[:40], out[40:80], out[80:]
    np.testing.assert_allclose(d1, librosa.feature.delta(static, width=9), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        d2, librosa.feature.delta(static, width=9, order=2), rtol=1e-4, atol=1e-4
    )
    assert not np.allclose(d1, 0.0)


def test_mfcc_cmvn() -> None:
    out = extract(MFCCConfig(cmvn=True), voice(1.0))
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-4)


@pytest.mark.filterwarnings("ignore:n_fft=512 is too large")  # librosa; we zero-pad
@pytest.mark.parametrize("n_samples", [100, 400, 1000])
def test_mfcc_short_signals_get_deltas_too(n_samples: int) -> None:
    out = extract(MFCCConfig(), tone(440, n_samples / SR))
    assert out.shape == (120, 1 + n_samples // 160)
    assert np.isfinite(out).all()


# ---------------------------------------------------------------- images


@pytest.mark.parametrize("seconds", [1.0, 3.0])
def test_image_shape_and_imagenet_normalisation(seconds: float) -> None:
    out = extract(SpectrogramImageConfig(), tone(440, seconds))
    assert out.shape == (3, 224, 224)
    assert out.dtype == np.float32
    mean = np.asarray(IMAGENET_MEAN)[:, None, None]
    std = np.asarray(IMAGENET_STD)[:, None, None]
    unit = out * std + mean  # undo the normalisation: back to [0, 1]
    assert unit.min() >= -1e-5
    assert unit.max() <= 1 + 1e-5
    assert unit.max() > 0.95  # the loudest bin maps to 1 (bilinear resizing smooths it)
    # "replicate": the same picture in R, G and B.
    np.testing.assert_allclose(unit[0], unit[1], atol=1e-5)
    np.testing.assert_allclose(unit[0], unit[2], atol=1e-5)


def test_image_without_norm_and_with_delta_channels() -> None:
    plain = extract(SpectrogramImageConfig(imagenet_norm=False, height=128, width=96), voice(1.0))
    assert plain.shape == (3, 128, 96)
    assert plain.min() >= 0.0
    assert plain.max() <= 1.0
    rich = extract(SpectrogramImageConfig(channels="deltas", imagenet_norm=False), voice(1.0))
    assert rich.shape == (3, 224, 224)
    assert not np.allclose(rich[0], rich[1])
    np.testing.assert_allclose(
        rich[0], extract(SpectrogramImageConfig(imagenet_norm=False), voice(1.0))[0]
    )


def test_image_pad_mode_keeps_a_fixed_time_scale() -> None:
    config = SpectrogramImageConfig(fit="pad", duration=2.0, imagenet_norm=False)
    short = extract(config, tone(440, 1.0, noise=0.0))
    # 1 s of a 2 s canvas: the right half is padding (0 = silence).
    assert np.all(short[:, :, 120:] == 0.0)
    assert short[:, :, :100].max() > 0.5
    # Cropping: a longer clip fills the whole canvas.
    long = extract(config, tone(440, 3.0, noise=0.0))
    assert long[:, :, -5:].max() > 0.5
    times = frame_times(config, 224)
    assert times[0] == pytest.approx(0.0, abs=0.01)
    assert times[-1] == pytest.approx(2.0, abs=0.02)


# ---------------------------------------------------------------- eGeMAPS and MFCC statistics


def test_egemaps_functionals_are_88_named_values() -> None:
    config = EGeMAPSConfig()
    out = extract(config, voice(1.5))
    names = feature_names(config)
    assert out.shape == (88,)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert len(names) == len(set(names)) == 88
    assert names[0].startswith("F0semitoneFrom27.5Hz")
    # The Smile object is created once per process.
    assert get_smile() is get_smile("eGeMAPSv02", "functionals")


def test_egemaps_low_level_descriptors() -> None:
    config = EGeMAPSConfig(feature_level="lld")
    out = extract(config, voice(1.0))
    assert out.shape[0] == 25 == len(feature_names(config))
    assert 90 <= out.shape[1] <= 101  # one frame every 10 ms
    times = frame_times(config, out.shape[1])
    assert np.allclose(np.diff(times), 0.01)


def test_egemaps_unknown_feature_set_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown openSMILE feature set"):
        extract(EGeMAPSConfig(feature_set="nope"), voice(1.0))


def test_mfcc_stats_vector() -> None:
    config = MFCCStatsConfig()
    x = voice(1.0)
    out = extract(config, x)
    assert out.shape == (480,) == (config.dim,)
    assert len(feature_names(config)) == 480
    assert feature_names(config)[0] == "mfcc_00_mean"
    assert feature_names(config)[120] == "mfcc_00_std"
    frames = extract(config.mfcc, x)
    np.testing.assert_allclose(out[:120], frames.mean(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[360:], frames.max(axis=1), rtol=1e-5, atol=1e-5)
    small = MFCCStatsConfig(mfcc=MFCCConfig(n_mfcc=13, deltas=False), stats=("mean", "std"))
    assert extract(small, x).shape == (26,)


def test_mfcc_stats_refuses_cmvn() -> None:
    with pytest.raises(ValueError, match="cmvn"):
        MFCCStatsConfig(mfcc=MFCCConfig(cmvn=True))


# ---------------------------------------------------------------- waveform


def test_waveform_identity_and_fixed_length() -> None:
    x = tone(440, 1.0)
    same = extract(WaveformConfig(), x)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    padded = extract(WaveformConfig(duration=1.5), x)
    assert padded.shape == (24000,)
    assert np.all(padded[16000:] == 0.0)
    cropped = extract(WaveformConfig(duration=0.5), x)
    np.testing.assert_array_equal(cropped, x[:8000])
    normed = extract(WaveformConfig(normalize=True, duration=2.0), x)
    assert float(normed[:16000].std()) == pytest.approx(1.0, abs=1e-3)
    assert np.all(normed[16000:] == 0.0)


# ---------------------------------------------------------------- input validation


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=lambda c: c.kind)
def test_sample_rate_mismatch_raises(config: FeatureConfig) -> None:
    with pytest.raises(ValueError, match="features never resample") as info:
        extract(config, tone(440, 1.0), sample_rate=22050)
    assert isinstance(info.value, AudioInputError)
    assert info.value.reason == "bad_sample_rate"


def test_config_sample_rate_is_respected() -> None:
    x = tone(440, 1.0)[:8000]
    out = extract(LogMelConfig(sample_rate=8000, fmax=4000), x, sample_rate=8000)
    assert out.shape == (64, 1 + 8000 // 160)


@pytest.mark.parametrize(
    ("signal", "reason"),
    [
        (np.zeros((2, 1600), dtype=np.float32), "bad_shape"),
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.array([0.0, np.nan, 0.1], dtype=np.float32), "non_finite"),
        (np.zeros(1600, dtype=np.int16), "invalid"),
    ],
)
def test_unusable_signals_raise(signal: np.ndarray, reason: str) -> None:
    with pytest.raises(AudioInputError) as info:
        extract(LogMelConfig(), signal)
    assert info.value.reason == reason


def test_float64_input_is_accepted() -> None:
    x = tone(440, 1.0)
    np.testing.assert_allclose(
        extract(LogMelConfig(), x.astype(np.float64)), extract(LogMelConfig(), x), atol=1e-4
    )


def test_unknown_config_type_raises() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unregistered(FeatureConfig):
        kind = ""  # no registration

    with pytest.raises(TypeError, match="no extractor"):
        extract(Unregistered(), tone(440, 1.0))


# ---------------------------------------------------------------- batching


def test_extract_batch_and_pad_batch() -> None:
    signals = [tone(440, s) for s in (0.5, 1.0, 0.75)]
    feats = extract_batch(LogMelConfig(), signals)
    assert [f.shape[1] for f in feats] == [51, 101, 76]
    batch, lengths = pad_batch(feats)
    assert batch.shape == (3, 64, 101)
    assert batch.dtype == np.float32
    assert lengths.tolist() == [51, 101, 76]
    for item, feat, n in zip(batch, feats, lengths, strict=True):
        np.testing.assert_array_equal(item[:, :n], feat)
        assert np.all(item[:, n:] == 0.0)


def test_pad_batch_other_axis_and_value() -> None:
    batch, lengths = pad_batch([np.ones((2, 3)), np.ones((4, 3))], axis=0, pad_value=-1.0)
    assert batch.shape == (2, 4, 3)
    assert lengths.tolist() == [2, 4]
    assert np.all(batch[0, 2:] == -1.0)
    waves, wave_lengths = pad_batch([np.ones(5), np.ones(3)])
    assert waves.shape == (2, 5)
    assert wave_lengths.tolist() == [5, 3]


def test_pad_batch_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="agree"):
        pad_batch([np.ones((64, 10)), np.ones((40, 10))])
    with pytest.raises(ValueError, match="at least one"):
        pad_batch([])


# ---------------------------------------------------------------- names and time axes


def test_feature_names_of_spectrograms() -> None:
    assert feature_names(LogMelConfig(n_mels=8)) == [f"mel_{i:03d}" for i in range(8)]
    names = feature_names(MFCCConfig(n_mfcc=13))
    assert names[0] == "mfcc_00"
    assert names[13] == "mfcc_d1_00"
    assert names[-1] == "mfcc_d2_12"
    for config in (SpectrogramImageConfig(), WaveformConfig()):
        with pytest.raises(ValueError, match="no named"):
            feature_names(config)


def test_frames_to_seconds() -> None:
    config = LogMelConfig()
    assert frames_to_seconds(config, 100) == pytest.approx(1.0)
    np.testing.assert_allclose(frames_to_seconds(config, np.array([0, 50])), [0.0, 0.5])
    x = tone(440, 3.0)
    times = frame_times(config, extract(config, x).shape[1])
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(len(x) / SR)
    assert frames_to_seconds(WaveformConfig(), 16000) == pytest.approx(1.0)
    assert num_frames(MFCCConfig(), 48000) == 301
    assert num_frames(WaveformConfig(duration=2.0), 123) == 32000


def test_time_axis_errors() -> None:
    for config in (EGeMAPSConfig(), MFCCStatsConfig()):
        with pytest.raises(ValueError, match="without a time axis"):
            frames_to_seconds(config, 1)
    with pytest.raises(ValueError, match="duration"):
        frame_times(SpectrogramImageConfig(), 224)
    times = frame_times(SpectrogramImageConfig(), 224, duration=3.0)
    assert times[0] == pytest.approx(0.0, abs=0.01)
    assert times[-1] == pytest.approx(3.0, abs=0.02)


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=lambda c: c.kind)
def test_config_round_trip_and_cache_key(config: FeatureConfig) -> None:
    data = json.loads(json.dumps(config.to_dict()))
    assert data["kind"] == config.kind
    again = config_from_dict(data)
    assert again == config
    assert again.cache_key() == config.cache_key()
    assert len(config.cache_key()) == 16
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.sample_rate = 8000  # type: ignore[misc]


def test_cache_key_tracks_parameters() -> None:
    assert LogMelConfig().cache_key() == LogMelConfig(n_mels=64).cache_key()
    assert LogMelConfig().cache_key() != LogMelConfig(n_mels=128).cache_key()
    image = SpectrogramImageConfig()
    assert image.cache_key() != image.replace(logmel=LogMelConfig(n_mels=64)).cache_key()
    # Same parameters, different feature: different keys.
    assert LogMelConfig().to_dict() != MFCCConfig().to_dict()
    assert MFCCStatsConfig(stats=["mean"]) == MFCCStatsConfig(stats=("mean",))  # type: ignore[arg-type]


def test_config_from_dict_errors() -> None:
    with pytest.raises(ValueError, match="unknown feature kind"):
        config_from_dict({"kind": "nope"})
    with pytest.raises(ValueError, match="no parameter"):
        config_from_dict({"kind": "logmel", "n_bands": 3})


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: LogMelConfig(win_length=1024), "win_length"),
        (lambda: LogMelConfig(fmax=9000), "fmax"),
        (lambda: LogMelConfig(normalize="global"), "normalize"),
        (lambda: MFCCConfig(n_mfcc=80), "n_mfcc"),
        (lambda: MFCCConfig(delta_width=4), "delta_width"),
        (lambda: SpectrogramImageConfig(fit="crop"), "fit"),
        (lambda: SpectrogramImageConfig(logmel=LogMelConfig(log="log")), "log='db'"),
        (lambda: EGeMAPSConfig(feature_level="frames"), "feature_level"),
        (lambda: WaveformConfig(duration=0), "duration"),
    ],
)
def test_invalid_configs_raise(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()
