"""Figures of an evaluation: metric per group (bias), confusion matrix, model vs listeners,
training curves.

Re-exported by :mod:`ser_core.app_support.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ser_core.app_support._plots_base import _layout


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
