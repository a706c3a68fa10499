"""Unit tests of ser_core.app_support (no streamlit, no browser)."""

from __future__ import annotations

import io
import itertools
import threading
import time
from pathlib import Path

import av
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import soundfile as sf

from ser_core.app_support import plots, samples, session
from ser_core.audio import read_audio
from ser_core.evaluation import confusion
from ser_core.inference import live
from ser_core.inference.results import segment_index

SR = 16000


def _tone(freq: float, seconds: float, rate: int, level: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.shape[0])))
    return float(np.fft.rfftfreq(signal.shape[0], 1 / rate)[int(np.argmax(spectrum))])


# ----------------------------------------------------------------------------- plots
def test_waveform_envelope_keeps_time_axis_in_seconds() -> None:
    signal = _tone(200, 10.0, SR)
    fig = plots.waveform_figure(signal, SR, max_points=500)
    assert isinstance(fig, go.Figure)
    xs = np.concatenate([np.asarray(tr.x) for tr in fig.data])
    assert len(fig.data[0].x) <= 500
    assert xs.max() == pytest.approx(10.0, abs=0.05)
    short = plots.waveform_figure(signal[:1000], SR)
    assert len(short.data[0].y) == 1000


def test_mel_and_explanation_share_the_time_axis() -> None:
    mel = np.random.default_rng(0).normal(size=(64, 101)).astype(np.float32)
    times = np.arange(101) * 0.01
    fig = plots.mel_figure(mel, times)
    assert np.allclose(fig.data[0].x, times)
    overlay = plots.explanation_figure(
        np.abs(mel) / np.abs(mel).max(), "time-frequency", times=times, mel=mel, mel_times=times
    )
    assert len(overlay.data) == 2
    assert np.allclose(overlay.data[1].x, times)
    strip = plots.explanation_figure(
        np.linspace(0, 1, 20), "time", duration=1.0, mel=mel, mel_times=times
    )
    assert float(np.max(strip.data[1].x)) <= 1.0
    alone = plots.explanation_figure(np.linspace(0, 1, 20), "time", times=np.linspace(0, 1, 20))
    assert np.asarray(alone.data[0].z).shape == (1, 20)
    features = plots.explanation_figure(
        np.arange(30, dtype=float),
        "feature",
        feature_names=[f"f{i}" for i in range(30)],
        top_features=5,
    )
    assert list(features.data[0].y)[-1] == "f29"
    with pytest.raises(ValueError, match="times has"):
        plots.explanation_figure(np.ones(5), "time", times=np.arange(4))
    with pytest.raises(ValueError, match="unknown explanation kind"):
        plots.explanation_figure(np.ones(5), "sound")


def _luminance(colour: str) -> float:
    r, g, b = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_spectrograms_draw_silence_blank_and_speech_darker() -> None:
    """Quiet must never look louder than speech: the lowest level is white, levels are dB
    re the clip's peak with a floor, and every view of the mel uses the same scale."""
    mel = np.full((64, 100), -80.0, dtype=np.float32)  # digital silence at the dB floor
    mel[:, 40:60] = np.linspace(-30.0, 12.0, 64)[:, None]  # speech
    times = np.arange(100) * 0.01
    heat = plots.mel_figure(mel, times).data[0]
    assert heat.zmin == -plots.SPECTROGRAM_RANGE_DB and heat.zmax == 0.0
    z = np.asarray(heat.z)
    assert z.max() == 0.0 and z[:, 0].max() == -plots.SPECTROGRAM_RANGE_DB
    scale = [c for _, c in heat.colorscale]
    assert _luminance(scale[0]) > 0.95  # silence: blank
    assert all(
        _luminance(a) > _luminance(b) for a, b in itertools.pairwise(scale)
    )  # louder: darker
    quiet = plots.spectrogram_levels(mel - 40.0)  # a quiet recording keeps its contrast
    assert np.allclose(quiet, plots.spectrogram_levels(mel), atol=1e-4)
    for fig in (
        plots.explanation_figure(np.ones((64, 100)), "time-frequency", mel=mel, mel_times=times),
        plots.explanation_figure(np.ones(10), "time", duration=1.0, mel=mel, mel_times=times),
    ):
        under = next(trace for trace in fig.data if trace.name == "mel")
        assert [c for _, c in under.colorscale] == scale
        assert np.array_equal(np.asarray(under.z), z)


def test_probability_and_timeline_figures() -> None:
    probs = {"neutral": 0.1, "sad": 0.7, "angry": 0.2}
    fig = plots.probability_figure(probs)
    assert list(fig.data[0].x) == list(probs)
    assert list(fig.data[0].marker.opacity) == [0.45, 1.0, 0.45]
    windows = pd.DataFrame(
        {
            "start": [0.0, 1.0],
            "end": [2.0, 3.0],
            "neutral": [0.2, 0.3],
            "sad": [0.8, 0.7],
            "label": ["sad", "sad"],
        }
    )
    timeline = plots.timeline_figure(windows)
    assert [tr.name for tr in timeline.data] == ["neutral", "sad"]
    assert list(timeline.data[0].x) == [1.0, 2.0]
    # A prediction table (Predictor.predict_windows): start and end are index levels.
    indexed = windows.drop(columns=["start", "end"]).set_axis(
        segment_index("", windows["start"], windows["end"]), axis=0
    )
    timeline = plots.timeline_figure(indexed)
    assert [tr.name for tr in timeline.data] == ["neutral", "sad"]
    assert list(timeline.data[0].x) == [1.0, 2.0]


def test_compare_group_confusion_human_and_curves() -> None:
    table = pd.DataFrame(
        {
            "model": ["a", "b"],
            "label": ["sad", "angry"],
            "confidence": [0.6, 0.9],
            "latency_ms": [12.0, 40.0],
        }
    )
    assert len(plots.compare_figure(table).data) == 2
    by_group = pd.DataFrame(
        {
            "n": [10, 12],
            "ua": [0.5, 0.7],
            "ua_low": [0.4, 0.6],
            "ua_high": [0.6, 0.8],
            "model": ["m", "m"],
        },
        index=pd.Index(["female", "male"], name="gender"),
    )
    fig = plots.group_metric_figure(by_group, "ua", color="model", overall=0.6)
    bar = fig.data[0]
    assert list(bar.x) == ["female", "male"]
    assert np.allclose(bar.error_y.array, [0.1, 0.1])
    assert np.allclose(bar.error_y.arrayminus, [0.1, 0.1])
    cm = confusion(["a", "a", "b"], ["a", "b", "b"], ["a", "b"], normalize="true")
    heat = plots.confusion_figure(cm, normalized=True)
    assert heat.data[0].text[0][0] == "50%"
    per_file = pd.DataFrame(
        {
            "path": ["x/1.wav", "x/2.wav"],
            "true": ["sad", "sad"],
            "predicted": ["sad", "angry"],
            "correct": [True, False],
            "p_true": [0.9, 0.2],
            "human_recognized_pct": [95.0, 80.0],
        }
    )
    assert len(plots.human_vs_model_figure(per_file).data) == 2
    log = pd.DataFrame(
        {
            "epoch": [1, 2],
            "train_loss": [1.0, 0.5],
            "val_loss": [1.1, 0.9],
            "train_ua": [0.4, 0.6],
            "val_ua": [0.3, 0.5],
        }
    )
    assert len(plots.training_curves_figure(log).data) == 4


def test_colors_are_stable() -> None:
    assert plots.color_for("angry") == plots.EMOTION_COLORS["angry"]
    assert plots.color_for("unknown-label") == plots.color_for("unknown-label")


# ----------------------------------------------------------------------------- session
def test_session_keys_are_unique_and_results_are_tied_to_the_clip() -> None:
    assert len(set(session.ALL_KEYS)) == len(session.ALL_KEYS)
    state: dict[str, object] = {}
    session.set_result(state, session.DETECT_RESULT, session.ClipResult("clip-1", {"x": 1}))
    assert session.get_result(state, session.DETECT_RESULT, "clip-1") is not None
    assert session.get_result(state, session.DETECT_RESULT, "clip-2") is None
    session.clear_result(state, session.DETECT_RESULT)
    assert session.get_result(state, session.DETECT_RESULT, "clip-1") is None


# ----------------------------------------------------------------------------- samples
def test_synthetic_vowel_has_the_requested_pitch_and_length() -> None:
    signal = samples.synthetic_vowel(1.0, 200.0, 200.0, vibrato_depth=0.0)
    assert signal.dtype == np.float32 and signal.shape == (SR,)
    assert np.max(np.abs(signal)) == pytest.approx(0.3, rel=1e-3)
    clip = read_audio(samples.to_wav_bytes(signal))
    assert clip.duration == pytest.approx(1.0)


def test_synthetic_samples_fall_back_to_numpy_without_espeak() -> None:
    clips = samples.synthetic_samples(use_espeak=False)
    assert len(clips) >= 3
    for clip in clips:
        assert clip.synthetic and clip.emotion is None
        assert clip.title.startswith(samples.SYNTHETIC_PREFIX)
        assert read_audio(clip.source()).duration > 1.0


@pytest.mark.skipif(not samples.espeak_available(), reason="espeak-ng is not installed")
def test_espeak_samples_are_speech_at_different_rates() -> None:
    clips = samples.synthetic_samples(use_espeak=True)
    assert all("espeak-ng" in c.title for c in clips)
    durations = [read_audio(c.source()).duration for c in clips]
    assert durations[0] > durations[2]  # slow speech is longer than fast speech


def test_long_clip_is_long() -> None:
    assert read_audio(samples.long_synthetic_clip(12.0)).duration == pytest.approx(12.0, abs=0.01)


def test_corpus_samples_pick_per_emotion(tmp_path: Path) -> None:
    rows = []
    for emotion in ("sad", "angry"):
        for i in range(4):
            path = tmp_path / f"{emotion}{i}.wav"
            sf.write(path, _tone(200, 0.5, SR), SR)
            rows.append({"path": str(path), "corpus": "c", "emotion": emotion, "duration": 0.5})
    picked = samples.corpus_samples(pd.DataFrame(rows), per_emotion=2)
    assert len(picked) == 4
    assert {p.emotion for p in picked} == {"sad", "angry"}
    assert all(not p.synthetic and p.path for p in picked)
    assert picked[0].audio_bytes()[:4] == b"RIFF"
    assert samples.find_corpus_manifest(None) is None
    assert samples.find_corpus_manifest(str(tmp_path / "missing")) is None


# ----------------------------------------------------------------------------- live
def test_ring_buffer_wraps_and_keeps_the_latest() -> None:
    ring = live.RingBuffer(10)
    ring.write(np.arange(6, dtype=np.float32))
    assert np.array_equal(ring.latest(3), [3, 4, 5])
    ring.write(np.arange(6, 12, dtype=np.float32))
    assert len(ring) == 10 and ring.total_written == 12
    assert np.array_equal(ring.latest(10), np.arange(2, 12))
    assert np.array_equal(ring.latest(100), np.arange(2, 12))
    ring.write(np.arange(100, 125, dtype=np.float32))
    assert np.array_equal(ring.latest(4), [121, 122, 123, 124])
    ring.clear()
    assert ring.latest(5).shape == (0,)
    with pytest.raises(ValueError, match="capacity"):
        live.RingBuffer(0)


def test_ring_buffer_is_safe_across_threads() -> None:
    ring = live.RingBuffer(48000)
    chunk = np.ones(160, dtype=np.float32)

    def writer() -> None:
        for _ in range(500):
            ring.write(chunk)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(200):
        assert np.all(ring.latest(16000) == 1.0)
    for t in threads:
        t.join()
    assert ring.total_written == 4 * 500 * 160


def _frames(signal: np.ndarray, rate: int, channels: int) -> list[av.AudioFrame]:
    """Browser-like 20 ms s16 packed frames."""
    return list(live.browser_frames(signal, rate, channels=channels, frame_samples=rate // 50))


@pytest.mark.parametrize("channels", [1, 2])
def test_frame_resampler_turns_48k_frames_into_16k_mono(channels: int) -> None:
    resampler = live.FrameResampler()
    signal = _tone(440, 1.0, 48000)
    out = np.concatenate([resampler(f) for f in _frames(signal, 48000, channels)])
    assert out.dtype == np.float32
    assert abs(out.shape[0] - 16000) <= 400  # the filter holds back a few ms
    assert _peak_hz(out[2000:], 16000) == pytest.approx(440, abs=5)
    assert np.max(np.abs(out)) == pytest.approx(0.5, abs=0.05)


def test_resample_array_downmixes_and_resamples() -> None:
    resampler = live.FrameResampler()
    stereo = np.stack([_tone(300, 1.0, 44100)] * 2, axis=1)
    out = resampler.resample_array(stereo, 44100)
    assert out.shape == (16000,)
    assert _peak_hz(out, 16000) == pytest.approx(300, abs=5)


def test_energy_vad_separates_silence_from_sound() -> None:
    vad = live.VoiceActivityDetector("energy")
    assert not vad.is_speech(np.zeros(SR, dtype=np.float32))
    assert vad.is_speech(_tone(200, 1.0, SR, 0.3))
    with pytest.raises(ValueError, match="unknown VAD backend"):
        live.VoiceActivityDetector("magic")


@pytest.mark.skipif("silero" not in live.available_vad_backends(), reason="silero-vad missing")
def test_silero_vad_rejects_silence_and_noise_hum_but_accepts_speech() -> None:
    vad = live.VoiceActivityDetector("silero")
    assert vad.speech_fraction(np.zeros(SR, dtype=np.float32)) == 0.0
    if samples.espeak_available():
        speech = read_audio(samples.espeak_wav("Hello, how are you today?")).signal
        assert vad.is_speech(speech)


def test_live_session_classifies_speech_only_and_saves_csv() -> None:
    calls: list[int] = []

    def predict(signal: np.ndarray, rate: int) -> tuple[str, dict[str, float]]:
        calls.append(signal.shape[0])
        return "sad", {"neutral": 0.2, "sad": 0.8}

    session_ = live.LiveSession(
        ["neutral", "sad"], window=1.0, vad=live.VoiceActivityDetector("energy")
    )
    assert session_.step(predict) is None  # nothing received yet
    for frame in _frames(np.zeros(48000, dtype=np.float32), 48000, 2):
        session_.push_frame(frame)
    silent = session_.step(predict)
    assert silent is not None and not silent.speech and calls == []
    assert session_.step(predict) is None  # no new audio since the last step
    session_.push_samples(samples.synthetic_vowel(1.5, level=0.5), SR)
    voiced = session_.step(predict)
    assert voiced is not None and voiced.speech and voiced.label == "sad"
    assert calls == [SR]
    timeline = session_.timeline()
    assert list(timeline.columns[:5]) == [
        "time",
        "wall_clock",
        "speech",
        "speech_fraction",
        "label",
    ]
    assert timeline["sad"].isna().tolist() == [True, False]
    assert session_.current() is not None and session_.current().label == "sad"
    back = pd.read_csv(io.BytesIO(session_.to_csv()))
    assert len(back) == 2 and back["label"].iloc[1] == "sad"
    session_.reset()
    assert session_.timeline().empty and session_.seconds_received == 0


def test_live_session_says_when_the_microphone_sends_nothing_or_silence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    session_ = live.LiveSession(["neutral"], vad=live.VoiceActivityDetector("energy"))
    assert session_.microphone_problem(playing=False) is None
    assert session_.microphone_problem(playing=True) is None  # just started
    clock[0] += 6.0
    nothing = session_.microphone_problem(playing=True)
    assert nothing is not None and "No audio has arrived" in nothing
    for frame in _frames(np.zeros(48000, dtype=np.float32), 48000, 2):  # a muted input
        session_.push_frame(frame)
    muted = session_.microphone_problem(playing=True)
    assert muted is not None and "only silence" in muted
    session_.push_samples(samples.synthetic_vowel(1.0, level=0.3), SR)
    assert session_.microphone_problem(playing=True) is None
    clock[0] += 6.0  # the voice stopped, the stream goes on with zeros
    session_.push_samples(np.zeros(SR, np.float32), SR)
    assert "only silence" in (session_.microphone_problem(playing=True) or "")
    assert session_.microphone_problem(playing=False) is None  # STOP resets the wait
    assert session_.microphone_problem(playing=True) is None


def _speech_and_silence(seconds: int) -> np.ndarray:
    """48 kHz: alternating 3 s of vowel and 2 s of silence."""
    vowel = samples.synthetic_vowel(3.0, level=0.5, sample_rate=48000)
    cycle = np.concatenate([vowel, np.zeros(2 * 48000, dtype=np.float32)])
    return np.tile(cycle, seconds // 5 + 1)[: seconds * 48000]


def test_replay_through_the_frame_callback_drops_no_window() -> None:
    """A minute of browser frames pushed from another thread at 10x real time: one step per
    second of audio, none missed, silence never classified, the buffer bounded. (At 30x a
    slot is 33 ms, which a busy two-core machine's scheduler alone can overrun.)"""
    calls: list[int] = []

    def predict(signal: np.ndarray, rate: int) -> tuple[str, dict[str, float]]:
        calls.append(signal.shape[0])
        return "sad", {"neutral": 0.2, "sad": 0.8}

    session_ = live.LiveSession(
        ["neutral", "sad"], window=2.0, vad=live.VoiceActivityDetector("energy")
    )
    report = live.replay(
        session_, live.browser_frames(_speech_and_silence(60)), predict, speed=10.0
    )
    assert report.audio_seconds == pytest.approx(60.0, abs=0.05)
    assert 57 <= report.steps <= 61
    assert report.missed_steps == 0
    assert float(report.gaps.max()) < 1.5
    timeline = session_.timeline()
    assert len(timeline) == report.steps == len(report.step_seconds)
    assert report.classified == len(calls) == int(timeline["label"].notna().sum())
    assert 0 < report.classified < report.steps  # the 2 s silences are skipped
    assert set(calls[2:]) == {32000}  # 2 s windows once 2 s have arrived
    assert len(session_.buffer) == session_.buffer.capacity  # 10 s kept, no growth


def test_replay_counts_the_steps_a_slow_model_misses() -> None:
    def slow(signal: np.ndarray, rate: int) -> tuple[str, dict[str, float]]:
        time.sleep(0.25)  # 2.5 step slots at 10x real time
        return "sad", {"neutral": 0.0, "sad": 1.0}

    session_ = live.LiveSession(
        ["neutral", "sad"], window=2.0, vad=live.VoiceActivityDetector("energy")
    )
    vowel = samples.synthetic_vowel(10.0, level=0.5, sample_rate=48000)
    report = live.replay(session_, live.browser_frames(vowel), slow, speed=10.0)
    assert report.missed_steps >= 3
    # 0.25 s per second of audio: fast enough at 1x, too slow at 10x (a slot is 0.1 s).
    assert report.real_time_factor == pytest.approx(0.25, abs=0.05)
