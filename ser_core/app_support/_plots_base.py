"""What every demonstrator chart shares: the emotion colours, the spectrogram scale, the layout.

Split from :mod:`ser_core.app_support.plots` (which re-exports the public names) so the figure
modules draw a label, a spectrogram and a margin the same way.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

#: One fixed colour per canonical emotion, so every chart uses the same colour for a label.
EMOTION_COLORS: dict[str, str] = {
    "neutral": "#7f7f7f",
    "calm": "#17becf",
    "happy": "#f2b701",
    "sad": "#1f77b4",
    "angry": "#d62728",
    "fearful": "#9467bd",
    "disgust": "#2ca02c",
    "surprised": "#ff7f0e",
    "boredom": "#8c564b",
}
_FALLBACK = ("#e377c2", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39")

_MARGIN = {"l": 60, "r": 20, "t": 40, "b": 40}


def color_for(label: str) -> str:
    """The colour of an emotion label (a stable fallback colour for unknown labels)."""
    if label in EMOTION_COLORS:
        return EMOTION_COLORS[label]
    return _FALLBACK[sum(map(ord, str(label))) % len(_FALLBACK)]


#: Spectrogram colours as in Praat: quiet is blank (white), louder is darker. An explicit list,
#: so no theme swaps it for a scale whose bottom colour paints silence bright.
SPECTROGRAM_COLORSCALE: list[list[float | str]] = [
    [0.0, "#ffffff"],
    [0.25, "#deebf7"],
    [0.5, "#9ecae1"],
    [0.75, "#3182bd"],
    [1.0, "#08306b"],
]
#: Levels shown below the clip's peak (dB); anything quieter is drawn as blank.
SPECTROGRAM_RANGE_DB = 60.0


def spectrogram_levels(mel: np.ndarray, range_db: float = SPECTROGRAM_RANGE_DB) -> np.ndarray:
    """A dB spectrogram relative to its peak: 0 at the loudest bin, floored at ``-range_db``.

    The floor is relative to the clip, not absolute, so a quiet recording is not drawn blank
    and digital silence is never brighter than speech.
    """
    mel = np.asarray(mel, dtype=np.float32)
    finite = mel[np.isfinite(mel)]
    peak = float(finite.max()) if finite.size else 0.0
    return np.clip(np.nan_to_num(mel - peak, nan=-range_db, neginf=-range_db), -range_db, 0.0)


def _spectrogram_trace(mel: np.ndarray, x: np.ndarray, *, showscale: bool) -> go.Heatmap:
    return go.Heatmap(
        z=spectrogram_levels(mel),
        x=x,
        y=np.arange(np.asarray(mel).shape[0]),
        colorscale=SPECTROGRAM_COLORSCALE,
        zmin=-SPECTROGRAM_RANGE_DB,
        zmax=0.0,
        showscale=showscale,
        colorbar={"title": {"text": "dB re peak"}},
        hovertemplate="t=%{x:.2f} s, band %{y}: %{z:.1f} dB re peak<extra></extra>",
        name="mel",
    )


def _layout(fig: go.Figure, title: str | None, height: int) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=_MARGIN, template="plotly_white")
    return fig
