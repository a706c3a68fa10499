"""Models: one card per shipped checkpoint."""

from __future__ import annotations

import streamlit as st

from pages._shared import get_card, get_latency, require_models
from ser_core.app_support import plots, session


def _compact(count: int | None) -> str:
    """41.5k, 20.6M: a parameter count short enough for a metric."""
    if not count:
        return "–"
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


st.title("Models")
names = require_models(distinct=True)
measure = st.toggle("Measure latency on this machine", value=True, key=session.MODELS_LATENCY)

for name in names:
    card = get_card(name)
    with st.container(border=True):
        st.subheader(f"{name} · `{card.architecture}`")
        if card.summary:
            st.write(card.summary)
        cols = st.columns(4)
        if card.encoder_parameters:  # compact, or the metric is cut off in its column
            cols[0].metric(
                "Parameters",
                f"head {_compact(card.parameters)} · frozen encoder "
                f"{_compact(card.encoder_parameters)}",
                help=f"Head {card.parameters or 0:,} (the checkpoint) on a frozen encoder of "
                f"{card.encoder_parameters:,} (shared, not stored in the checkpoint).",
            )
        else:
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
            st.plotly_chart(
                plots.training_curves_figure(card.log),
                key=session.chart_key("models", "curves", name),
            )
        if card.readme:
            with st.expander("Model card (README.md)"):
                st.markdown(card.readme)
