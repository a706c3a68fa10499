"""``ser bench``: how fast and how big every shipped model is on this machine.

For each checkpoint, in a fresh process of its own (so load time and peak memory are the model's,
not those of the models measured before it):

* load time (``load_predictor``, warm-up included: what the app's cold start pays per model);
* latency of one 3 s clip end to end (features + model, decoding excluded), median and 90th
  percentile of repeated runs;
* throughput on a batch of clips (``predict_features`` on pre-decoded signals, batched);
* parameters, and peak resident memory of the process;
* the real-time factor of the live path: 48 kHz audio pushed through the live session's
  resampler and ring buffer, one step (voice-activity check + prediction of the latest window)
  per second of audio; processing time divided by audio time.

Then all of them side by side (:func:`side_by_side`): every model loaded in one process and run
on one new clip after another, as the Compare page runs them, features shared between models
with the same feature config.

Benchmarks are measurements, not tests: a test only checks that the command runs.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

__all__ = [
    "BenchResult",
    "bench_checkpoint",
    "bench_checkpoints",
    "rss_mb",
    "side_by_side",
    "side_by_side_isolated",
    "synthetic_speech",
]

T = TypeVar("T")


@dataclass
class BenchResult:
    """One model's figures (seconds, MB)."""

    name: str
    model: str
    parameters: int | None
    load_s: float
    latency_median_s: float
    latency_p90_s: float
    batch_clips_per_s: float
    peak_rss_mb: float
    live_rtf: float
    threads: int


def synthetic_speech(seconds: float, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal with a pitch glide (speech-like enough for
    the voice-activity detector and every feature extractor)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140.0 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) ** 2
    noise = 0.002 * rng.normal(size=t.size)
    return (0.1 * voice * envelope + noise).astype(np.float32)


def _status_mb(field: str) -> float | None:
    """A memory figure of this process from Linux's /proc (None elsewhere)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return float(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """Resident memory of this process now, in MB (peak where /proc is missing)."""
    current = _status_mb("VmRSS")
    return current if current is not None else _peak_rss_mb()


def _peak_rss_mb() -> float:
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def with_synthetic_enrolment(predictor: Any) -> Any:
    """``predictor`` as it runs for a user: a speaker-adapted one without an enrolment gets a
    synthetic voice's (for timing only: the normalisation costs the same whoever it is of)."""
    if predictor.speaker_adapted and predictor.speaker is None:
        return predictor.adapted_to(predictor.enrolment([synthetic_speech(4.0, seed=7)], 16_000))
    return predictor


def _parameters(model: Any) -> int | None:
    if getattr(model, "is_torch", False):
        return int(sum(p.numel() for p in model.parameters()))
    count = getattr(model, "num_parameters", None)  # the svm: its stored numbers
    return int(count()) if callable(count) else None


def bench_checkpoint(
    name: str,
    repeats: int = 20,
    batch: int = 16,
    clip_seconds: float = 3.0,
    threads: int = 2,
    live_seconds: float = 20.0,
) -> BenchResult:
    """Measure one checkpoint in this process (see the module docstring)."""
    import torch

    from ser_core.features import clear_recent_features
    from ser_core.inference import load_predictor
    from ser_core.inference.live import LiveSession

    torch.set_num_threads(threads)
    started = time.perf_counter()
    predictor = with_synthetic_enrolment(load_predictor(name))
    load_s = time.perf_counter() - started

    clip = synthetic_speech(clip_seconds)
    times = []
    for _ in range(repeats):
        clear_recent_features()  # a new clip each time: features computed, not remembered
        t0 = time.perf_counter()
        predictor.predict_signal(clip, 16_000)
        times.append(time.perf_counter() - t0)

    clips = [synthetic_speech(clip_seconds, seed=i) for i in range(batch)]
    t0 = time.perf_counter()
    features = [predictor.pipeline.featurize(c) for c in clips]
    predictor.predict_features(features)
    batch_rate = batch / (time.perf_counter() - t0)

    live = LiveSession(predictor.labels)
    audio = synthetic_speech(live_seconds, rate=48_000, seed=3)

    def predict(signal: np.ndarray, rate: int) -> tuple[str, dict[str, float]]:
        result = predictor.predict_signal(signal, rate)
        return result.label, result.probabilities

    t0 = time.perf_counter()
    for start in range(0, audio.size, 48_000):
        live.push_samples(audio[start : start + 48_000], 48_000)
        live.step(predict)
    live_rtf = (time.perf_counter() - t0) / live_seconds

    return BenchResult(
        name=predictor.name,
        model=predictor.model_name,
        parameters=_parameters(predictor.model),
        load_s=load_s,
        latency_median_s=float(np.median(times)),
        latency_p90_s=float(np.percentile(times, 90)),
        batch_clips_per_s=float(batch_rate),
        peak_rss_mb=_peak_rss_mb(),
        live_rtf=float(live_rtf),
        threads=threads,
    )


def side_by_side(
    names: Sequence[str], repeats: int = 5, clip_seconds: float = 3.0, threads: int = 2
) -> float:
    """Seconds to run every model in ``names`` on one new 3 s clip, one after another in this
    process, as the Compare page does (median over ``repeats`` clips). Models with the same
    feature config share the clip's features (:mod:`ser_core.features.recent`); each repeat
    is a different clip, so nothing carries over from one to the next."""
    import torch

    from ser_core.inference import load_predictor

    torch.set_num_threads(threads)
    predictors = [with_synthetic_enrolment(load_predictor(name)) for name in names]
    warm = synthetic_speech(clip_seconds, seed=99)
    for predictor in predictors:
        predictor.predict_signal(warm, 16_000)
    totals = []
    for repeat in range(repeats):
        clip = synthetic_speech(clip_seconds, seed=100 + repeat)
        t0 = time.perf_counter()
        for predictor in predictors:
            predictor.predict_signal(clip, 16_000)
        totals.append(time.perf_counter() - t0)
    return float(np.median(totals))


def _in_fresh_process(function: Callable[..., T], *args: Any, **options: Any) -> T:
    """``function(*args, **options)`` in a spawned process of its own (memory, threads)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args, **options).result()


def side_by_side_isolated(names: Sequence[str], isolate: bool = True, **options: Any) -> float:
    """:func:`side_by_side` in a fresh process when ``isolate`` (memory and threads its own)."""
    if not isolate:
        return side_by_side(names, **options)
    return float(_in_fresh_process(side_by_side, list(names), **options))


def _bench_in_child(name: str, options: dict[str, Any]) -> dict[str, Any]:
    return asdict(bench_checkpoint(name, **options))


def bench_checkpoints(names: Sequence[str], isolate: bool = True, **options: Any) -> pd.DataFrame:
    """:func:`bench_checkpoint` for every name, each in a fresh process when ``isolate``."""
    rows = []
    for name in names:
        if isolate:
            rows.append(_in_fresh_process(_bench_in_child, name, options))
        else:
            rows.append(asdict(bench_checkpoint(name, **options)))
    return pd.DataFrame(rows)
