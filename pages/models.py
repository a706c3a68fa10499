"""Models: one card per shipped checkpoint."""

from __future__ import annotations

import streamlit as st

from pages._shared import get_card, get_latency, require_models
from ser_core.app_support import plots

st.title("Models")
names = require_models(distinct=True)
measure = st.toggle("Measure latency on this machine", value=True, key="models.latency")

for name in names:
    card = get_card(name)
    with st.container(border=True):
        st.subheader(f"{name} · `{card.architecture}`")
        if card.summary:
            st.write(card.summary)
        cols = st.columns(4)
        cols[0].metric("Parameters", f"{card.parameters:,}" if card.parameters else "–")
        test = card.metrics.get("test", {})
        cols[1].metric("Test UA", f"{test['ua']:.1%}" if "ua" in test else "–")
        cols[2].metric("Test WA", f"{test['wa']:.1%}" if "wa" in test else "–")
        if measure:
            cols[3].metric("Latency (3 s clip)", f"{get_latency(name) * 1000:.0f} ms")
        st.markdown(
            f"**Seed paper:** {card.reference or '–'}  \n"
            f"**Input:** {card.input_kind or '–'} ({card.feature_config.get('kind', '–')}) · "
            f"**explanation:** {card.explanation or '–'} · **labels:** {', '.join(card.labels)}  \n"
            f"**Training data:** {', '.join(card.corpora) or '–'}  \n"
            f"**Protocol:** {card.protocol or '–'}"
        )
        if card.log is not None and len(card.log):
            st.plotly_chart(plots.training_curves_figure(card.log), key=f"models.curves.{name}")
        if card.readme:
            with st.expander("Model card (README.md)"):
                st.markdown(card.readme)
