"""The ser_core demonstrator: ``streamlit run app.py``.

Page config, the sidebar shared by every page, and the navigation. Each page is a thin view in
``views/`` that calls ``ser_core``'s public API and ``ser_core.app_support`` helpers only.

The folder is not called ``pages/``: Streamlit runs the scripts of a ``pages/`` folder beside the
entry script as stand-alone legacy pages until ``st.navigation`` has run once in the process, so
the first visit to a bookmarked ``/live`` after a start lost this file's sidebar and preload.
"""

from __future__ import annotations

import streamlit as st

from ser_core.app_support.preload import preload
from views._shared import sidebar

st.set_page_config(
    page_title="Speech emotion recognition", page_icon=":material/mic:", layout="wide"
)

PAGES = [
    st.Page("views/detect.py", title="Detect", icon=":material/graphic_eq:", default=True),
    st.Page("views/compare.py", title="Compare models", icon=":material/compare:"),
    st.Page("views/live.py", title="Live microphone", icon=":material/mic:"),
    st.Page("views/bias.py", title="Bias and accuracy", icon=":material/bar_chart:"),
    st.Page("views/models.py", title="Models", icon=":material/model_training:"),
]

page = st.navigation(PAGES)
sidebar()
try:
    page.run()
finally:
    # The default model loads in a background thread once the first page is drawn, while the
    # user picks a clip: torch's import (about 2 s here) holds the GIL most of that time, so
    # started before the page it delayed the page by as much. (finally: pages end in st.stop.)
    preload()
