"""Bias and accuracy explorer over the checkpoints' committed per-utterance predictions."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ser_core.app_support import plots, session
from ser_core.evaluation import (
    HUMAN_COLUMN,
    breakdown,
    confusion,
    human_agreement,
    prediction_labels,
    prob_columns,
    top_confusions,
)
from ser_core.scoring.groups import defined_rows
from views._shared import get_predictions, require_models

GROUP_COLUMNS = ("corpus", "gender", "intensity", "text", "speaker", "language", "fold")
METRICS = {"ua": "UA (unweighted accuracy)", "wa": "WA (accuracy)", "macro_f1": "macro F1"}

st.title("Bias and accuracy explorer")
st.caption(
    "From each model's predictions on its test set, saved with the model when it was trained. "
    "Error bars are 95 % bootstrap intervals over utterances."
)

names = require_models(distinct=True)
everything = get_predictions(tuple(names))
if everything.empty:
    st.info(
        "None of the models comes with its test-set predictions, so there is nothing to explore "
        "yet. A model trained with `ser train` saves them; add such a model to the models folder."
    )
    st.stop()

with_preds = list(dict.fromkeys(everything["model"].astype(str)))
models = st.multiselect("Models", with_preds, default=with_preds[:2], key=session.BIAS_MODELS)
corpora_all = sorted(everything["corpus"].dropna().astype(str).unique())
corpora = st.multiselect("Corpora", corpora_all, default=corpora_all, key=session.BIAS_CORPORA)
frame = everything[everything["model"].isin(models) & everything["corpus"].isin(corpora)]
if frame.empty:
    st.info("Pick at least one model and one corpus.")
    st.stop()

c1, c2, c3 = st.columns(3)
present = [c for c in GROUP_COLUMNS if c in frame.columns and frame[c].notna().any()]
by = c1.selectbox("Break down by", present, key=session.BIAS_BY)
metric = c2.selectbox(
    "Metric", list(METRICS), format_func=METRICS.__getitem__, key=session.BIAS_METRIC
)
# No 0: without resamples the intervals (the error bars) would vanish without a word.
n_boot = c3.select_slider(
    "Bootstrap resamples",
    [100, 200, 500, 1000],
    value=200,
    key=session.BIAS_N_BOOT,
    help="Resamples of the 95 % intervals: more is steadier and slower.",
)


def csv_download(
    label: str, frame: pd.DataFrame, file_name: str, key: str, index: bool = False, where: Any = st
) -> None:
    """A CSV download button for ``frame`` (``index``: keep it, e.g. a confusion matrix's rows)."""
    where.download_button(label, frame.to_csv(index=index).encode(), file_name, "text/csv", key=key)


def _drop_empty(part: pd.DataFrame) -> pd.DataFrame:
    """Drop probability columns that are all missing (labels of other models)."""
    empty = [c for c in prob_columns(part) if part[c].isna().all()]
    return part.drop(columns=empty)


MIN_GROUP_N = 5  # smallest group a gap is taken over


@st.cache_data(show_spinner="Bootstrapping intervals…")
def group_table(
    models: tuple[str, ...], corpora: tuple[str, ...], by: str, metric: str, n_boot: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """(per-group metrics, overall per model, largest gap per model, notes on what was left
    out) for the selection. A corpus that does not record ``by`` (EMO-DB has no intensity)
    is left out of the breakdown, not shown as an "unknown" group; a model with fewer than two
    groups has no gap row, and a note says why."""
    source = get_predictions(tuple(names))
    rows, overall, gaps, notes = [], [], [], []
    for name in models:
        part = source[(source["model"] == name) & source["corpus"].isin(corpora)]
        if part.empty:
            continue
        defined = defined_rows(part, by, within="corpus")
        if not defined.any():
            notes.append(f"{name}: its test data has no {by} labels, so it is not broken down.")
            continue
        left_out = sorted(part.loc[~defined, "corpus"].dropna().astype(str).unique())
        if left_out:
            one = len(left_out) == 1
            notes.append(
                f"{name}: {', '.join(left_out)} {'has' if one else 'have'} no {by} labels and "
                f"{'is' if one else 'are'} left out."
            )
        report = breakdown(
            _drop_empty(part), by, metrics=(metric,), n_boot=n_boot, seed=0, within="corpus"
        )
        rows.append(report.by_group.assign(model=name))
        overall.append({"model": name, **report.overall.to_dict()})
        gap = report.difference(min_n=MIN_GROUP_N)
        if len(report.by_group) == 1:
            notes.append(f"{name}: one {by} only ({report.by_group.index[0]}), so no gap.")
        elif (gap["n_groups"] < 2).any():
            notes.append(
                f"{name}: no gap, fewer than two {by} groups with at least {MIN_GROUP_N} "
                "utterances."
            )
        gap = gap[gap["n_groups"] >= 2]
        if not gap.empty:
            gaps.append(gap.reset_index().assign(model=name))
    by_group = pd.concat(rows) if rows else pd.DataFrame()
    gap_table = pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame()
    if not gap_table.empty:
        gap_table = gap_table[["model", *(c for c in gap_table.columns if c != "model")]]
    return by_group, pd.DataFrame(overall), gap_table, notes


by_group, overall, gaps, notes = group_table(tuple(models), tuple(corpora), by, metric, n_boot)
st.subheader(f"{METRICS[metric]} by {by}")
for note in notes:
    st.caption(note)
if by_group.empty:
    st.info(f"None of the selected models has test data with {by} labels: pick another breakdown.")
else:
    st.plotly_chart(
        plots.group_metric_figure(by_group, metric, color="model"),
        key=session.chart_key("bias", "groups"),
    )
st.markdown(
    f"**Gap between groups** (largest − smallest, groups with at least {MIN_GROUP_N} utterances)"
)
if gaps.empty:
    st.caption(f"No model has two {by} groups to compare.")
st.dataframe(gaps, hide_index=True, key=session.BIAS_GAPS)
csv_download("Download the gaps (CSV)", gaps, f"gaps_{by}_{metric}.csv", session.BIAS_GAPS_CSV)
group_rows = by_group.reset_index() if not by_group.empty else by_group
st.dataframe(group_rows, hide_index=True, key=session.BIAS_TABLE)
csv_download(
    "Download the group table (CSV)",
    group_rows,
    f"breakdown_{by}_{metric}.csv",
    session.BIAS_CSV,
)

st.subheader("Confusions")
model = st.selectbox("Model", models, key=session.BIAS_CONFUSION_MODEL)
part = _drop_empty(frame[frame["model"] == model])
labels = prediction_labels(part)
left, right = st.columns(2)
counts = confusion(part["true"], part["predicted"], labels)
shares = confusion(part["true"], part["predicted"], labels, normalize="true")
left.plotly_chart(
    plots.confusion_figure(counts, title="Counts"), key=session.chart_key("bias", "cm_counts")
)
right.plotly_chart(
    plots.confusion_figure(
        shares, normalized=True, title="Row-normalised (recall on the diagonal)"
    ),
    key=session.chart_key("bias", "cm_shares"),
)
# Rows: true label, columns: predicted (the index keeps the true labels in the CSV).
csv_download(
    "Download the counts (CSV)",
    counts,
    f"confusion_counts_{model}.csv",
    session.BIAS_COUNTS_CSV,
    index=True,
    where=left,
)
csv_download(
    "Download the row-normalised shares (CSV)",
    shares,
    f"confusion_shares_{model}.csv",
    session.BIAS_SHARES_CSV,
    index=True,
    where=right,
)
st.markdown("**Most frequent confusions**")
top = top_confusions(part["true"], part["predicted"], labels, k=8)
st.dataframe(top, hide_index=True, key=session.BIAS_TOP)
csv_download(
    "Download the top confusions (CSV)", top, f"top_confusions_{model}.csv", session.BIAS_TOP_CSV
)

st.subheader("Utterances the model gets wrong")
group_values = ["(all)", *sorted(part[by].dropna().astype(str).unique())]
value = st.selectbox(f"Only {by} =", group_values, key=session.BIAS_FILTER)
subset = part if value == "(all)" else part[part[by].astype(str) == value]
wrong = subset[subset["true"].astype(str) != subset["predicted"].astype(str)]
show = [c for c in ("path", "speaker", "gender", "text", "true", "predicted") if c in wrong]
st.caption(f"{len(wrong)} of {len(subset)} wrong")
st.dataframe(wrong[show + prob_columns(wrong)], hide_index=True, key=session.BIAS_WRONG)
csv_download("Download the errors (CSV)", wrong, "errors.csv", session.BIAS_WRONG_CSV)

if HUMAN_COLUMN in part.columns and part[HUMAN_COLUMN].notna().any():
    st.subheader("EMO-DB: the model against the listeners")
    agreement = human_agreement(part)
    s = {k: (float("nan") if v is None else float(v)) for k, v in agreement.summary.items()}
    nan = float("nan")
    st.caption(
        f"Spearman ρ (listener rate vs model p(true)) = {s.get('spearman_rho', nan):.2f}; "
        f"mean listener rate on the model's hits {s.get('human_pct_when_correct', nan):.1f} % "
        f"vs misses {s.get('human_pct_when_wrong', nan):.1f} %. A positive ρ means the model "
        "fails where listeners fail."
    )
    st.plotly_chart(
        plots.human_vs_model_figure(agreement.per_file), key=session.chart_key("bias", "human")
    )
    st.dataframe(agreement.by_bin.reset_index(), hide_index=True, key=session.BIAS_HUMAN_BINS)
    csv_download(
        "Download per-file agreement (CSV)",
        agreement.per_file,
        "human_agreement.csv",
        session.BIAS_HUMAN_CSV,
    )
