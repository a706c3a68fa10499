"""Detect: one clip (upload, microphone or sample) → emotion, probabilities and views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from ser_core.app_support import cache, plots, session
from ser_core.app_support.samples import SYNTHETIC_PREFIX, Sample, long_synthetic_clip
from ser_core.errors import SERError
from views._shared import (
    clip_id,
    corpora_root,
    decode_once,
    get_corpus_samples,
    get_predictor,
    get_synthetic_samples,
    get_training_data,
    read_clip,
    require_models,
    show_error,
)

if TYPE_CHECKING:
    from ser_core.inference import Predictor

# Clips longer than this get an emotion timeline (the predictor's own windows).
LONG_CLIP_SECONDS = 6.0
# What a sample's standing means for a person judging the prediction.
SAMPLE_STATUS = {
    "held out": "held out: the model never trained on this clip.",
    "training speaker": "⚠️ from a **training speaker**: the model may have heard this very clip.",
    "validation speaker": "from a validation speaker (used to choose the model, not to train it).",
    "held-out speaker": "from a held-out speaker: the model never heard this voice.",
    "new corpus": "from a corpus the model never trained on.",
}
UPLOAD_TYPES = ["wav", "flac", "ogg", "oga", "opus", "mp3", "m4a", "aac", "aif", "aiff", "webm"]
MODES = ("Upload a file", "Record from the microphone", "Pick a sample")

st.title("Detect the emotion in a clip")

names = require_models()
model = st.selectbox(
    "Model", names, key=session.DETECT_MODEL, help="The default model comes first."
)
if cache.needs_enrolment(model):
    # The enrolment belongs to this session (the predictor is shared by every session).
    enrolments = st.session_state.setdefault(session.ENROLMENTS, {})
    with st.expander("Speaker enrolment (needed by this model)", expanded=model not in enrolments):
        st.caption(
            "This model is **speaker-adapted**: it normalises features with statistics of the "
            "speaker's own voice. Upload or record a few clips of the same voice (any emotion, "
            "3 s or more in all), then enrol; its results are labelled speaker-adapted."
        )
        clips = st.file_uploader(
            "Enrolment clips",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            key=session.ENROL_UPLOAD,
        )
        recording = st.audio_input("…or record the voice", key=session.ENROL_RECORD)
        sources = [*(clips or []), *([recording] if recording is not None else [])]
        if sources and st.button("Enrol this speaker", key=session.ENROL_BUTTON):
            decoded = [c for c in (read_clip(f) for f in sources) if c is not None]
            if decoded:
                try:
                    enrolments[model] = get_predictor(model).enrolment(
                        [np.asarray(c.signal) for c in decoded], decoded[0].sample_rate
                    )
                    st.success(f"Enrolled {len(decoded)} clip(s).")
                except SERError as error:
                    show_error(error)
        if model in enrolments:
            st.caption("A speaker is enrolled for this model.")


def current_predictor() -> Predictor:
    """The chosen model, adapted to this session's enrolment when it has one; loaded only when
    needed, so the page draws while the model loads in the background."""
    predictor = get_predictor(model)
    enrolment = session_enrolment()
    return predictor if enrolment is None else predictor.adapted_to(enrolment)


def session_enrolment() -> Any:
    """This session's enrolment for the chosen model, or None."""
    return st.session_state.get(session.ENROLMENTS, {}).get(model)


mode = st.radio("Audio", MODES, key=session.DETECT_INPUT_MODE, horizontal=True)

source: Any = None
audio_bytes: bytes | None = None
sample: Sample | None = None
if mode == MODES[0]:
    upload = st.file_uploader(
        "Audio file (WAV, FLAC, OGG, MP3, M4A, WebM, …)",
        type=UPLOAD_TYPES,
        key=session.DETECT_UPLOAD,
    )
    if upload is not None:
        source, audio_bytes = upload, upload.getvalue()
elif mode == MODES[1]:
    recording = st.audio_input("Record a clip", key=session.DETECT_RECORD)
    if recording is not None:
        source, audio_bytes = recording, recording.getvalue()
else:
    root = corpora_root()
    corpus = get_corpus_samples(root, model) if root else []
    synthetic = list(get_synthetic_samples())
    synthetic.append(
        Sample(
            title=f"{SYNTHETIC_PREFIX} long clip (generated tones, 12 s: calm → excited → calm)",
            data=long_synthetic_clip(),
            synthetic=True,
        )
    )
    options = corpus or synthetic
    if not corpus:
        st.info(
            "No corpus configured (set a folder in the sidebar or `SER_CORPORA`): these clips "
            "are **synthetic**, made by this app. They carry no emotion label; a prediction "
            "shows how the model reacts to rate, pitch and loudness, not whether it is right."
        )
    training = get_training_data(model)
    statuses = [training.status(s) for s in options]
    # Whether the model may have heard the clip is part of its name in the picker.
    titles = [
        f"{s.title} · {status}" if status else s.title
        for s, status in zip(options, statuses, strict=True)
    ]
    chosen = st.selectbox(
        "Sample",
        titles,
        key=session.DETECT_SAMPLE,
        help="“held out”: one of the model's test clips, never trained on. “training speaker”: "
        "the model was trained on this speaker and may have heard this very clip.",
    )
    sample = options[titles.index(chosen)]
    source, audio_bytes = sample.source(), sample.audio_bytes()
    if sample.emotion:
        st.caption(
            f"Acted emotion (from the corpus): **{sample.emotion}** · "
            + SAMPLE_STATUS.get(statuses[titles.index(chosen)], "")
        )

if source is None:
    st.caption("Upload, record or pick a clip, then press **Detect**.")
    st.stop()

# Decoded as soon as it is chosen: a file that is not audio is said at once, with no player.
clip_key = clip_id(source)
decoded = decode_once(source, clip_key, session.DETECT_CLIP)
if decoded is None:
    session.clear_result(st.session_state, session.DETECT_RESULT)
    st.stop()

if audio_bytes is not None:
    st.audio(audio_bytes)

key = clip_id(source, model)
pressed = st.button("Detect", type="primary", key=session.DETECT_BUTTON)
if pressed and cache.needs_enrolment(model) and session_enrolment() is None:
    st.error(
        f"**{model}** is speaker-adapted: it needs a few clips of the speaker's voice first. "
        "Open **Speaker enrolment** above, upload or record 3 s or more of the same voice and "
        "press **Enrol this speaker**, or pick another model.",
        icon="⚠️",
    )
    st.stop()
if pressed:
    clip = decoded
    try:
        predictor = current_predictor()
        timeline = clip.duration > LONG_CLIP_SECONDS
        bar = st.progress(0.0, text="Emotion timeline over sliding windows…") if timeline else None

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.progress(done / max(total, 1), text=f"Windows {done}/{total}")

        early = st.empty()
        # A still line, not st.spinner: twenty animated spinners kept the browsers repainting
        # and delayed every label under load (benchmarks/app_load.py).
        early.caption("Predicting…")

        def show_label(first: Any) -> None:
            # The label as soon as the model gives it; the explanation follows from that run.
            early.metric("Predicted emotion", first.label)
            ticket.done()

        # One call, one model pass: the label, its explanation, the timeline and the display
        # spectrogram together, from one decode and one runtime. From the click until the
        # label is shown, other sessions' figures wait (the ticket of cache.LABELS_FIRST).
        with cache.LABELS_FIRST.ticket() as ticket, cache.MODEL_PASSES:
            analysis = predictor.analyse(
                clip, windows=timeline, progress=progress, on_prediction=show_label
            )
        # The figures wait for the labels other sessions are still waiting for (the early
        # label stays on screen meanwhile).
        cache.LABELS_FIRST.wait_turn()
        early.empty()
        if bar is not None:
            bar.empty()
    except SERError as error:
        show_error(error)
        st.stop()
    session.set_result(
        st.session_state,
        session.DETECT_RESULT,
        session.ClipResult(
            key,
            {
                "analysis": analysis,
                "model": model,
                "model_name": predictor.model_name,
                "window_seconds": (predictor.window_seconds, predictor.hop_seconds),
                "labels": predictor.labels,
                "adapted": session_enrolment() is not None,
            },
        ),
    )

result = session.get_result(st.session_state, session.DETECT_RESULT, key)
if result is None:
    st.stop()

analysis = result.outputs["analysis"]
clip = analysis.clip
prediction = analysis.prediction
windows = analysis.windows

left, right = st.columns([1, 2])
with left:
    adapted = " (speaker-adapted)" if result.outputs["adapted"] else ""
    st.metric(f"Predicted emotion{adapted}", prediction.label)
    confidence = prediction.probabilities[prediction.label]
    st.caption(
        f"Confidence {confidence:.0%} · model **{model}** ({result.outputs['model_name']}) · "
        f"latency {prediction.latency * 1000:.0f} ms · clip {clip.duration:.1f} s"
    )
    if result.outputs["adapted"]:
        st.caption("Speaker-adapted: normalised with the enrolled voice.")
    if sample is not None and sample.synthetic:
        st.caption("Synthetic clip: there is no true emotion to compare with.")
    elif sample is not None and sample.emotion:
        if sample.emotion not in prediction.probabilities:
            st.caption(
                f"The model has no **{sample.emotion}** label (it knows "
                f"{', '.join(prediction.probabilities)}), so it cannot name the acted emotion."
            )
        else:
            verdict = "✅ matches" if sample.emotion == prediction.label else "❌ differs from"
            st.caption(f"{verdict} the acted emotion ({sample.emotion}).")
with right:
    st.plotly_chart(
        plots.probability_figure(prediction.probabilities, predicted=prediction.label),
        key=session.chart_key("detect", "probabilities"),
    )

mel, mel_times = analysis.spectrogram.values, analysis.spectrogram.times
explanation = analysis.explanation

tab_wave, tab_mel, tab_explain = st.tabs(["Waveform", "Mel spectrogram", "Explanation"])
with tab_wave:
    st.plotly_chart(
        plots.waveform_figure(clip.signal, clip.sample_rate),
        key=session.chart_key("detect", "wave"),
    )
with tab_mel:
    st.plotly_chart(plots.mel_figure(mel, mel_times), key=session.chart_key("detect", "mel"))
with tab_explain:
    st.caption(
        f"{explanation.method} map for **{explanation.label}** ({explanation.kind}); brighter = "
        "more weight in the decision."
    )
    st.plotly_chart(
        plots.explanation_figure(
            explanation.map,
            explanation.kind,
            times=explanation.times,
            duration=explanation.duration,
            mel=None if explanation.kind == "feature" else mel,
            mel_times=mel_times,
            feature_names=explanation.feature_names,
        ),
        key=session.chart_key("detect", "explanation"),
    )

if windows is not None and len(windows):
    st.subheader("Emotion over time")
    window, hop = result.outputs["window_seconds"]
    st.caption(f"{window:g} s windows every {hop:g} s; probability of each emotion per window.")
    st.plotly_chart(
        plots.timeline_figure(windows, labels=result.outputs["labels"]),
        key=session.chart_key("detect", "timeline"),
    )
    st.download_button(
        "Download the timeline (CSV)",
        windows.droplevel("file").to_csv().encode(),  # start, end, probabilities, label
        file_name="emotion_timeline.csv",
        mime="text/csv",
        key=session.DETECT_TIMELINE_CSV,
    )
