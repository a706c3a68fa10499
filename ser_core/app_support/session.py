"""The app's ``st.session_state`` and widget keys, in one module.

Pages use these constants instead of spelling a key as a string literal, and
:func:`chart_key` for the keys of charts (several per page, some per model). The small typed
accessors below work on any mutable mapping, so they are tested without streamlit. Keys are
namespaced by page (``detect.*``, ``live.*``, ...; ``app.*`` for the sidebar) so two pages
never collide.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALL_KEYS",
    "BIAS_BY",
    "BIAS_CONFUSION_MODEL",
    "BIAS_CORPORA",
    "BIAS_COUNTS_CSV",
    "BIAS_CSV",
    "BIAS_FILTER",
    "BIAS_GAPS",
    "BIAS_GAPS_CSV",
    "BIAS_HUMAN_BINS",
    "BIAS_HUMAN_CSV",
    "BIAS_METRIC",
    "BIAS_MODELS",
    "BIAS_N_BOOT",
    "BIAS_SHARES_CSV",
    "BIAS_TABLE",
    "BIAS_TOP",
    "BIAS_TOP_CSV",
    "BIAS_WRONG",
    "BIAS_WRONG_CSV",
    "COMPARE_BUTTON",
    "COMPARE_CSV",
    "COMPARE_RESULT",
    "COMPARE_SAMPLE",
    "COMPARE_UPLOAD",
    "CORPORA_ROOT",
    "DETECT_BUTTON",
    "DETECT_CLIP",
    "DETECT_INPUT_MODE",
    "DETECT_MODEL",
    "DETECT_RECORD",
    "DETECT_RESULT",
    "DETECT_SAMPLE",
    "DETECT_TIMELINE_CSV",
    "DETECT_UPLOAD",
    "ENROLMENTS",
    "ENROL_BUTTON",
    "ENROL_RECORD",
    "ENROL_UPLOAD",
    "LIVE_CLEAR",
    "LIVE_CSV",
    "LIVE_MODEL",
    "LIVE_SESSION",
    "LIVE_SINK",
    "LIVE_WEBRTC",
    "MODELS_LATENCY",
    "PAGES",
    "ClipResult",
    "chart_key",
    "clear_result",
    "get_result",
    "set_result",
]

# Sidebar (app-wide)
CORPORA_ROOT = "app.corpora_root"
"""Folder holding the user's corpora (defaults to ``$SER_CORPORA``)."""

# Detect page
DETECT_INPUT_MODE = "detect.input_mode"
DETECT_UPLOAD = "detect.upload"
DETECT_RECORD = "detect.record"
DETECT_SAMPLE = "detect.sample"
DETECT_MODEL = "detect.model"
DETECT_BUTTON = "detect.button"
DETECT_RESULT = "detect.result"
DETECT_CLIP = "detect.clip"
"""(input key, decoded :class:`~ser_core.audio.AudioClip` or the error it gave)."""
"""The last :class:`ClipResult` (kept across reruns so views stay after widget changes)."""
DETECT_TIMELINE_CSV = "detect.timeline_csv"
ENROL_UPLOAD = "detect.enrol_upload"
ENROL_RECORD = "detect.enrol_record"
ENROL_BUTTON = "detect.enrol"
ENROLMENTS = "detect.enrolments"  # model name → SpeakerNormalizer of this session

# Compare page
COMPARE_UPLOAD = "compare.upload"
COMPARE_SAMPLE = "compare.sample"
COMPARE_BUTTON = "compare.button"
COMPARE_RESULT = "compare.result"
COMPARE_CSV = "compare.csv"

# Live page
LIVE_MODEL = "live.model"
LIVE_WEBRTC = "live.webrtc"
LIVE_SESSION = "live.session"
"""The page's :class:`~ser_core.inference.live.LiveSession` (one resampler per session)."""
LIVE_SINK = "live.sink"
"""streamlit-webrtc's cache key of the page's audio sink track."""
LIVE_CSV = "live.csv"
LIVE_CLEAR = "live.clear"

# Bias explorer
BIAS_MODELS = "bias.models"
BIAS_CORPORA = "bias.corpora"
BIAS_BY = "bias.by"
BIAS_METRIC = "bias.metric"
BIAS_N_BOOT = "bias.n_boot"
BIAS_GAPS = "bias.gaps"
BIAS_GAPS_CSV = "bias.gaps_csv"
BIAS_TABLE = "bias.table"
BIAS_CSV = "bias.csv"
BIAS_CONFUSION_MODEL = "bias.confusion_model"
BIAS_COUNTS_CSV = "bias.cm_counts_csv"
BIAS_SHARES_CSV = "bias.cm_shares_csv"
BIAS_TOP = "bias.top"
BIAS_TOP_CSV = "bias.top_csv"
BIAS_FILTER = "bias.filter"
BIAS_WRONG = "bias.wrong"
BIAS_WRONG_CSV = "bias.wrong_csv"
BIAS_HUMAN_BINS = "bias.human_bins"
BIAS_HUMAN_CSV = "bias.human_csv"

# Models page
MODELS_LATENCY = "models.latency"

ALL_KEYS: tuple[str, ...] = (
    CORPORA_ROOT,
    DETECT_INPUT_MODE,
    DETECT_UPLOAD,
    DETECT_RECORD,
    DETECT_SAMPLE,
    DETECT_MODEL,
    DETECT_BUTTON,
    DETECT_RESULT,
    DETECT_CLIP,
    DETECT_TIMELINE_CSV,
    ENROL_UPLOAD,
    ENROL_RECORD,
    ENROL_BUTTON,
    ENROLMENTS,
    COMPARE_UPLOAD,
    COMPARE_SAMPLE,
    COMPARE_BUTTON,
    COMPARE_RESULT,
    COMPARE_CSV,
    LIVE_MODEL,
    LIVE_WEBRTC,
    LIVE_SESSION,
    LIVE_SINK,
    LIVE_CSV,
    LIVE_CLEAR,
    BIAS_MODELS,
    BIAS_CORPORA,
    BIAS_BY,
    BIAS_METRIC,
    BIAS_N_BOOT,
    BIAS_GAPS,
    BIAS_GAPS_CSV,
    BIAS_TABLE,
    BIAS_CSV,
    BIAS_CONFUSION_MODEL,
    BIAS_COUNTS_CSV,
    BIAS_SHARES_CSV,
    BIAS_TOP,
    BIAS_TOP_CSV,
    BIAS_FILTER,
    BIAS_WRONG,
    BIAS_WRONG_CSV,
    BIAS_HUMAN_BINS,
    BIAS_HUMAN_CSV,
    MODELS_LATENCY,
)

#: The key namespaces of the pages (the first part of every key but the sidebar's).
PAGES: tuple[str, ...] = ("detect", "compare", "live", "bias", "models")


def chart_key(page: str, *names: str) -> str:
    """The key of a chart on ``page``: ``chart_key("compare", "explain", model)`` →
    ``"compare.explain.<model>"``.

    Raises:
        ValueError: unknown page, no name, or a key that is one of :data:`ALL_KEYS`.
    """
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}; use one of {', '.join(PAGES)}")
    if not names:
        raise ValueError("a chart key needs a name after the page")
    key = ".".join((page, *names))
    if key in ALL_KEYS:
        raise ValueError(f"{key!r} is already a session key")
    return key


@dataclass
class ClipResult:
    """What a Detect / Compare run produced for one clip, kept in the session.

    Attributes:
        clip_id: identifies the input (name + size + model), so a changed input clears it.
        outputs: free-form results (prediction, explanation, windows, ...).
    """

    clip_id: str
    outputs: dict[str, Any] = field(default_factory=dict)


def get_result(state: MutableMapping[str, Any], key: str, clip_id: str) -> ClipResult | None:
    """The stored result under ``key`` if it belongs to ``clip_id``, else None."""
    result = state.get(key)
    if isinstance(result, ClipResult) and result.clip_id == clip_id:
        return result
    return None


def set_result(state: MutableMapping[str, Any], key: str, result: ClipResult) -> None:
    """Store ``result`` under ``key`` (replacing any previous one)."""
    state[key] = result


def clear_result(state: MutableMapping[str, Any], key: str) -> None:
    """Forget the result stored under ``key``."""
    state.pop(key, None)
