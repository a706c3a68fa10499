"""The on-disk feature cache: content-addressed, config-keyed, atomic (audio made in tmp_path)."""

from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser_core.features import (
    FEATURE_VERSION,
    EGeMAPSConfig,
    FeatureCache,
    LogMelConfig,
    MFCCConfig,
    extract,
    extract_files,
    file_digest,
)

SR = 16000


def write_tone(path: Path, freq: float, seconds: float = 1.0, seed: int = 0) -> Path:
    """A 16-bit WAV tone with a little seeded noise (loud enough for read_audio's checks)."""
    t = np.arange(round(seconds * SR)) / SR
    noise = 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    sf.write(path, 0.4 * np.sin(2 * np.pi * freq * t) + noise, SR, subtype="PCM_16")
    return path


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder per test: conftest's SER_CACHE is shared by the whole session, and
    these tests count hits and misses."""
    monkeypatch.setenv("SER_CACHE", str(tmp_path / "ser_cache"))


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return write_tone(tmp_path / "clip.wav", 440.0)


def test_file_digest_is_blake2b_of_the_bytes(wav: Path) -> None:
    expected = hashlib.blake2b(wav.read_bytes(), digest_size=16).hexdigest()
    assert file_digest(wav) == expected
    assert file_digest(str(wav)) == expected


def test_first_call_misses_second_hits_with_identical_array(wav: Path) -> None:
    cache = FeatureCache()
    config = LogMelConfig()
    first = cache.get_or_compute(wav, config)
    assert (cache.hits, cache.misses) == (0, 1)
    second = cache.get_or_compute(wav, config)
    assert (cache.hits, cache.misses) == (1, 1)
    assert second.dtype == first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    assert first.shape == (64, 101)


def test_cache_lives_under_ser_cache_and_stores_plain_npy(wav: Path) -> None:
    cache = FeatureCache()
    config = MFCCConfig()
    feature = cache.get_or_compute(wav, config)
    root = Path(os.environ["SER_CACHE"]) / "features"
    assert cache.root == root
    folder = root / f"mfcc-{config.cache_key()}-v{FEATURE_VERSION}"
    entry = folder / file_digest(wav)[:2] / f"{file_digest(wav)}.npy"
    assert entry == cache.entry_path(file_digest(wav), config)
    np.testing.assert_array_equal(np.load(entry, allow_pickle=False), feature)
    assert (folder / "config.json").is_file()
    assert not list(folder.rglob("*.tmp"))


def test_cached_feature_equals_direct_extraction(wav: Path) -> None:
    from ser_core.audio import read_audio

    cached = FeatureCache().get_or_compute(wav, LogMelConfig())
    np.testing.assert_array_equal(cached, extract(LogMelConfig(), read_audio(wav).signal))


def test_changed_config_misses(wav: Path) -> None:
    cache = FeatureCache()
    cache.get_or_compute(wav, LogMelConfig())
    other = cache.get_or_compute(wav, LogMelConfig(n_mels=32))
    assert (cache.hits, cache.misses) == (0, 2)
    assert other.shape == (32, 101)


def test_changed_content_misses_even_with_the_same_path(wav: Path) -> None:
    cache = FeatureCache()
    before = cache.get_or_compute(wav, LogMelConfig())
    stat = wav.stat()
    write_tone(wav, 2000.0)
    os.utime(wav, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: content still counts
    after = cache.get_or_compute(wav, LogMelConfig())
    assert (cache.hits, cache.misses) == (0, 2)
    assert not np.array_equal(before, after)


def test_renamed_copy_hits(wav: Path, tmp_path: Path) -> None:
    cache = FeatureCache()
    original = cache.get_or_compute(wav, LogMelConfig())
    copy = tmp_path / "elsewhere" / "renamed.wav"
    copy.parent.mkdir()
    shutil.copy(wav, copy)
    again = cache.get_or_compute(copy, LogMelConfig())
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(original, again)


def test_corrupt_entry_is_recomputed(wav: Path) -> None:
    cache = FeatureCache()
    config = LogMelConfig()
    good = cache.get_or_compute(wav, config)
    cache.entry_path(file_digest(wav), config).write_bytes(b"\x93NUMPY truncated")
    again = cache.get_or_compute(wav, config)
    assert (cache.hits, cache.misses) == (0, 2)
    np.testing.assert_array_equal(good, again)
    assert cache.get(wav, config) is not None


def test_extract_files_counts_and_no_cache(tmp_path: Path) -> None:
    paths = [write_tone(tmp_path / f"{i}.wav", 200.0 * (i + 1), seed=i) for i in range(3)]
    cache = FeatureCache(tmp_path / "cache")
    config = EGeMAPSConfig()
    first = extract_files(paths, config, cache=cache)
    assert [f.shape for f in first] == [(88,)] * 3
    second = extract_files(paths, config, cache=cache, progress=True)
    assert (cache.hits, cache.misses) == (3, 3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    uncached = extract_files(paths[:1], config, cache=False)
    np.testing.assert_allclose(uncached[0], first[0])
    default = extract_files(paths[:1], config)  # cache=True: the default folder
    np.testing.assert_array_equal(default[0], first[0])
    cache.reset_stats()
    assert (cache.hits, cache.misses) == (0, 0)


def test_custom_loader_and_clear(tmp_path: Path) -> None:
    calls: list[Path] = []

    def loader(path: Path, sample_rate: int) -> np.ndarray:
        calls.append(path)
        return np.full(sample_rate // 2, 0.1, dtype=np.float32)

    any_file = tmp_path / "x.bin"
    any_file.write_bytes(b"anything")
    cache = FeatureCache(tmp_path / "c", loader=loader)
    cache.get_or_compute(any_file, LogMelConfig())
    cache.get_or_compute(any_file, LogMelConfig())
    assert len(calls) == 1
    cache.clear(LogMelConfig())
    assert cache.get(any_file, LogMelConfig()) is None
    cache.get_or_compute(any_file, LogMelConfig())
    assert len(calls) == 2
    cache.clear()
    assert not any(p.suffix == ".npy" for p in (tmp_path / "c").rglob("*"))


def test_concurrent_writers_agree(tmp_path: Path) -> None:
    paths = [write_tone(tmp_path / f"{i}.wav", 300.0 + i, seed=i) for i in range(2)]
    cache = FeatureCache(tmp_path / "cache")
    jobs = paths * 6
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda p: cache.get_or_compute(p, LogMelConfig()), jobs))
    assert cache.hits + cache.misses == len(jobs)
    for path, result in zip(jobs, results, strict=True):
        np.testing.assert_array_equal(result, results[jobs.index(path)])
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_unreadable_file_raises_a_clear_error(tmp_path: Path) -> None:
    from ser_core.errors import AudioInputError

    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio at all")
    cache = FeatureCache()
    with pytest.raises(AudioInputError):
        cache.get_or_compute(bogus, LogMelConfig())
    assert cache.misses == 0


def test_speed_perturbed_copies_are_cached_under_their_own_key(wav: Path) -> None:
    """A copy at ×1.1 is featurised from the perturbed signal (fewer frames), stored apart from
    the original, and read back from disk the second time."""
    cache = FeatureCache()
    config = LogMelConfig()
    original = cache.get_or_compute(wav, config)
    fast = cache.get_or_compute(wav, config, speed=1.1)
    assert fast.shape[-1] < original.shape[-1]
    assert (cache.hits, cache.misses) == (0, 2)
    again = extract_files([wav], config, cache=cache, speed=1.1)[0]
    np.testing.assert_array_equal(again, fast)
    np.testing.assert_array_equal(cache.get(wav, config), original)  # the original untouched
    assert (cache.hits, cache.misses) == (1, 2)
    uncached = extract_files([wav], config, cache=False, speed=1.1)[0]
    np.testing.assert_allclose(uncached, fast)


def test_channel_copies_are_cached_under_their_own_key(wav: Path) -> None:
    """The k-th channel copy is the same every time (drawn from the file's content and k),
    differs from the original and from copy k+1, and is read back from disk."""
    cache = FeatureCache()
    config = LogMelConfig()
    original = cache.get_or_compute(wav, config)
    first = cache.get_or_compute(wav, config, channel=1)
    second = cache.get_or_compute(wav, config, channel=2)
    assert first.shape == original.shape  # same length: a room, noise and a codec, no tempo
    assert not np.allclose(first, original) and not np.allclose(first, second)
    assert (cache.hits, cache.misses) == (0, 3)
    np.testing.assert_array_equal(extract_files([wav], config, cache=cache, channel=1)[0], first)
    assert cache.hits == 1
    uncached = extract_files([wav], config, cache=False, channel=1)[0]
    np.testing.assert_allclose(uncached, first, atol=1e-4)
