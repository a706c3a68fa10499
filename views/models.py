"""Models: one card per shipped checkpoint."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ser_core.app_support import cache, plots, session
from ser_core.errors import SERError
from views._shared import get_card, get_latency, require_models, show_error

ENROL_HINT = "pick it on the Detect page and enrol your voice under Speaker enrolment"


def _compact(count: int | None) -> str:
    """41.5k, 20.6M: a parameter count short enough for a metric."""
    if not count:
        return "–"
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def _parameters(column: DeltaGenerator, card: cache.ModelCard) -> None:
    """The parameter count. The metric holds the checkpoint's own parameters alone (a longer
    value is cut off in a quarter of the page); a frozen encoder goes on a caption below it."""
    if card.encoder_parameters:
        column.metric(
            "Parameters",
            _compact(card.parameters),
            help=f"Head {card.parameters or 0:,} (the checkpoint) on a frozen encoder of "
            f"{card.encoder_parameters:,} (shared, not stored in the checkpoint).",
        )
        column.caption(f"head only, + frozen encoder {_compact(card.encoder_parameters)}")
    else:
        exact = f"{card.parameters:,} parameters" if card.parameters else None
        column.metric("Parameters", _compact(card.parameters), help=exact)


def _latency(column: DeltaGenerator, card: cache.ModelCard) -> None:
    """The measured latency, or a short reason instead of a number."""
    try:
        seconds = get_latency(card.name)
    except SERError as error:
        column.metric("Latency (3 s clip)", "–", help=f"Could not be measured: {error}")
        return
    adapted = " Speaker-adapted: measured adapted to a synthetic voice."
    note = adapted if card.speaker_adapted else ""
    column.metric(
        "Latency (3 s clip)",
        f"{seconds * 1000:.0f} ms",
        help=f"Median time to label a 3 s clip on this machine.{note}",
    )


def _show_card(name: str, measure: bool) -> None:
    card = get_card(name)
    st.subheader(f"{name} · `{card.architecture}`")
    if card.speaker_adapted:
        st.info(f"Speaker-adapted: before it can label your voice, {ENROL_HINT}.", icon="🎙️")
    if card.summary:
        st.write(card.summary)
    cols = st.columns(4)
    _parameters(cols[0], card)
    test = card.metrics.get("test", {})
    on = f"Measured on {card.test_set}." if card.test_set else None
    cols[1].metric("Test UA", f"{test['ua']:.1%}" if "ua" in test else "–", help=on)
    cols[2].metric("Test WA", f"{test['wa']:.1%}" if "wa" in test else "–", help=on)
    if measure:
        _latency(cols[3], card)
    st.markdown(
        f"**Seed paper:** {card.reference or '–'}  \n"
        f"**Input:** {card.input_kind or '–'} ({card.feature_config.get('kind', '–')}) · "
        f"**explanation:** {card.explanation or '–'} · **labels:** {', '.join(card.labels)}  \n"
        f"**Training data:** {', '.join(card.corpora) or '–'}  \n"
        f"**Protocol:** {card.protocol or '–'}  \n"
        f"**Test set:** {card.test_set or '–'}"
    )
    if card.log is not None and len(card.log):
        st.plotly_chart(
            plots.training_curves_figure(card.log),
            key=session.chart_key("models", "curves", name),
        )
    if card.readme:
        with st.expander("Model card (README.md)"):
            st.markdown(card.readme)


st.title("Models")
names = require_models(distinct=True)
measure = st.toggle("Measure latency on this machine", value=True, key=session.MODELS_LATENCY)

for name in names:
    with st.container(border=True):
        try:
            _show_card(name, measure)
        except Exception as error:  # one broken checkpoint must not hide the cards after it
            st.markdown(f"**{name}**: this model's card cannot be shown.")
            show_error(error)
