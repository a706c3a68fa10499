"""The live-microphone path over a long session (issue 7: "30 minutes of fed audio").

    python benchmarks/live_soak.py [--minutes 30] [--speed 4] [--model default]
                                   [--data-root ../shared/corpora]

Builds ``--minutes`` of audio (corpus speech, emotions mixed, with 1-3 s pauses between
utterances; synthetic vowels when no corpus is found), cuts it into the 20 ms 48 kHz stereo
frames a browser sends, and replays them through ``LiveSession.push_frame`` from a producer
thread at ``--speed`` x real time, while the main thread steps once per second of audio as the
Live page does (VAD gate, then the model). Prints resident memory every 5 minutes of audio, the
steps run and missed, how many windows were classified, and the live path's real-time factor.
A replay at 4x that misses no step keeps up at 1x with room to spare.
"""

from __future__ import annotations

import argparse
import os
import resource

import numpy as np
import torch

from ser_core.app_support.samples import synthetic_vowel
from ser_core.audio import read_audio, resample
from ser_core.data import load_corpus
from ser_core.inference import load_predictor
from ser_core.inference.bench import rss_mb
from ser_core.inference.live import (
    LiveSession,
    ReplayReport,
    StepResult,
    VoiceActivityDetector,
    browser_frames,
    replay,
)

BROWSER_RATE = 48_000


def session_audio(minutes: float, data_root: str | None, seed: int = 0) -> np.ndarray:
    """``minutes`` of 48 kHz speech with pauses: shuffled corpus clips, or synthetic vowels."""
    rng = np.random.default_rng(seed)
    clips: list[np.ndarray] = []
    if data_root and os.path.isdir(data_root):
        paths: list[str] = []
        for corpus in ("emodb", "ravdess", "tess"):
            try:
                paths += load_corpus(corpus, os.path.join(data_root, corpus))["path"].tolist()
            except Exception as error:  # a corpus missing here is fine: use the others
                print(f"skipping {corpus}: {error}")
        rng.shuffle(paths)
        clips = [read_audio(p).signal for p in paths[:400]]
    if not clips:
        clips = [synthetic_vowel(float(rng.uniform(1.5, 4)), seed=i) for i in range(50)]
    needed = int(minutes * 60 * 16_000)
    parts: list[np.ndarray] = []
    total = 0
    while total < needed:
        clip = clips[int(rng.integers(len(clips)))]
        pause = np.zeros(int(rng.uniform(1.0, 3.0) * 16_000), dtype=np.float32)
        parts += [clip.astype(np.float32), pause]
        total += clip.shape[0] + pause.shape[0]
    signal = np.concatenate(parts)[:needed]
    return resample(signal, 16_000, BROWSER_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--speed", type=float, default=4.0, help="x real time")
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-root", default=os.environ.get("SER_CORPORA"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = load_predictor(args.model)
    signal = session_audio(args.minutes, args.data_root)
    live = LiveSession(predictor.labels, window=2.0, vad=VoiceActivityDetector("auto"))
    print(
        f"{predictor.name}, VAD {live.vad.backend}: {args.minutes:.0f} min of audio at "
        f"{args.speed:g}x real time; RSS {rss_mb():.0f} MB before",
        flush=True,
    )

    def predict(clip: np.ndarray, rate: int) -> tuple[str, dict[str, float]]:
        result = predictor.predict_signal(clip, rate)
        return result.label, result.probabilities

    marks: list[tuple[float, float]] = []

    def on_step(result: StepResult, report: ReplayReport) -> None:
        if not marks or result.time - marks[-1][0] >= 300:
            marks.append((result.time, rss_mb()))
            print(f"  {result.time / 60:5.1f} min of audio: RSS {marks[-1][1]:.0f} MB", flush=True)

    report = replay(
        live, browser_frames(signal, BROWSER_RATE), predict, speed=args.speed, on_step=on_step
    )
    marks.append((report.audio_seconds, rss_mb()))
    after_first = marks[1][1] if len(marks) > 2 else marks[0][1]
    times = np.asarray(report.step_seconds)
    timeline_kb = live.timeline().memory_usage(deep=True).sum() / 1024
    print(
        f"{report.audio_seconds / 60:.1f} min of audio in {report.wall_seconds / 60:.1f} min: "
        f"{report.steps} steps, {report.missed_steps} missed, largest gap "
        f"{report.gaps.max():.2f} s; {report.classified} windows classified, "
        f"{report.steps - report.classified} silent"
    )
    late = np.flatnonzero(report.gaps > 1.5 * report.step_every)
    if late.size:
        where = ", ".join(
            f"{report.step_audio_times[i] / 60:.1f} min ({report.gaps[i]:.1f} s)" for i in late
        )
        print(f"late steps at: {where}")
    print(
        f"step time median {1000 * np.median(times):.0f} ms, p95 "
        f"{1000 * np.percentile(times, 95):.0f} ms, max {1000 * times.max():.0f} ms; live "
        f"real-time factor {report.real_time_factor:.3f}"
    )
    print(
        f"RSS {after_first:.0f} MB at 5 min -> {marks[-1][1]:.0f} MB at the end (growth "
        f"{marks[-1][1] - after_first:+.0f} MB; the timeline itself holds {timeline_kb:.0f} kB); "
        f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
