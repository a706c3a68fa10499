"""The in-memory memo of recent features: models with the same feature config compute a clip's
features once (Compare), and nothing wrong is ever shared."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

import ser_core.pipeline as pipeline_module
from ser_core.errors import AudioInputError
from ser_core.features import (
    RECENT_FEATURES,
    LogMelConfig,
    MFCCConfig,
    RecentFeatures,
    clear_recent_features,
)
from ser_core.models import InputSpec
from ser_core.pipeline import InputPipeline


@pytest.fixture(autouse=True)
def _empty_memo() -> Iterator[None]:
    clear_recent_features()
    yield
    clear_recent_features()


def _signal(seed: int = 0, seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(int(16_000 * seconds))).astype(np.float32)


def _counting(calls: list[int], value: np.ndarray):  # type: ignore[no-untyped-def]
    def compute() -> np.ndarray:
        calls.append(1)
        return value.copy()

    return compute


def test_the_same_signal_and_config_is_computed_once_and_handed_out_as_copies() -> None:
    memo = RecentFeatures()
    calls: list[int] = []
    feature = np.arange(6, dtype=np.float32)
    first = memo.get_or_compute(LogMelConfig(), _signal(), 16_000, _counting(calls, feature))
    first[:] = -1  # a caller modifying its copy
    second = memo.get_or_compute(LogMelConfig(), _signal(), 16_000, _counting(calls, feature))
    assert len(calls) == 1 and (memo.hits, memo.misses) == (1, 1)
    np.testing.assert_array_equal(second, feature)
    second[:] = -2
    np.testing.assert_array_equal(
        memo.get_or_compute(LogMelConfig(), _signal(), 16_000, _counting(calls, feature)), feature
    )


@pytest.mark.parametrize(
    "change",
    ["config", "one sample", "rate", "dtype", "length"],
)
def test_any_difference_in_config_or_signal_is_a_miss(change: str) -> None:
    memo = RecentFeatures()
    calls: list[int] = []
    signal, config, rate = _signal(), LogMelConfig(), 16_000
    memo.get_or_compute(config, signal, rate, _counting(calls, np.zeros(3, np.float32)))
    if change == "config":
        config = LogMelConfig(n_mels=40)
    elif change == "one sample":
        signal = signal.copy()
        signal[1234] += 1e-6
    elif change == "rate":
        rate = 8_000
    elif change == "dtype":
        signal = signal.astype(np.float64)
    else:
        signal = signal[:-1]
    memo.get_or_compute(config, signal, rate, _counting(calls, np.zeros(3, np.float32)))
    assert len(calls) == 2


def test_memory_is_bounded_least_recently_used_first_and_large_items_are_not_kept() -> None:
    item = np.zeros(1000, np.float32)  # 4000 bytes
    memo = RecentFeatures(max_bytes=10_000, max_item_bytes=5_000)
    calls: list[int] = []
    for seed in (0, 1):
        memo.get_or_compute(LogMelConfig(), _signal(seed), 16_000, _counting(calls, item))
    memo.get_or_compute(LogMelConfig(), _signal(0), 16_000, _counting(calls, item))  # 0 recent
    memo.get_or_compute(LogMelConfig(), _signal(2), 16_000, _counting(calls, item))  # evicts 1
    assert len(memo) == 2 and memo.nbytes == 8000 and len(calls) == 3
    memo.get_or_compute(LogMelConfig(), _signal(0), 16_000, _counting(calls, item))
    assert len(calls) == 3  # still kept
    memo.get_or_compute(LogMelConfig(), _signal(1), 16_000, _counting(calls, item))
    assert len(calls) == 4  # was evicted
    big = np.zeros(2000, np.float32)  # 8000 bytes > max_item_bytes
    result = memo.get_or_compute(MFCCConfig(), _signal(0), 16_000, _counting(calls, big))
    assert result.shape == (2000,) and memo.nbytes <= 10_000
    memo.get_or_compute(MFCCConfig(), _signal(0), 16_000, _counting(calls, big))
    assert len(calls) == 6  # computed both times


def test_errors_are_not_remembered() -> None:
    memo = RecentFeatures()
    attempts: list[int] = []

    def failing() -> np.ndarray:
        attempts.append(1)
        raise AudioInputError("unusable", reason="silent")

    for _ in range(2):
        with pytest.raises(AudioInputError):
            memo.get_or_compute(LogMelConfig(), _signal(), 16_000, failing)
    assert len(attempts) == 2 and len(memo) == 0


def test_concurrent_sessions_get_the_right_feature_for_their_own_clip() -> None:
    memo = RecentFeatures()
    errors: list[str] = []

    def session(seed: int) -> None:
        signal = _signal(seed)
        for _ in range(50):
            got = memo.get_or_compute(LogMelConfig(), signal, 16_000, lambda s=signal: s[:10])
            if not np.array_equal(got, signal[:10]):
                errors.append(f"session {seed} got another clip's feature")

    threads = [threading.Thread(target=session, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and memo.hits >= 4 * 49


def test_two_models_with_the_same_feature_config_share_a_clips_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the real pipeline: the second model with the same config does not extract again;
    a model with another config, or a new clip, does. Results equal a fresh extraction."""
    real = pipeline_module.extract
    extracted: list[str] = []

    def counting_extract(config, signal, sample_rate=16_000):  # type: ignore[no-untyped-def]
        extracted.append(config.kind)
        return real(config, signal, sample_rate)

    monkeypatch.setattr(pipeline_module, "extract", counting_extract)
    spec = InputSpec("logmel", "logmel", "(B, F, T)", 64, None, None, 1, True)
    first, second = InputPipeline(LogMelConfig(), spec), InputPipeline(LogMelConfig(), spec)
    other = InputPipeline(MFCCConfig(), spec)
    clip = _signal(3)
    a = first.featurize(clip)
    b = second.featurize(clip)
    assert extracted == ["logmel"]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, real(LogMelConfig(), clip))
    other.featurize(clip)
    second.featurize(_signal(4))
    assert extracted == ["logmel", "mfcc", "logmel"]
    assert RECENT_FEATURES.hits == 1
