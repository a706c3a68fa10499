"""Helpers for the Streamlit demonstrator that do not import streamlit.

* :mod:`~ser_core.app_support.plots`: plotly figure builders (every chart the app shows);
* :mod:`~ser_core.app_support.session`: every ``st.session_state`` key, in one place;
* :mod:`~ser_core.app_support.samples`: sample clips (the user's corpora, or synthetic speech);
* :mod:`~ser_core.app_support.cache`: checkpoint discovery and loaders the app wraps in
  ``st.cache_resource`` / ``st.cache_data``;
* :mod:`~ser_core.app_support.preload`: the background load of the default model at start-up.

The live-microphone engine (ring buffer, resampler, voice-activity gate) is inference, not app
glue: :mod:`ser_core.inference.live`.

Nothing here imports streamlit, so all of it is unit-tested without a running app.
"""

from __future__ import annotations

__all__ = ["cache", "plots", "preload", "samples", "session"]
