"""Live microphone: a rolling emotion timeline from the browser's microphone (streamlit-webrtc).

The browser only sends (``SENDONLY``, audio only: no player, no video element). An audio sink
calls ``LiveSession.push_frame`` on streamlit-webrtc's thread for every 20 ms frame (resample to
16 kHz with the session's one resampler, then append to a lock-guarded ring buffer). A fragment
re-running once a second takes the latest window, gates it with the voice-activity detector and
classifies it only when someone speaks; it also says when no audio, or only digital silence,
arrives.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_webrtc import WebRtcMode, create_audio_sink_track, webrtc_streamer

from ser_core.app_support import plots, session
from ser_core.inference.live import LiveSession, VoiceActivityDetector
from views._shared import get_predictor, require_models

st.title("Live microphone")
st.caption(
    "Press **START**, allow the microphone and speak. Every second the last 2 s are checked for "
    "speech (silence is never classified) and, if someone speaks, classified. Works on "
    "localhost without a TURN server. If the player says *Permission denied*, allow the "
    "microphone for this site (the icon in the address bar) and press START again."
)

names = require_models()
model = st.selectbox("Model", names, key=session.LIVE_MODEL)
predictor = get_predictor(model)
if predictor.speaker_adapted:
    enrolment = st.session_state.get(session.ENROLMENTS, {}).get(model)
    if enrolment is None:
        st.warning(
            f"{model} is speaker-adapted: enrol your voice on the Detect page first (Speaker "
            "enrolment), or pick another model."
        )
        st.stop()
    predictor = predictor.adapted_to(enrolment)


@st.cache_resource(show_spinner="Loading the voice-activity detector…")
def get_vad() -> VoiceActivityDetector:
    """One VAD per process (silero-vad when installed)."""
    return VoiceActivityDetector("auto")


live: LiveSession | None = st.session_state.get(session.LIVE_SESSION)
if live is None or live.labels != predictor.labels:
    live = LiveSession(predictor.labels, window=2.0, vad=get_vad())
    st.session_state[session.LIVE_SESSION] = live

try:
    ctx = webrtc_streamer(
        key=session.LIVE_WEBRTC,
        mode=WebRtcMode.SENDONLY,
        # The sink pulls every frame (no queue to drop from) on streamlit-webrtc's thread;
        # push_frame never calls st.*. The callback is re-pointed at this run's session.
        sink_audio_track=create_audio_sink_track(live.push_frame, key=session.LIVE_SINK),
        media_stream_constraints={"audio": True, "video": False},
        rtc_configuration={"iceServers": []},  # localhost: no STUN/TURN lookups, no network
    )
    playing = bool(ctx.state.playing)
except (AttributeError, RuntimeError) as error:  # no browser session (e.g. AppTest)
    st.warning(f"The live microphone needs a browser session (`streamlit run app.py`): {error}")
    playing = False


def predict(signal: np.ndarray, sample_rate: int) -> tuple[str, dict[str, float]]:
    result = predictor.predict_signal(signal, sample_rate)
    return result.label, result.probabilities


@st.fragment(run_every=1.0 if playing else None)
def panel() -> None:
    """The big current emotion and the rolling timeline, refreshed about once a second."""
    assert live is not None
    if playing:
        live.step(predict)
    problem = live.microphone_problem(playing)
    if problem:
        st.warning(problem, icon=":material/mic_off:")
    current = live.current()
    timeline = live.timeline()
    left, right = st.columns([1, 3])
    with left:
        st.metric(
            "Current emotion",
            current.label if current else "…",
            help="The latest window that held speech (silence is never classified).",
        )
        last = timeline.iloc[-1] if len(timeline) else None
        if last is not None and not bool(last["speech"]):
            st.caption("Listening… (no speech in the last window)")
        st.caption(
            f"VAD: {live.vad.backend} · received {live.seconds_received:.0f} s of audio · "
            f"{len(timeline)} steps"
        )
    with right:
        st.plotly_chart(
            plots.timeline_figure(
                timeline.tail(120),
                labels=live.labels,
                time_column="time",
                title="Emotion over time (last 2 minutes)",
            ),
            key=session.chart_key("live", "timeline"),
        )


panel()
left, right = st.columns(2)
left.download_button(
    "Save the timeline (CSV)",
    live.to_csv(),
    "live_emotion_timeline.csv",
    "text/csv",
    key=session.LIVE_CSV,
)
if right.button("Clear the timeline", key=session.LIVE_CLEAR):
    live.reset()
    st.rerun()
