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

The pieces live in private modules beside this one (``_live_audio``: ring buffer and frame
resampler; ``_vad``: voice activity; ``_live_session``: :class:`LiveSession`; ``_replay``:
browser frames and replay); import them from here.
"""

from __future__ import annotations

from ser_core.inference._live_audio import FrameResampler, RingBuffer
from ser_core.inference._live_session import (
    SILENCE_FLOOR,
    LiveSession,
    PredictFn,
    StepResult,
)
from ser_core.inference._replay import ReplayReport, browser_frames, replay
from ser_core.inference._vad import VoiceActivityDetector, available_vad_backends

__all__ = [
    "SILENCE_FLOOR",
    "FrameResampler",
    "LiveSession",
    "PredictFn",
    "ReplayReport",
    "RingBuffer",
    "StepResult",
    "VoiceActivityDetector",
    "available_vad_backends",
    "browser_frames",
    "replay",
]
