"""Plotly figure builders for every chart the demonstrator shows.

Each function takes plain numpy / pandas data and returns a :class:`plotly.graph_objects.Figure`;
none of them imports streamlit or torch. Time axes are always in seconds, so a waveform, its mel
spectrogram and an explanation map of the same clip line up when shown one above the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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


def group_metric_figure(
    by_group: pd.DataFrame,
    metric: str = "ua",
    *,
    color: str | None = None,
    overall: float | None = None,
    title: str | None = None,
    height: int = 340,
    max_groups: int = 60,
) -> go.Figure:
    """A bar per group with its 95 % bootstrap interval as error bars.

    Args:
        by_group: ``GroupReport.by_group`` (index = group; columns ``metric``, ``metric_low``,
            ``metric_high``, ``n``), optionally with a column named ``color`` (e.g. ``model``)
            to draw one bar series per value of it.
        metric: the metric column.
        color: column splitting the bars into series (grouped bars), e.g. ``"model"``.
        overall: draw this overall value as a dashed line.
        title: figure title.
        height: figure height in pixels.
        max_groups: show at most this many groups (the largest by ``n``).
    """
    frame = by_group.reset_index()
    group_col = frame.columns[0] if color != frame.columns[0] else frame.columns[1]
    if frame[group_col].nunique() > max_groups:
        keep = frame.groupby(group_col)["n"].sum().nlargest(max_groups).index
        frame = frame[frame[group_col].isin(keep)]
    series = [(None, frame)] if color is None else list(frame.groupby(color, sort=False))
    fig = go.Figure()
    for name, part in series:
        est = part[metric].to_numpy(dtype=float)
        low = part.get(f"{metric}_low", pd.Series(np.nan, index=part.index)).to_numpy(dtype=float)
        high = part.get(f"{metric}_high", pd.Series(np.nan, index=part.index)).to_numpy(dtype=float)
        fig.add_trace(
            go.Bar(
                x=part[group_col].astype(str),
                y=est,
                name=str(name) if name is not None else metric,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": np.nan_to_num(high - est),
                    "arrayminus": np.nan_to_num(est - low),
                },
                customdata=np.stack([part["n"].to_numpy(), low, high], axis=1),
                hovertemplate=(
                    "%{x}: %{y:.1%} [%{customdata[1]:.1%}, %{customdata[2]:.1%}], "
                    "n=%{customdata[0]}<extra></extra>"
                ),
            )
        )
    if overall is not None and np.isfinite(overall):
        fig.add_hline(y=overall, line_dash="dash", annotation_text="overall")
    fig.update_layout(barmode="group", showlegend=color is not None)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title_text=metric.upper())
    fig.update_xaxes(title_text=str(group_col))
    return _layout(fig, title, height)


def confusion_figure(
    matrix: pd.DataFrame, *, normalized: bool = False, title: str | None = None, height: int = 420
) -> go.Figure:
    """A confusion matrix heatmap: true class on y (top to bottom), predicted class on x.

    Args:
        matrix: ``ser_core.evaluation.confusion`` output (counts or row shares).
        normalized: whether the cells are row shares (formats the text as percentages).
        title: figure title.
        height: figure height in pixels.
    """
    z = matrix.to_numpy(dtype=float)
    text = [
        [("" if np.isnan(v) else (f"{v:.0%}" if normalized else f"{int(v)}")) for v in row]
        for row in z
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in matrix.columns],
            y=[str(i) for i in matrix.index],
            colorscale="Blues",
            text=text,
            texttemplate="%{text}",
            zmin=0.0,
            zmax=1.0 if normalized else None,
            hovertemplate="true %{y} → predicted %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="true")
    fig.update_xaxes(title_text="predicted", side="bottom")
    return _layout(fig, title, height)


def human_vs_model_figure(
    per_file: pd.DataFrame, *, title: str | None = "Model vs listeners, per file", height: int = 380
) -> go.Figure:
    """Listener recognition rate (x) against the model's probability of the true class (y).

    Args:
        per_file: ``HumanAgreement.per_file`` (``human_recognized_pct``, ``p_true``, ``correct``,
            ``true``, ``predicted``, ``path``).
        title: figure title.
        height: figure height in pixels.
    """
    fig = go.Figure()
    groups = ((True, "model right", "#2ca02c"), (False, "model wrong", "#d62728"))
    for correct, name, color in groups:
        part = per_file[per_file["correct"].astype(bool) == correct]
        fig.add_trace(
            go.Scatter(
                x=part["human_recognized_pct"].to_numpy(dtype=float),
                y=part["p_true"].to_numpy(dtype=float),
                mode="markers",
                name=name,
                marker={"color": color, "size": 7, "opacity": 0.7},
                text=[
                    f"{p} ({t} → {q})"
                    for p, t, q in zip(
                        part["path"].astype(str).map(lambda s: s.rsplit("/", 1)[-1]),
                        part["true"],
                        part["predicted"],
                        strict=True,
                    )
                ],
                hovertemplate=(
                    "%{text}<br>listeners %{x:.0f} %, model p(true) %{y:.0%}<extra></extra>"
                ),
            )
        )
    fig.update_xaxes(title_text="listeners recognising the emotion (%)")
    fig.update_yaxes(title_text="model probability of the true emotion", range=[0, 1.02])
    return _layout(fig, title, height)


def training_curves_figure(log: pd.DataFrame, *, height: int = 300) -> go.Figure:
    """Loss and UA per epoch from a checkpoint's ``train_log.csv``.

    Args:
        log: one row per epoch with ``epoch`` and any of ``train_loss``, ``val_loss``,
            ``train_ua``, ``val_ua``, ``train_wa``, ``val_wa``.
        height: figure height in pixels.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Unweighted accuracy"))
    x = log["epoch"] if "epoch" in log.columns else pd.Series(np.arange(1, len(log) + 1))
    for col, dash in (("train_loss", "solid"), ("val_loss", "dash")):
        if col in log.columns and log[col].notna().any():
            fig.add_trace(
                go.Scatter(x=x, y=log[col], name=col, mode="lines+markers", line={"dash": dash}),
                row=1,
                col=1,
            )
    for col, dash in (("train_ua", "solid"), ("val_ua", "dash")):
        if col in log.columns and log[col].notna().any():
            fig.add_trace(
                go.Scatter(x=x, y=log[col], name=col, mode="lines+markers", line={"dash": dash}),
                row=1,
                col=2,
            )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)
    return _layout(fig, None, height)
