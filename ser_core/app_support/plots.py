"""Plotly figure builders for every chart the demonstrator shows.

Each function takes plain numpy / pandas data and returns a :class:`plotly.graph_objects.Figure`;
none of them imports streamlit or torch. Time axes are always in seconds, so a waveform, its mel
spectrogram and an explanation map of the same clip line up when shown one above the other.

The builders live in private modules by kind of figure (``_plots_signal``: waveform, spectrogram,
explanation; ``_plots_scores``: probabilities, timeline, model comparison;
``_plots_evaluation``: bias, confusion, listeners, training curves); this module is their one
public face, so pages keep importing ``plots``.
"""

from __future__ import annotations

from ser_core.app_support._plots_base import (
    EMOTION_COLORS,
    SPECTROGRAM_COLORSCALE,
    SPECTROGRAM_RANGE_DB,
    color_for,
    spectrogram_levels,
)
from ser_core.app_support._plots_evaluation import (
    confusion_figure,
    group_metric_figure,
    human_vs_model_figure,
    training_curves_figure,
)
from ser_core.app_support._plots_scores import compare_figure, probability_figure, timeline_figure
from ser_core.app_support._plots_signal import explanation_figure, mel_figure, waveform_figure

__all__ = [
    "EMOTION_COLORS",
    "SPECTROGRAM_COLORSCALE",
    "SPECTROGRAM_RANGE_DB",
    "color_for",
    "compare_figure",
    "confusion_figure",
    "explanation_figure",
    "group_metric_figure",
    "human_vs_model_figure",
    "mel_figure",
    "probability_figure",
    "spectrogram_levels",
    "timeline_figure",
    "training_curves_figure",
    "waveform_figure",
]
