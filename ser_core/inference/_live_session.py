"""One live-microphone session: frames in on the webrtc thread, a classified window and a
timeline row out on each step (see :mod:`ser_core.inference.live`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ser_core.audio import TARGET_SAMPLE_RATE
from ser_core.inference._live_audio import FrameResampler, RingBuffer
from ser_core.inference._vad import VoiceActivityDetector

__all__ = ["SILENCE_FLOOR", "LiveSession", "PredictFn", "StepResult"]


#: Peak amplitude under which received audio counts as digital silence (about -80 dBFS; a
#: muted input sends zeros, a live one at least its noise floor).
SILENCE_FLOOR = 1e-4


@dataclass
class StepResult:
    """What one :meth:`LiveSession.step` did.

    Attributes:
        time: seconds since the session started (end of the analysed window).
        speech: whether the VAD found speech (the window was classified only then).
        speech_fraction: the VAD's share of speech chunks.
        label: the predicted emotion, or None (silence, or not enough audio yet).
        probabilities: label -> probability, empty when not classified.
    """

    time: float
    speech: bool
    speech_fraction: float
    label: str | None
    probabilities: dict[str, float]


PredictFn = Callable[[np.ndarray, int], tuple[str, Mapping[str, float]]]
"""``predict(signal_16k, sample_rate) -> (label, {label: probability})``."""


class LiveSession:
    """One browser session's live-microphone state: resampler, buffer, VAD and timeline.

    Args:
        labels: the model's labels (timeline columns).
        window: seconds of audio classified at each step.
        buffer_seconds: seconds of audio the ring buffer keeps.
        vad: the voice-activity detector (default: ``VoiceActivityDetector("auto")``).
        rate: the model's sample rate.
    """

    def __init__(
        self,
        labels: Sequence[str],
        *,
        window: float = 2.0,
        buffer_seconds: float = 10.0,
        vad: VoiceActivityDetector | None = None,
        rate: int = TARGET_SAMPLE_RATE,
    ) -> None:
        self.labels = list(labels)
        self.window = window
        self.rate = rate
        self.buffer = RingBuffer(round(buffer_seconds * rate))
        self.resampler = FrameResampler(rate)
        self.vad = vad if vad is not None else VoiceActivityDetector("auto")
        self._rows: list[dict[str, Any]] = []
        self._rows_lock = threading.Lock()
        self._frames_in = 0
        self._last_step_total = -1
        # Wall-clock times (time.monotonic) for the microphone check: when the stream started
        # playing, and when the last sample above the silence floor arrived.
        self._playing_since: float | None = None
        self._last_sound: float | None = None

    # Called on streamlit-webrtc's worker thread (the audio sink's loop): no st.* here.
    def push_frame(self, frame: Any) -> Any:
        """The audio sink's callback: resample, buffer, and hand the frame back unchanged."""
        self._write(self.resampler(frame))
        self._frames_in += 1
        return frame

    def push_samples(self, samples: np.ndarray, sample_rate: int) -> None:
        """Feed raw samples (any rate, mono or 2-D) instead of frames (tests, file replay)."""
        self._write(self.resampler.resample_array(samples, sample_rate))

    def _write(self, samples: np.ndarray) -> None:
        if samples.size and float(np.max(np.abs(samples))) > SILENCE_FLOOR:
            self._last_sound = time.monotonic()
        self.buffer.write(samples)

    def microphone_problem(self, playing: bool, *, patience: float = 5.0) -> str | None:
        """What is wrong with the microphone, in the user's words, or None when all is well.

        Call it once a second from the page with whether the stream plays: after ``patience``
        seconds of playing without any audio, or with audio that is digital silence (a muted
        or disconnected input sends zeros), it says so and what to check.
        """
        now = time.monotonic()
        if not playing:
            self._playing_since = None
            return None
        if self._playing_since is None:
            self._playing_since = now
        waited = now - self._playing_since
        if waited < patience:
            return None
        if self.buffer.total_written == 0:
            return (
                f"No audio has arrived from the microphone in {waited:.0f} s. Check that the "
                "browser may use the microphone (the icon in the address bar), that a "
                "microphone is connected and chosen under SELECT DEVICE, then press STOP and "
                "START again."
            )
        if self._last_sound is None or now - self._last_sound > patience:
            return (
                "The microphone sends only silence: it may be muted (in the system settings or "
                "on the device), or another input is chosen under SELECT DEVICE."
            )
        return None

    @property
    def seconds_received(self) -> float:
        """Seconds of (resampled) audio received since the session started."""
        return self.buffer.total_written / self.rate

    def step(self, predict: PredictFn) -> StepResult | None:
        """Classify the latest window if it holds speech; add a timeline row.

        Args:
            predict: ``predict(signal, sample_rate) -> (label, probabilities)``.

        Returns:
            The step's result, or None when no new audio arrived since the last step.
        """
        total = self.buffer.total_written
        if total == self._last_step_total or total == 0:
            return None
        self._last_step_total = total
        now = total / self.rate
        signal = self.buffer.latest(round(self.window * self.rate))
        fraction = self.vad.speech_fraction(signal, self.rate)
        speech = fraction >= self.vad.min_speech_fraction
        label: str | None = None
        probs: dict[str, float] = {}
        if speech and signal.shape[0] >= round(0.5 * self.rate):
            label, raw = predict(signal, self.rate)
            probs = {k: float(v) for k, v in raw.items()}
        result = StepResult(now, speech, fraction, label, probs)
        row: dict[str, Any] = {
            "time": round(now, 3),
            "wall_clock": time.strftime("%H:%M:%S"),
            "speech": speech,
            "speech_fraction": round(fraction, 3),
            "label": label,
        }
        for name in self.labels:
            row[name] = probs.get(name, np.nan)
        with self._rows_lock:
            self._rows.append(row)
        return result

    def timeline(self) -> pd.DataFrame:
        """One row per step: ``time``, ``wall_clock``, ``speech``, ``speech_fraction``,
        ``label`` and one probability column per label (NaN on silent steps)."""
        columns = ["time", "wall_clock", "speech", "speech_fraction", "label", *self.labels]
        with self._rows_lock:
            return pd.DataFrame(list(self._rows), columns=columns)

    def current(self) -> StepResult | None:
        """The latest classified step (skipping silent ones), or None."""
        with self._rows_lock:
            for row in reversed(self._rows):
                if row["label"] is not None:
                    probs = {k: float(row[k]) for k in self.labels}
                    return StepResult(
                        row["time"], True, row["speech_fraction"], row["label"], probs
                    )
        return None

    def to_csv(self) -> bytes:
        """The timeline as UTF-8 CSV bytes (for a download button)."""
        return self.timeline().to_csv(index=False).encode("utf-8")

    def reset(self) -> None:
        """Start over: empty buffer and timeline (the resampler and VAD are kept)."""
        self.buffer.clear()
        with self._rows_lock:
            self._rows.clear()
        self._last_step_total = -1
        self._last_sound = None
