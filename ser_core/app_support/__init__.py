"""Helpers for the Streamlit demonstrator that do not import streamlit.

* :mod:`~ser_core.app_support.plots`: plotly figure builders (every chart the app shows);
* :mod:`~ser_core.app_support.session`: every ``st.session_state`` key, in one place;
* :mod:`~ser_core.app_support.samples`: sample clips (the user's corpora, or synthetic speech);
* :mod:`~ser_core.app_support.cache`: checkpoint discovery and loaders the app wraps in
  ``st.cache_resource`` / ``st.cache_data``;
* :mod:`~ser_core.app_support.preload`: the background load of the default model at start-up;
* :mod:`~ser_core.app_support.live`: the lock-guarded ring buffer, resampler and voice-activity
  gate behind the live-microphone page (testable without a browser).

Nothing here imports streamlit, so all of it is unit-tested without a running app.
"""

from __future__ import annotations

__all__ = ["cache", "live", "plots", "preload", "samples", "session"]
