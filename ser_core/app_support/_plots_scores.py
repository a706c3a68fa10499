"""Figures of a model's output: probability per emotion, emotion over time, models compared.

Re-exported by :mod:`ser_core.app_support.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ser_core.app_support._plots_base import _layout, color_for


def probability_figure(
    probabilities: Mapping[str, float],
    *,
    predicted: str | None = None,
    title: str | None = "Probability per emotion",
    height: int = 300,
) -> go.Figure:
    """A bar per label with its probability; the predicted label is drawn opaque.

    Args:
        probabilities: label -> probability, in the model's label order.
        predicted: the predicted label (default: the most probable).
        title: figure title.
        height: figure height in pixels.
    """
    labels = list(probabilities)
    probs = [float(probabilities[k]) for k in labels]
    if predicted is None and labels:
        predicted = labels[int(np.argmax(probs))]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=probs,
            marker_color=[color_for(k) for k in labels],
            marker_opacity=[1.0 if k == predicted else 0.45 for k in labels],
            text=[f"{p:.0%}" for p in probs],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%", title_text="probability")
    return _layout(fig, title, height)


def timeline_figure(
    windows: pd.DataFrame,
    *,
    labels: Sequence[str] | None = None,
    title: str | None = "Emotion over time",
    height: int = 300,
    time_column: str | None = None,
) -> go.Figure:
    """Probability per label over time, one line per label.

    Args:
        windows: one row per window with ``start`` and ``end`` (seconds, index levels as in
            the frame :meth:`Predictor.predict_windows` returns, or columns) and one column
            per label, or a ``time_column`` (the live timeline).
        labels: which columns are labels (default: every numeric column except the time ones).
        title: figure title.
        height: figure height in pixels.
        time_column: plot against this column instead of the window centres.
    """
    if {"start", "end"} <= set(windows.index.names):  # a prediction table's index
        windows = windows.reset_index()
    time_like = {"start", "end", "time", "speech", "speech_fraction"}
    if labels is None:
        labels = [
            c
            for c in windows.columns
            if c not in time_like and c != time_column and pd.api.types.is_numeric_dtype(windows[c])
        ]
    if time_column is not None:
        x = windows[time_column].to_numpy(dtype=float)
    elif len(windows):
        x = (windows["start"].to_numpy(dtype=float) + windows["end"].to_numpy(dtype=float)) / 2
    else:
        x = np.zeros(0)
    fig = go.Figure()
    for label in labels:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=windows[label].to_numpy(dtype=float),
                mode="lines+markers",
                name=str(label),
                line={"color": color_for(str(label)), "width": 2},
                marker={"size": 4},
                connectgaps=False,
            )
        )
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="probability")
    return _layout(fig, title, height)


def compare_figure(table: pd.DataFrame, *, height: int = 320) -> go.Figure:
    """Confidence and latency per model side by side.

    Args:
        table: one row per model with columns ``model``, ``label``, ``confidence`` (0-1) and
            ``latency_ms``.
        height: figure height in pixels.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Confidence of the predicted label", "Latency (ms)"),
        horizontal_spacing=0.12,
    )
    models = table["model"].astype(str).tolist()
    labels = table["label"].astype(str).tolist()
    fig.add_trace(
        go.Bar(
            x=models,
            y=table["confidence"].to_numpy(dtype=float),
            marker_color=[color_for(lbl) for lbl in labels],
            text=labels,
            textposition="outside",
            hovertemplate="%{x}: %{text} (%{y:.0%})<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=models,
            y=table["latency_ms"].to_numpy(dtype=float),
            marker_color="#555",
            hovertemplate="%{x}: %{y:.0f} ms<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title_text="ms", row=1, col=2)
    return _layout(fig, None, height)
