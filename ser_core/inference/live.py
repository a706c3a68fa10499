"""Live streaming inference: the microphone pipeline behind the Live page, testable without a
browser (it lives beside the predictor it feeds; the app only draws its timeline).

The Live page receives the browser's microphone through streamlit-webrtc in ``SENDONLY`` mode
with an audio sink (``create_audio_sink_track``): the sink calls :meth:`LiveSession.push_frame`
on streamlit-webrtc's own event-loop thread, 50 times a second with 20 ms
:class:`av.AudioFrame` objects (browsers usually send 48 kHz stereo or mono s16), and nothing is
sent back to the browser. (An ``audio_frame_callback`` with ``sendback_audio=False`` is never
pulled by streamlit-webrtc 0.79: no frame ever arrived that way.) That callback must never touch
``st.*``; :meth:`LiveSession.push_frame`

1. resamples with the session's one :class:`FrameResampler` (an :class:`av.AudioResampler`
   keeps its filter state between frames, so one per session, never one per frame) to 16 kHz
   mono float32, and
2. appends the samples to a lock-guarded :class:`RingBuffer`.

The script thread calls :meth:`LiveSession.step` about once a second: it copies the last
``window`` seconds out of the buffer, asks the :class:`VoiceActivityDetector` whether there is
speech (silero-vad, whose model ships inside its wheel; webrtcvad; or an energy threshold when
neither is installed), and only then runs the classifier. Every step adds a row to the
session's timeline (silent steps too, with NaN probabilities, so gaps show as gaps), which can
be saved as CSV.

:func:`browser_frames` and :func:`replay` feed a recording through that same path at a chosen
speed, with the producer on its own thread as the webrtc worker is: the soak benchmark and the
tests use them to check that no window is dropped and memory stays flat over long sessions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ser_core.audio import TARGET_SAMPLE_RATE, resample

__all__ = [
    "SILENCE_FLOOR",
    "FrameResampler",
    "LiveSession",
    "ReplayReport",
    "RingBuffer",
    "VoiceActivityDetector",
    "available_vad_backends",
    "browser_frames",
    "replay",
]

#: Peak amplitude under which received audio counts as digital silence (about -80 dBFS; a
#: muted input sends zeros, a live one at least its noise floor).
SILENCE_FLOOR = 1e-4


class RingBuffer:
    """A fixed-capacity float32 ring buffer, safe to write from one thread and read from another.

    Args:
        capacity: how many samples it keeps (older ones are overwritten).
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self._data = np.zeros(capacity, dtype=np.float32)
        self._capacity = capacity
        self._write = 0  # index of the next sample to write
        self._total = 0  # samples ever written
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """Number of samples the buffer holds at most."""
        return self._capacity

    @property
    def total_written(self) -> int:
        """Samples written since creation (or the last :meth:`clear`)."""
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return min(self._total, self._capacity)

    def write(self, samples: np.ndarray) -> None:
        """Append samples (only the last ``capacity`` are kept if more are given)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        n = samples.shape[0]
        if n == 0:
            return
        with self._lock:
            self._total += n
            if n >= self._capacity:
                self._data[:] = samples[-self._capacity :]
                self._write = 0
                return
            end = self._write + n
            if end <= self._capacity:
                self._data[self._write : end] = samples
            else:
                first = self._capacity - self._write
                self._data[self._write :] = samples[:first]
                self._data[: n - first] = samples[first:]
            self._write = end % self._capacity

    def latest(self, n: int) -> np.ndarray:
        """A copy of the last ``n`` samples (fewer if fewer were written), oldest first."""
        with self._lock:
            available = min(self._total, self._capacity, max(n, 0))
            if available == 0:
                return np.zeros(0, dtype=np.float32)
            start = (self._write - available) % self._capacity
            if start + available <= self._capacity:
                return self._data[start : start + available].copy()
            first = self._capacity - start
            return np.concatenate([self._data[start:], self._data[: available - first]])

    def clear(self) -> None:
        """Forget everything written."""
        with self._lock:
            self._write = 0
            self._total = 0
            self._data[:] = 0.0


class FrameResampler:
    """Turns :class:`av.AudioFrame` objects of any rate / layout into 16 kHz mono float32.

    One instance per live session: :class:`av.AudioResampler` keeps filter state between frames,
    so a fresh one per frame would click at every frame boundary and drift in length. Raw arrays
    (tests, other sources) go through :meth:`resample_array` (soxr, stateless per call).

    Args:
        rate: the output rate in Hz.
    """

    def __init__(self, rate: int = TARGET_SAMPLE_RATE) -> None:
        self.rate = rate
        self._resampler: Any = None
        self._input_rate: int | None = None

    def __call__(self, frame: Any) -> np.ndarray:
        """Resample one ``av.AudioFrame``; returns a 1-D float32 array (possibly empty)."""
        import av  # a dependency of ser_core.audio already; imported here to keep import light

        if self._resampler is None or frame.sample_rate != self._input_rate:
            # A rate change mid-stream (device switch) needs a new filter.
            # Planar float at the input's own layout; channels are averaged below (FFmpeg's own
            # stereo→mono downmix scales by 1/√2, which would change levels against read_audio).
            self._resampler = av.AudioResampler(format="fltp", rate=self.rate)
            self._input_rate = frame.sample_rate
        chunks = [f.to_ndarray().mean(axis=0) for f in self._resampler.resample(frame)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def resample_array(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Downmix (channels last or first, the smaller axis) and resample a numpy signal."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 2:
            axis = 0 if samples.shape[0] < samples.shape[1] else 1
            samples = samples.mean(axis=axis)
        if sample_rate == self.rate:
            return samples.astype(np.float32, copy=False)
        return resample(samples, sample_rate, self.rate)


def _silero_loader() -> Callable[[], Any] | None:
    try:
        from silero_vad import load_silero_vad
    except Exception:
        return None
    return load_silero_vad  # type: ignore[no-any-return]


def _webrtcvad_module() -> Any:
    try:
        import webrtcvad
    except Exception:
        return None
    return webrtcvad


def available_vad_backends() -> list[str]:
    """The VAD backends that can be used here, best first (``"energy"`` is always there)."""
    backends = []
    if _silero_loader() is not None:
        backends.append("silero")
    if _webrtcvad_module() is not None:
        backends.append("webrtcvad")
    backends.append("energy")
    return backends


class VoiceActivityDetector:
    """Says whether a 16 kHz signal holds speech, so silence is never classified.

    Args:
        backend: ``"auto"`` (the best of :func:`available_vad_backends`), ``"silero"``
            (silero-vad: a small neural VAD whose model ships inside its wheel, no download),
            ``"webrtcvad"`` (Google's WebRTC GMM VAD) or ``"energy"`` (RMS above
            ``energy_dbfs``; cannot tell speech from noise).
        threshold: silero's speech probability threshold per 32 ms chunk.
        min_speech_fraction: the share of chunks that must be speech for the window to count.
        energy_dbfs: the RMS level (dBFS) the energy backend requires.
        aggressiveness: webrtcvad's mode, 0 (least) to 3 (most aggressive filtering).

    Raises:
        ValueError: an unknown or unavailable backend.
    """

    def __init__(
        self,
        backend: str = "auto",
        *,
        threshold: float = 0.5,
        min_speech_fraction: float = 0.2,
        energy_dbfs: float = -45.0,
        aggressiveness: int = 2,
    ) -> None:
        available = available_vad_backends()
        if backend == "auto":
            backend = available[0]
        if backend not in ("silero", "webrtcvad", "energy"):
            raise ValueError(f"unknown VAD backend {backend!r}; choose silero, webrtcvad or energy")
        if backend not in available:
            raise ValueError(
                f"VAD backend {backend!r} is not installed here (available: {', '.join(available)})"
            )
        self.backend = backend
        self.threshold = threshold
        self.min_speech_fraction = min_speech_fraction
        self.energy_dbfs = energy_dbfs
        self._lock = threading.Lock()  # silero keeps recurrent state: one caller at a time
        self._model: Any = None
        if backend == "silero":
            loader = _silero_loader()
            assert loader is not None
            self._model = loader()
        elif backend == "webrtcvad":
            self._model = _webrtcvad_module().Vad(aggressiveness)

    def speech_fraction(self, signal: np.ndarray, sample_rate: int = TARGET_SAMPLE_RATE) -> float:
        """The share (0-1) of the signal's chunks that hold speech."""
        signal = np.asarray(signal, dtype=np.float32).reshape(-1)
        if sample_rate != TARGET_SAMPLE_RATE:
            signal = resample(signal, sample_rate, TARGET_SAMPLE_RATE)
        if signal.shape[0] == 0:
            return 0.0
        if self.backend == "energy":
            return self._energy_fraction(signal)
        with self._lock:
            if self.backend == "silero":
                return self._silero_fraction(signal)
            return self._webrtc_fraction(signal)

    def is_speech(self, signal: np.ndarray, sample_rate: int = TARGET_SAMPLE_RATE) -> bool:
        """Whether enough of the signal is speech (``min_speech_fraction``)."""
        return self.speech_fraction(signal, sample_rate) >= self.min_speech_fraction

    def _energy_fraction(self, signal: np.ndarray) -> float:
        chunk = 480  # 30 ms
        n = signal.shape[0] // chunk
        if n == 0:
            frames = signal.reshape(1, -1)
        else:
            frames = signal[: n * chunk].reshape(n, chunk).astype(np.float64)
        rms = np.sqrt(np.mean(frames**2, axis=1))
        with np.errstate(divide="ignore"):
            level = 20 * np.log10(np.maximum(rms, 1e-12))
        return float(np.mean(level > self.energy_dbfs))

    def _silero_fraction(self, signal: np.ndarray) -> float:
        import torch  # silero-vad needs torch; ser_core already depends on it

        chunk = 512  # the chunk size silero-vad takes at 16 kHz
        n = signal.shape[0] // chunk
        if n == 0:
            signal = np.pad(signal, (0, chunk - signal.shape[0]))
            n = 1
        self._model.reset_states()
        hits = 0
        with torch.no_grad():
            for i in range(n):
                x = torch.from_numpy(np.ascontiguousarray(signal[i * chunk : (i + 1) * chunk]))
                if float(self._model(x, TARGET_SAMPLE_RATE).item()) >= self.threshold:
                    hits += 1
        return hits / n

    def _webrtc_fraction(self, signal: np.ndarray) -> float:
        chunk = 480  # 30 ms at 16 kHz, a frame size webrtcvad accepts
        pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2")
        n = pcm.shape[0] // chunk
        if n == 0:
            return 0.0
        hits = sum(
            bool(self._model.is_speech(pcm[i * chunk : (i + 1) * chunk].tobytes(), 16000))
            for i in range(n)
        )
        return hits / n


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


# ----------------------------------------------------------------------------- replay
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
