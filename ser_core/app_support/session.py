"""Every ``st.session_state`` key the app uses, in one module.

Pages never spell a key as a string literal: they use these constants (and the small typed
accessors below, which work on any mutable mapping, so they are tested without streamlit).
Keys are namespaced by page (``detect.*``, ``live.*``, ...) so two pages never collide.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALL_KEYS",
    "BIAS_CORPORA",
    "BIAS_METRIC",
    "BIAS_MODELS",
    "COMPARE_RESULT",
    "CORPORA_ROOT",
    "DETECT_INPUT_MODE",
    "DETECT_MODEL",
    "DETECT_RECORD",
    "DETECT_RESULT",
    "DETECT_SAMPLE",
    "DETECT_UPLOAD",
    "ENROLMENTS",
    "ENROL_UPLOAD",
    "LIVE_SESSION",
    "LIVE_WEBRTC",
    "ClipResult",
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
DETECT_RESULT = "detect.result"
"""The last :class:`ClipResult` (kept across reruns so views stay after widget changes)."""
ENROL_UPLOAD = "detect.enrol_upload"
ENROLMENTS = "detect.enrolments"  # model name → SpeakerNormalizer of this session

# Compare page
COMPARE_RESULT = "compare.result"

# Live page
LIVE_WEBRTC = "live.webrtc"
LIVE_SESSION = "live.session"
"""The page's :class:`~ser_core.app_support.live.LiveSession` (one resampler per session)."""

# Bias explorer
BIAS_MODELS = "bias.models"
BIAS_CORPORA = "bias.corpora"
BIAS_METRIC = "bias.metric"

ALL_KEYS: tuple[str, ...] = (
    CORPORA_ROOT,
    DETECT_INPUT_MODE,
    DETECT_UPLOAD,
    DETECT_RECORD,
    DETECT_SAMPLE,
    DETECT_MODEL,
    DETECT_RESULT,
    ENROL_UPLOAD,
    ENROLMENTS,
    COMPARE_RESULT,
    LIVE_WEBRTC,
    LIVE_SESSION,
    BIAS_MODELS,
    BIAS_CORPORA,
    BIAS_METRIC,
)


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
