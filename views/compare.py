"""Compare models: the same clip through every shipped model, side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from ser_core.app_support import cache, plots, session
from ser_core.errors import SERError
from views._shared import (
    clip_id,
    get_card,
    get_predictor,
    get_synthetic_samples,
    read_clip,
    require_models,
    show_error,
)

st.title("Compare models on one clip")

names = require_models(distinct=True)

upload = st.file_uploader(
    "Audio file",
    type=["wav", "flac", "ogg", "mp3", "m4a", "webm", "opus"],
    key=session.COMPARE_UPLOAD,
)
source: Any
if upload is not None:
    source, audio = upload, upload.getvalue()
else:
    synthetic = get_synthetic_samples()
    titles = [s.title for s in synthetic]
    chosen = st.selectbox(
        "…or a synthetic sample (no emotion label)", titles, key=session.COMPARE_SAMPLE
    )
    picked = synthetic[titles.index(chosen)]
    source, audio = picked.source(), picked.audio_bytes()
st.audio(audio)

NEEDS_ENROLMENT = "needs enrolment"
ADAPTED = "adapted to the enrolled speaker"

enrolments = st.session_state.get(session.ENROLMENTS, {})
# An enrolment made after the run changes the key, so its model's row is not left stale.
key = clip_id(source, *names, *(f"enrolled:{n}" for n in names if n in enrolments))
if st.button("Run every model", type="primary", key=session.COMPARE_BUTTON):
    clip = read_clip(source)
    if clip is None:
        st.stop()
    outputs: dict[str, Any] = {
        "clip": clip,
        "rows": [],
        "explanations": {},
        "probs": {},
        "spectrogram": None,  # the display log-mel, from the first model's analysis
        "waiting": [],  # speaker-adapted models listed without a prediction: no enrolment yet
    }
    bar = st.progress(0.0, text="Running the models…")
    for i, name in enumerate(names):
        bar.progress(i / len(names), text=f"Running {name}…")
        enrolment = enrolments.get(name)
        if cache.needs_enrolment(name) and enrolment is None:
            # Needs the user's voice first: listed without a prediction (and without loading it).
            card = cache.model_card(name)
            outputs["waiting"].append(name)
            outputs["rows"].append(
                {
                    "model": card.display_name,
                    "architecture": card.architecture,
                    "label": None,
                    "confidence": None,
                    "latency_ms": None,
                    "trained on": ", ".join(card.corpora) or "?",
                    "test UA": card.test_ua,
                    "test set": card.test_set or "?",
                    "note": NEEDS_ENROLMENT,
                }
            )
            continue
        try:
            predictor = get_predictor(name)
            if predictor.speaker_adapted and enrolment is not None:
                predictor = predictor.adapted_to(enrolment)
            # One call per model: the explanation's pass gives the prediction too. Passes take
            # turns with other sessions' (see cache.MODEL_PASSES).
            with cache.MODEL_PASSES:
                analysis = predictor.analyse(
                    clip, windows=False, spectrogram=outputs["spectrogram"] is None
                )
        except SERError as error:
            show_error(error)
            continue
        prediction, explanation = analysis.prediction, analysis.explanation
        if analysis.spectrogram is not None:
            outputs["spectrogram"] = analysis.spectrogram
        card = get_card(name)
        outputs["rows"].append(
            {
                "model": card.display_name,
                "architecture": predictor.model_name,
                "label": prediction.label,
                "confidence": prediction.probabilities[prediction.label],
                "latency_ms": prediction.latency * 1000,
                "trained on": ", ".join(card.corpora) or "?",
                "test UA": card.test_ua,
                "test set": card.test_set or "?",
                "note": ADAPTED if predictor.speaker_adapted else "",
            }
        )
        outputs["probs"][card.display_name] = prediction.probabilities
        outputs["explanations"][card.display_name] = explanation
    # Sessions still waiting for a Detect label go first: the table and figures follow.
    cache.LABELS_FIRST.wait_turn()
    bar.empty()
    session.set_result(st.session_state, session.COMPARE_RESULT, session.ClipResult(key, outputs))

result = session.get_result(st.session_state, session.COMPARE_RESULT, key)
if result is None or not result.outputs["rows"]:
    st.stop()

table = pd.DataFrame(result.outputs["rows"])
waiting = result.outputs.get("waiting", [])
if waiting:
    st.info(
        f"{', '.join(waiting)} {'is' if len(waiting) == 1 else 'are'} speaker-adapted: pick "
        f"{'it' if len(waiting) == 1 else 'each'} on the Detect page and enrol your voice under "
        "Speaker enrolment, then run again here to compare "
        f"{'it' if len(waiting) == 1 else 'them'} too."
    )
# A static table: every row in view (no inner scroll bar) and long cells (the test set of a
# multi-corpus model) wrapped instead of cut off. The architecture stays in the CSV.
SHOWN = ["model", "label", "confidence", "latency_ms", "trained on", "test UA", "test set"]
shown = table[SHOWN + (["note"] if table["note"].astype(bool).any() else [])].rename(
    columns={"latency_ms": "latency (ms)"}
)
styled = shown.style.format(
    {"confidence": "{:.0%}", "latency (ms)": "{:.0f}", "test UA": "{:.1%}"}, na_rep="–"
)
predicted = table[table["note"] != NEEDS_ENROLMENT]
if predicted.empty:
    st.table(styled, hide_index=True)
    st.stop()
probs = pd.DataFrame(result.outputs["probs"]).T  # models × labels (NaN: label not in a model)
ensemble = probs.mean(axis=0, skipna=True)
ensemble = ensemble / ensemble.sum()
majority = predicted["label"].mode().iloc[0]
agreement = float((predicted["label"] == majority).mean())

c1, c2, c3 = st.columns(3)
c1.metric("Ensemble (mean) prediction", str(ensemble.idxmax()))
c2.metric("Most common label", majority)
c3.metric("Models agreeing", f"{agreement:.0%}", help=f"{len(predicted)} models with a prediction")

st.table(styled, hide_index=True)
st.caption(
    "test UA: unweighted accuracy on each model's own test set (the test set column); numbers "
    "measured on different test sets do not compare directly."
)
st.plotly_chart(plots.compare_figure(predicted), key=session.chart_key("compare", "chart"))
st.plotly_chart(
    plots.probability_figure(ensemble.to_dict(), title="Ensemble: mean probability"),
    key=session.chart_key("compare", "ensemble"),
)
st.download_button(
    "Download the table (CSV)",
    table.to_csv(index=False).encode(),
    "compare.csv",
    "text/csv",
    key=session.COMPARE_CSV,
)

st.subheader("Explanations")
spectrogram = result.outputs["spectrogram"]
mel = None if spectrogram is None else spectrogram.values
mel_times = None if spectrogram is None else spectrogram.times
explanations = result.outputs["explanations"]
columns = st.columns(2)
for i, (name, explanation) in enumerate(explanations.items()):
    with columns[i % 2]:
        st.plotly_chart(
            plots.explanation_figure(
                np.asarray(explanation.map),
                explanation.kind,
                times=explanation.times,
                duration=explanation.duration,
                mel=None if explanation.kind == "feature" else mel,
                mel_times=mel_times,
                feature_names=explanation.feature_names,
                title=f"{name}: {explanation.method} for {explanation.label}",
                height=240,
            ),
            key=session.chart_key("compare", "explain", name),
        )
