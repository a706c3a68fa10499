"""Figures of one clip's signal: waveform, log-mel spectrogram and explanation map.

Their time axes are in seconds, so the three line up when shown one above the other. Re-exported
by :mod:`ser_core.app_support.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ser_core.app_support._plots_base import _layout, _spectrogram_trace


def _envelope(signal: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of block start, block minimum, block maximum) with at most ``max_points`` blocks."""
    n = signal.shape[0]
    block = max(1, int(np.ceil(n / max_points)))
    n_blocks = int(np.ceil(n / block))
    padded = np.pad(signal, (0, n_blocks * block - n), mode="edge" if n else "constant")
    blocks = padded.reshape(n_blocks, block)
    return np.arange(n_blocks) * block, blocks.min(axis=1), blocks.max(axis=1)


def waveform_figure(
    signal: np.ndarray,
    sample_rate: int,
    *,
    title: str | None = "Waveform",
    max_points: int = 3000,
    height: int = 220,
) -> go.Figure:
    """The clip's waveform (a min/max envelope for long clips), seconds on x.

    Args:
        signal: 1-D float signal.
        sample_rate: its sample rate in Hz.
        title: figure title.
        max_points: at most this many points are drawn (long clips are reduced to an envelope).
        height: figure height in pixels.
    """
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    fig = go.Figure()
    if signal.shape[0] <= max_points:
        t = np.arange(signal.shape[0]) / sample_rate
        fig.add_trace(go.Scatter(x=t, y=signal, mode="lines", line={"width": 1}, name="signal"))
    else:
        starts, low, high = _envelope(signal, max_points)
        t = starts / sample_rate
        fig.add_trace(
            go.Scatter(
                x=t,
                y=high,
                mode="lines",
                line={"width": 0.5, "color": "#1f77b4"},
                name="max",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=t,
                y=low,
                mode="lines",
                line={"width": 0.5, "color": "#1f77b4"},
                fill="tonexty",
                fillcolor="rgba(31,119,180,0.5)",
                name="min",
                showlegend=False,
            )
        )
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="amplitude")
    return _layout(fig, title, height)


def mel_figure(
    mel: np.ndarray,
    times: np.ndarray,
    *,
    title: str | None = "Log-mel spectrogram",
    height: int = 280,
) -> go.Figure:
    """A log-mel spectrogram as a heatmap: seconds on x, mel band (row 0 = lowest) on y.

    Levels are in dB relative to the clip's peak, floored :data:`SPECTROGRAM_RANGE_DB` below
    it; quiet is blank and louder is darker (:data:`SPECTROGRAM_COLORSCALE`).

    Args:
        mel: array of shape ``(n_mels, frames)`` in dB.
        times: the time (seconds) of each frame (``ser_core.features.frame_times``).
        title: figure title.
        height: figure height in pixels.
    """
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2:
        raise ValueError(f"mel must be 2-D (n_mels, frames), got shape {mel.shape}")
    fig = go.Figure(_spectrogram_trace(mel, np.asarray(times, dtype=float), showscale=True))
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="mel band")
    return _layout(fig, title, height)


def _time_axis_for(
    values: np.ndarray, times: np.ndarray | None, duration: float | None
) -> np.ndarray:
    n = values.shape[-1]
    if times is not None:
        times = np.asarray(times, dtype=float)
        if times.shape[0] != n:
            raise ValueError(f"times has {times.shape[0]} entries for a map with {n} columns")
        return times
    if duration is None:
        return np.arange(n, dtype=float)
    return (np.arange(n) + 0.5) * (duration / max(n, 1))


def explanation_figure(
    values: np.ndarray,
    kind: str,
    *,
    times: np.ndarray | None = None,
    duration: float | None = None,
    mel: np.ndarray | None = None,
    mel_times: np.ndarray | None = None,
    feature_names: Sequence[str] | None = None,
    title: str | None = "Where the model looked",
    height: int = 280,
    top_features: int = 20,
) -> go.Figure:
    """An explanation (attention / saliency) map, aligned with the clip's time axis.

    Args:
        values: the map: 1-D over time (``kind="time"``), 2-D ``(rows, time)``
            (``"time-frequency"`` or ``"image"``), or 1-D over features (``"feature"``).
        kind: ``"time"``, ``"time-frequency"``, ``"image"`` or ``"feature"``.
        times: seconds of each map column; otherwise spread evenly over ``duration``.
        duration: the clip's duration in seconds (used when ``times`` is not given).
        mel: optional log-mel spectrogram ``(n_mels, frames)`` drawn under the map
            (time-frequency maps with as many rows as mel bands are overlaid on it; other maps
            become a strip under it).
        mel_times: seconds of each mel frame.
        feature_names: names of the features (``kind="feature"``).
        title: figure title.
        height: figure height in pixels.
        top_features: how many of the largest feature weights to show (``kind="feature"``).
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    if kind == "feature":
        flat = values.reshape(-1)
        names = (
            list(feature_names)
            if feature_names is not None
            else [f"feature {i}" for i in range(flat.shape[0])]
        )
        order = np.argsort(-flat)[:top_features][::-1]
        fig = go.Figure(
            go.Bar(x=flat[order], y=[names[i] for i in order], orientation="h", marker_color="#444")
        )
        fig.update_xaxes(title_text="importance")
        return _layout(fig, title, max(height, 18 * len(order) + 80))
    if kind not in ("time", "time-frequency", "image"):
        raise ValueError(f"unknown explanation kind {kind!r}")
    if kind == "time":
        values = values.reshape(1, -1)
    elif values.ndim != 2:
        raise ValueError(f"a {kind} map must be 2-D (rows, time), got shape {values.shape}")
    x = _time_axis_for(values, times, duration)
    strip_colors = "Viridis"
    if mel is not None:
        mel = np.asarray(mel, dtype=np.float32)
        mx = _time_axis_for(mel, mel_times, duration)
        if kind == "time-frequency" and values.shape[0] == mel.shape[0]:
            fig = go.Figure()
            fig.add_trace(_spectrogram_trace(mel, mx, showscale=False))
            fig.add_trace(
                go.Heatmap(
                    z=np.where(values > 0.05, values, np.nan),
                    x=x,
                    colorscale="Hot",
                    opacity=0.6,
                    zmin=0.0,
                    zmax=1.0,
                    colorbar={"title": {"text": "weight"}},
                    name="explanation",
                )
            )
            fig.update_xaxes(title_text="time (s)")
            fig.update_yaxes(title_text="mel band")
            return _layout(fig, title, height)
        fig = make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.04
        )
        fig.add_trace(_spectrogram_trace(mel, mx, showscale=False), row=1, col=1)
        strip = values
        fig.add_trace(
            go.Heatmap(
                z=strip,
                x=x,
                colorscale=strip_colors,
                zmin=0.0,
                zmax=max(1.0, float(strip.max())),
                colorbar={"title": {"text": "weight"}},
                name="explanation",
            ),
            row=2,
            col=1,
        )
        fig.update_yaxes(title_text="mel band", row=1, col=1)
        fig.update_yaxes(showticklabels=False, row=2, col=1)
        fig.update_xaxes(title_text="time (s)", row=2, col=1)
        return _layout(fig, title, height + 60)
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=x,
            colorscale=strip_colors,
            zmin=0.0,
            colorbar={"title": {"text": "weight"}},
        )
    )
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(showticklabels=kind != "time", title_text=None if kind == "time" else "row")
    return _layout(fig, title, height if kind != "time" else 160)
