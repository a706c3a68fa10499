"""Training augmentation: seeded waveform transforms and SpecAugment."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ser_core.features import AugmentConfig, WaveformAugmenter, spec_augment, spec_augment_torch

SR = 16000
ALWAYS = AugmentConfig(time_stretch_p=1.0, pitch_shift_p=1.0, shift_p=1.0, noise_p=1.0)


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    t = np.arange(SR) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return x.astype(np.float32)


def test_same_seed_same_outputs_different_seed_differs(signal: np.ndarray) -> None:
    a = WaveformAugmenter(ALWAYS, seed=7)
    b = WaveformAugmenter(ALWAYS, seed=7)
    c = WaveformAugmenter(ALWAYS, seed=8)
    for _ in range(3):  # the whole sequence repeats, not just the first call
        out_a, out_b, out_c = a(signal, SR), b(signal, SR), c(signal, SR)
        np.testing.assert_array_equal(out_a, out_b)
        assert not np.allclose(out_a, out_c)


def test_calls_differ_and_reseed_restarts(signal: np.ndarray) -> None:
    aug = WaveformAugmenter(ALWAYS, seed=1)
    first, second = aug(signal, SR), aug(signal, SR)
    assert not np.allclose(first, second)
    aug.reseed(1)
    np.testing.assert_array_equal(aug(signal, SR), first)


def test_interleaved_global_rng_use_does_not_break_determinism(signal: np.ndarray) -> None:
    a = WaveformAugmenter(ALWAYS, seed=3)
    b = WaveformAugmenter(ALWAYS, seed=3)
    out_a = [a(signal, SR) for _ in range(2)]
    out_b = []
    for _ in range(2):
        random.random()
        np.random.random()  # noqa: NPY002 - the legacy global state is the point of this test
        out_b.append(b(signal, SR))
    for x, y in zip(out_a, out_b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_global_random_state_is_left_alone(signal: np.ndarray) -> None:
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    expected = (random.random(), np.random.random())  # noqa: NPY002
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    WaveformAugmenter(ALWAYS, seed=0)(signal, SR)
    assert (random.random(), np.random.random()) == expected  # noqa: NPY002


@pytest.mark.parametrize(
    "config",
    [
        ALWAYS,
        AugmentConfig(time_stretch_p=1.0, min_rate=0.8, max_rate=0.8, pitch_shift_p=0.0),
        AugmentConfig(time_stretch_p=1.0, min_rate=1.25, max_rate=1.25, pitch_shift_p=0.0),
        AugmentConfig(pitch_shift_p=1.0, min_semitones=3.0, max_semitones=3.0),
        AugmentConfig(method="librosa_phase_vocoder", time_stretch_p=1.0, pitch_shift_p=1.0),
    ],
    ids=["all", "slower", "faster", "pitch", "phase-vocoder"],
)
@pytest.mark.parametrize("n_samples", [16000, 12345])
def test_output_length_and_dtype_preserved(config: AugmentConfig, n_samples: int, signal) -> None:
    x = signal[:n_samples]
    before = x.copy()
    out = WaveformAugmenter(config, seed=0)(x, SR)
    assert out.shape == x.shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(x, before)  # the input is not modified


def test_noise_only_respects_snr(signal: np.ndarray) -> None:
    config = AugmentConfig(
        time_stretch_p=0, pitch_shift_p=0, shift_p=0, noise_p=1, min_snr_db=20, max_snr_db=20
    )
    out = WaveformAugmenter(config, seed=0)(signal, SR)
    noise = out - signal
    snr = 10 * np.log10(np.mean(signal**2) / np.mean(noise**2))
    assert snr == pytest.approx(20.0, abs=0.5)


def test_nothing_applied_is_identity(signal: np.ndarray) -> None:
    config = AugmentConfig(time_stretch_p=0, pitch_shift_p=0, shift_p=0, noise_p=0)
    np.testing.assert_array_equal(WaveformAugmenter(config, seed=0)(signal, SR), signal)


def test_augment_config_validation_and_dict() -> None:
    with pytest.raises(ValueError, match="probability"):
        AugmentConfig(noise_p=1.5)
    assert AugmentConfig().to_dict()["noise_p"] == 0.5


# ---------------------------------------------------------------- SpecAugment


def test_spec_augment_masks_exactly_the_requested_bands_and_frames() -> None:
    spec = np.ones((64, 200), dtype=np.float32)
    rng = np.random.default_rng(0)
    freq = spec_augment(spec, rng, n_freq_masks=1, freq_width=(5, 5), n_time_masks=0, fill="zero")
    masked_rows = np.flatnonzero((freq == 0).all(axis=1))
    assert len(masked_rows) == 5
    assert np.all(np.diff(masked_rows) == 1)  # one contiguous band
    assert (freq == 0).sum() == 5 * 200
    time = spec_augment(spec, rng, n_freq_masks=0, n_time_masks=1, time_width=(12, 12), fill=0.0)
    assert (time == 0).all(axis=0).sum() == 12
    np.testing.assert_array_equal(spec, 1.0)  # input untouched


def test_spec_augment_amount_is_bounded() -> None:
    spec = np.ones((64, 300), dtype=np.float32)
    for seed in range(20):
        out = spec_augment(spec, np.random.default_rng(seed), 2, 8, 2, 20, fill="zero")
        rows = (out == 0).all(axis=1).sum()
        cols = (out == 0).all(axis=0).sum()
        assert rows <= 16
        assert cols <= 40


def test_spec_augment_is_seeded_and_fills_with_the_mean() -> None:
    spec = np.random.default_rng(0).normal(-40.0, 10.0, size=(2, 64, 150)).astype(np.float32)
    a = spec_augment(spec, np.random.default_rng(5), freq_width=(4, 8), time_width=(10, 20))
    b = spec_augment(spec, np.random.default_rng(5), freq_width=(4, 8), time_width=(10, 20))
    c = spec_augment(spec, np.random.default_rng(6), freq_width=(4, 8), time_width=(10, 20))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    changed = a != spec
    assert changed.any()
    np.testing.assert_allclose(a[changed], spec.mean(), rtol=1e-6)
    np.testing.assert_array_equal(changed[0], changed[1])  # channels share the masks


def test_spec_augment_time_fraction_cap() -> None:
    spec = np.ones((16, 50), dtype=np.float32)
    out = spec_augment(
        spec, np.random.default_rng(0), 0, 0, 1, (40, 40), max_time_fraction=0.2, fill="zero"
    )
    assert (out == 0).all(axis=0).sum() == 10


def test_spec_augment_torch_batched_and_seeded() -> None:
    spec = torch.ones(4, 64, 100)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a = spec_augment_torch(spec, 1, (6, 6), 1, (10, 10), fill="zero", generator=g1)
    b = spec_augment_torch(spec, 1, (6, 6), 1, (10, 10), fill="zero", generator=g2)
    assert torch.equal(a, b)
    assert a.shape == spec.shape
    for item in a:
        assert int((item == 0).all(dim=1).sum()) == 6
        assert int((item == 0).all(dim=0).sum()) == 10
    assert not all(torch.equal(a[0], a[i]) for i in range(1, 4))  # masks differ per item
    mean_filled = spec_augment_torch(torch.randn(2, 3, 32, 40), generator=g1)
    assert mean_filled.shape == (2, 3, 32, 40)


def test_speed_perturb_changes_tempo_and_pitch_together() -> None:
    """×1.1: 1/1.1 of the length and the tone 1.1 times higher; ×1 is the identity."""
    from ser_core.features.augment import speed_perturb

    sr = 16000
    t = np.arange(sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 200.0 * t)).astype(np.float32)
    for factor in (0.9, 1.1):
        fast = speed_perturb(tone, sr, factor)
        assert fast.dtype == np.float32
        assert len(fast) == pytest.approx(sr / factor, abs=2)
        spectrum = np.abs(np.fft.rfft(fast * np.hanning(len(fast))))
        peak = np.argmax(spectrum) * sr / len(fast)
        assert peak == pytest.approx(200.0 * factor, abs=2.0)
    np.testing.assert_array_equal(speed_perturb(tone, sr, 1.0), tone)
    with pytest.raises(ValueError, match="speed factor"):
        speed_perturb(tone, sr, 3.0)


def test_channel_copy_is_deterministic_realistic_and_keeps_the_length() -> None:
    from ser_core.features.augment import channel_copy, codec_round_trip

    sr = 16_000
    t = np.arange(sr * 2) / sr
    voice = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    copies = [channel_copy(voice, sr, seed=k) for k in range(6)]
    np.testing.assert_array_equal(channel_copy(voice, sr, seed=3), copies[3])
    for copy in copies:
        assert copy.shape == voice.shape and copy.dtype == np.float32
        assert np.isfinite(copy).all() and np.abs(copy).max() <= 1.0
        snr = 10 * np.log10(np.sum(voice**2) / np.sum((copy - voice) ** 2))
        assert snr < 30  # audibly another channel
    assert not np.allclose(copies[0], copies[1])
    for codec, rate in (("libopus", 16_000), ("libmp3lame", 64_000)):
        back = codec_round_trip(voice, sr, codec, rate)
        assert back.shape == voice.shape
        # lossy but close (the codec's delay is not compensated: correlate the envelopes)
        assert np.corrcoef(np.abs(back[::160]), np.abs(voice[::160]))[0, 1] > 0.5
