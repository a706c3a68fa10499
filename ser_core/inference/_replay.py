"""Replaying a recording through the live path as a browser would send it, at a chosen speed
(the soak benchmark and the tests; see :mod:`ser_core.inference.live`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ser_core.inference._live_session import LiveSession, PredictFn, StepResult

__all__ = ["ReplayReport", "browser_frames", "replay"]


def browser_frames(
    signal: np.ndarray,
    sample_rate: int = 48_000,
    *,
    channels: int = 2,
    frame_samples: int = 960,
) -> Iterator[Any]:
    """Cut a mono float signal into the ``av.AudioFrame`` objects a browser sends.

    s16 packed frames of ``frame_samples`` samples per channel (960 = 20 ms at 48 kHz), the
    signal copied to every channel; a last partial frame is dropped, as a live stream would.
    """
    import av

    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    layout = {1: "mono", 2: "stereo"}.get(channels)
    if layout is None:
        raise ValueError(f"browser frames are mono or stereo, not {channels} channels")
    for start in range(0, signal.shape[0] - frame_samples + 1, frame_samples):
        # Frame by frame: an hour of audio is never copied whole.
        pcm = (np.clip(signal[start : start + frame_samples], -1.0, 1.0) * 32767).astype(np.int16)
        block = np.repeat(pcm[:, None], channels, axis=1)
        frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = sample_rate
        yield frame


@dataclass
class ReplayReport:
    """What :func:`replay` saw.

    Attributes:
        audio_seconds: seconds of audio fed.
        wall_seconds: wall-clock duration of the replay.
        step_audio_times: audio time (s) at the end of each analysed window.
        step_seconds: wall seconds each step took (VAD + classification).
        classified: steps whose window held speech and was classified.
        step_every: the intended audio seconds between steps.
    """

    audio_seconds: float
    wall_seconds: float
    step_audio_times: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    classified: int = 0
    step_every: float = 1.0

    @property
    def steps(self) -> int:
        """Number of analysed windows."""
        return len(self.step_audio_times)

    @property
    def gaps(self) -> np.ndarray:
        """Audio seconds between consecutive analysed windows (the first from time 0)."""
        return np.diff(np.asarray([0.0, *self.step_audio_times]))

    @property
    def missed_steps(self) -> int:
        """Steps that never ran because the previous one was still busy (gaps past 1.5 steps)."""
        gaps = self.gaps
        late = gaps[gaps > 1.5 * self.step_every]
        return int(np.sum(np.round(late / self.step_every) - 1))

    @property
    def real_time_factor(self) -> float:
        """Median step time over the audio each step covers (under 1: keeps up)."""
        if not self.step_seconds:
            return float("nan")
        return float(np.median(self.step_seconds) / self.step_every)


def replay(
    live: LiveSession,
    frames: Iterable[Any],
    predict: PredictFn,
    *,
    speed: float = 1.0,
    step_every: float = 1.0,
    on_step: Callable[[StepResult, ReplayReport], None] | None = None,
) -> ReplayReport:
    """Feed ``frames`` through ``live.push_frame`` in (accelerated) real time while stepping.

    A producer thread pushes the frames paced at ``speed`` × real time, as streamlit-webrtc's
    worker thread does; the calling thread runs :meth:`LiveSession.step` every ``step_every``
    seconds of audio time (``step_every / speed`` wall seconds), as the page's fragment does.
    When a step takes longer than its slot the next one starts late and the report counts the
    missed steps, so a replay at ``speed`` > 1 that misses none shows the live path keeps up
    with room to spare.

    Returns:
        A :class:`ReplayReport` (one entry per step that analysed new audio).
    """
    if speed <= 0 or step_every <= 0:
        raise ValueError("speed and step_every must be positive")
    report = ReplayReport(audio_seconds=0.0, wall_seconds=0.0, step_every=step_every)
    done = threading.Event()
    failure: list[BaseException] = []
    started = time.perf_counter()

    def produce() -> None:
        fed = 0.0
        try:
            for frame in frames:
                lag = started + fed / speed - time.perf_counter()
                if lag > 0:
                    time.sleep(lag)
                live.push_frame(frame)
                fed += frame.samples / frame.sample_rate
        except BaseException as error:  # surfaced in the calling thread
            failure.append(error)
        finally:
            report.audio_seconds = fed
            done.set()

    producer = threading.Thread(target=produce, name="replay-producer", daemon=True)
    producer.start()
    interval = step_every / speed
    tick = started + interval
    while True:
        finished = done.is_set()  # read before stepping: the last step sees every frame
        wait = tick - time.perf_counter()
        if wait > 0 and not finished:
            done.wait(wait)
        begun = time.perf_counter()
        result = live.step(predict)
        if result is not None:
            report.step_seconds.append(time.perf_counter() - begun)
            report.step_audio_times.append(result.time)
            report.classified += result.label is not None
            if on_step is not None:
                on_step(result, report)
        if finished:
            break
        # An overrun slot is skipped, not made up in a burst, as a page timer would.
        tick += interval
        if tick < time.perf_counter():
            tick = time.perf_counter() + interval
    producer.join()
    report.wall_seconds = time.perf_counter() - started
    if failure:
        raise failure[0]
    return report
