"""Tests of ``ser_core.evaluation``: metrics, bootstrap intervals, breakdowns, reports, Parquet."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    recall_score,
)

from ser_core.evaluation import (
    UNKNOWN,
    PredictionsError,
    bootstrap_ci,
    bootstrap_cis,
    breakdown,
    confusion,
    evaluate_predictions,
    human_agreement,
    load_predictions,
    macro_f1,
    markdown_table,
    per_class_report,
    prediction_labels,
    save_predictions,
    summary_metrics,
    top_confusions,
    unweighted_accuracy,
    validate_predictions,
    weighted_accuracy,
    weighted_f1,
)
from ser_core.scoring.bootstrap import _encode, _metrics_from_counts

LABELS = ["neutral", "happy", "sad", "angry"]


# --------------------------------------------------------------------------- helpers


def _random_pair(n: int, labels: list[str], acc: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    yt = rng.choice(labels, n)
    yp = np.where(rng.random(n) < acc, yt, rng.choice(labels, n))
    return yt.astype(object), yp.astype(object)


def _predictions(
    n_per_speaker: int = 40,
    speakers: dict[str, tuple[str, str, float]] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """A synthetic predictions frame; ``speakers`` maps id → (corpus, gender, accuracy).

    Within a speaker, exactly round(accuracy * n) rows are correct, spread over all classes.
    """
    speakers = speakers or {
        "emodb:03": ("emodb", "m", 0.5),
        "emodb:08": ("emodb", "f", 0.9),
        "ravdess:01": ("ravdess", "m", 0.6),
        "ravdess:02": ("ravdess", "f", 0.8),
    }
    rng = np.random.default_rng(seed)
    rows = []
    for spk, (corpus, gender, acc) in speakers.items():
        n_ok = round(acc * n_per_speaker)
        for i in range(n_per_speaker):
            true = LABELS[i % len(LABELS)]
            pred = true if i < n_ok else LABELS[(i + 1) % len(LABELS)]
            probs = rng.dirichlet(np.ones(len(LABELS)))
            k = LABELS.index(pred)
            probs[[0, k]] = probs[[k, 0]]  # make the prediction the argmax-ish class
            rows.append(
                {
                    "path": f"/data/{spk.replace(':', '_')}_{i:03d}.flac",
                    "corpus": corpus,
                    "speaker": spk,
                    "gender": gender,
                    "age": 30.0,
                    "emotion": true,
                    "intensity": pd.NA,
                    "text": f"t{i % 5}",
                    "language": "de" if corpus == "emodb" else "en",
                    "duration": 2.5,
                    "true": true,
                    "predicted": pred,
                    **{f"prob_{lab}": float(p) for lab, p in zip(LABELS, probs, strict=True)},
                }
            )
    df = pd.DataFrame(rows)
    for col in ("path", "corpus", "speaker", "gender", "emotion", "intensity", "text", "language"):
        df[col] = pd.Series(df[col].tolist(), dtype=object)
    df["model"] = "cnn"
    return df


def _emodb_like(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """EMO-DB-like predictions: errors planted on the files listeners found hardest."""
    rng = np.random.default_rng(seed)
    pct = rng.choice([80.0, 85.0, 90.0, 95.0, 100.0], n)
    true = rng.choice(LABELS, n)
    # P(model correct) grows with listener recognition: 30 % at 80, 95 % at 100.
    p_ok = np.interp(pct, [80, 100], [0.3, 0.95])
    correct = rng.random(n) < p_ok
    wrong = np.array([LABELS[(LABELS.index(t) + 1) % 4] for t in true], dtype=object)
    pred = np.where(correct, true, wrong)
    p_true = np.clip(np.interp(pct, [80, 100], [0.2, 0.9]) + rng.normal(0, 0.05, n), 0.01, 0.97)
    probs = np.zeros((n, 4))
    for i in range(n):
        t, p = LABELS.index(true[i]), LABELS.index(pred[i])
        rest = 1 - p_true[i]
        probs[i, t] = p_true[i]
        if t == p:
            probs[i, [j for j in range(4) if j != t]] = rest / 3
        else:
            probs[i, p] = rest * 0.9
            probs[i, [j for j in range(4) if j not in (t, p)]] = rest * 0.05
    df = pd.DataFrame(
        {
            "path": [f"/emodb/wav/{i:03d}.flac" for i in range(n)],
            "corpus": "emodb",
            "speaker": [f"emodb:{3 + i % 10:02d}" for i in range(n)],
            "true": true,
            "predicted": pred,
            **{f"prob_{lab}": probs[:, j] for j, lab in enumerate(LABELS)},
            "human_recognized_pct": pct,
        }
    )
    return df


# --------------------------------------------------------------------------- metrics


def test_exact_ua_wa_hand_computed() -> None:
    yt = ["a", "a", "a", "a", "b", "b"]
    yp = ["a", "a", "a", "b", "b", "a"]
    # recall a = 3/4, recall b = 1/2 → UA = 0.625; 4 of 6 right → WA = 2/3
    assert unweighted_accuracy(yt, yp) == pytest.approx(0.625)
    assert weighted_accuracy(yt, yp) == pytest.approx(4 / 6)
    # F1: a: P = 3/4, R = 3/4 → 0.75; b: P = 1/2, R = 1/2 → 0.5
    assert macro_f1(yt, yp) == pytest.approx(0.625)
    assert weighted_f1(yt, yp) == pytest.approx((4 * 0.75 + 2 * 0.5) / 6)


def test_class_absent_from_predictions_matches_sklearn() -> None:
    yt = ["a", "a", "b", "b", "c", "c"]
    yp = ["a", "a", "a", "b", "a", "b"]  # "c" is never predicted
    labels = ["a", "b", "c"]
    assert unweighted_accuracy(yt, yp, labels) == pytest.approx(0.5)  # (1 + 1/2 + 0) / 3
    assert unweighted_accuracy(yt, yp, labels) == pytest.approx(balanced_accuracy_score(yt, yp))
    assert weighted_accuracy(yt, yp, labels) == pytest.approx(accuracy_score(yt, yp))
    assert macro_f1(yt, yp, labels) == pytest.approx(
        f1_score(yt, yp, labels=labels, average="macro", zero_division=0)
    )
    assert weighted_f1(yt, yp, labels) == pytest.approx(
        f1_score(yt, yp, labels=labels, average="weighted", zero_division=0)
    )


def test_class_absent_from_y_true_is_left_out_of_ua() -> None:
    labels = ["a", "b", "c"]
    yt = ["a", "a", "b"]  # a subgroup without "c"
    yp = ["a", "c", "b"]
    # UA over the classes present: (1/2 + 1) / 2, not (1/2 + 1 + 0) / 3
    assert unweighted_accuracy(yt, yp, labels) == pytest.approx(0.75)
    assert recall_score(yt, yp, labels=labels, average="macro", zero_division=0) == (
        pytest.approx(0.5)
    )
    # F1 a = 2/3, b = 1 → macro 5/6; weighted (2 * 2/3 + 1) / 3
    assert macro_f1(yt, yp, labels) == pytest.approx(5 / 6)
    assert weighted_f1(yt, yp, labels) == pytest.approx((4 / 3 + 1) / 3)
    assert weighted_accuracy(yt, yp, labels) == pytest.approx(2 / 3)


def test_single_class_group() -> None:
    yt, yp = ["sad"] * 3, ["sad", "happy", "sad"]
    assert unweighted_accuracy(yt, yp, LABELS) == pytest.approx(2 / 3)
    assert weighted_accuracy(yt, yp, LABELS) == pytest.approx(2 / 3)
    assert macro_f1(yt, yp, LABELS) == pytest.approx(0.8)  # P = 1, R = 2/3
    assert weighted_f1(yt, yp, LABELS) == pytest.approx(0.8)


def test_metrics_agree_with_sklearn_when_every_class_present() -> None:
    yt, yp = _random_pair(500, LABELS, 0.6, seed=3)
    assert unweighted_accuracy(yt, yp, LABELS) == pytest.approx(balanced_accuracy_score(yt, yp))
    assert weighted_accuracy(yt, yp, LABELS) == pytest.approx(accuracy_score(yt, yp))
    for average, fn in (("macro", macro_f1), ("weighted", weighted_f1)):
        assert fn(yt, yp, LABELS) == pytest.approx(f1_score(yt, yp, average=average))


def test_label_validation_and_edge_cases() -> None:
    with pytest.raises(ValueError, match="not in labels"):
        unweighted_accuracy(["a", "z"], ["a", "a"], ["a", "b"])
    with pytest.raises(ValueError, match="missing"):
        weighted_accuracy(["a", None], ["a", "a"])
    with pytest.raises(ValueError, match="2 labels but"):
        weighted_accuracy(["a", "b"], ["a"])
    # A prediction outside the label set is an error, not an exception.
    assert weighted_accuracy(["a", "b"], ["a", "x"], ["a", "b"]) == 0.5
    assert unweighted_accuracy(["a", "b"], ["a", "x"], ["a", "b"]) == 0.5
    assert np.isnan(unweighted_accuracy([], [], ["a"]))
    summary = summary_metrics(["a", "b"], ["a", "a"], ["a", "b"])
    assert summary == {
        "ua": pytest.approx(0.5),
        "wa": pytest.approx(0.5),
        "weighted_f1": pytest.approx(1 / 3),
        "macro_f1": pytest.approx(1 / 3),
        "n": 2,
    }


def test_per_class_report_marks_undefined_as_nan() -> None:
    labels = ["a", "b", "c"]
    report = per_class_report(["a", "a", "b", "b"], ["a", "c", "a", "a"], labels)
    assert list(report.index) == labels
    assert list(report.columns) == ["precision", "recall", "f1", "support"]
    assert report.loc["a", "precision"] == pytest.approx(1 / 3)
    assert report.loc["a", "recall"] == pytest.approx(0.5)
    assert np.isnan(report.loc["b", "precision"])  # never predicted
    assert report.loc["b", "f1"] == 0.0
    assert np.isnan(report.loc["c", "recall"])  # no true example
    assert report["support"].tolist() == [2, 2, 0]
    assert report["support"].dtype == np.int64


def test_confusion_counts_and_normalised() -> None:
    labels = ["a", "b", "c"]
    yt = ["a", "a", "a", "b", "b"]
    yp = ["a", "b", "b", "b", "x"]  # "x" is outside the label set
    counts = confusion(yt, yp, labels)
    expected = confusion_matrix(yt, yp, labels=labels)
    np.testing.assert_array_equal(counts.to_numpy(), expected)
    assert counts.index.name == "true"
    assert counts.columns.name == "predicted"
    shares = confusion(yt, yp, labels, normalize="true")
    assert shares.loc["a", "b"] == pytest.approx(2 / 3)
    assert shares.loc["b", "b"] == pytest.approx(1 / 2)  # the "x" prediction still counts
    assert shares.loc["c"].isna().all()
    with pytest.raises(ValueError, match="normalize"):
        confusion(yt, yp, labels, normalize="all")  # type: ignore[arg-type]


def test_top_confusions() -> None:
    yt = ["a"] * 4 + ["b"] * 2 + ["c"] * 2
    yp = ["b", "b", "c", "a", "a", "a", "c", "c"]
    top = top_confusions(yt, yp, ["a", "b", "c"], k=5)
    assert list(top.columns) == ["true", "predicted", "count", "share"]
    # ties in count are broken by share of the true class
    assert top[["true", "predicted"]].values.tolist() == [["b", "a"], ["a", "b"], ["a", "c"]]
    assert top["count"].tolist() == [2, 2, 1]
    assert top["share"].tolist() == pytest.approx([1.0, 0.5, 0.25])
    assert len(top_confusions(yt, yp, ["a", "b", "c"], k=1)) == 1
    assert top_confusions(["a"], ["a"], ["a"]).empty


# --------------------------------------------------------------------------- bootstrap


def test_vectorised_metrics_equal_sklearn_on_unresampled_counts() -> None:
    labels = ["a", "b", "c", "d"]
    rng = np.random.default_rng(7)
    for trial in range(20):
        n = int(rng.integers(1, 40))
        present = labels[: int(rng.integers(1, 5))]  # some classes absent from y_true
        yt = rng.choice(present, n).astype(object)
        yp = rng.choice([*labels, "x"], n).astype(object)  # some off-label predictions
        codes = _encode(yt, yp, labels)
        counts = np.bincount(codes, minlength=len(labels) * (len(labels) + 1))
        values = _metrics_from_counts(
            counts.reshape(1, 4, 5), ["ua", "wa", "weighted_f1", "macro_f1"]
        )
        expected = summary_metrics(yt, yp, labels)
        for name, value in values.items():
            assert value[0] == pytest.approx(expected[name]), (trial, name)


def test_bootstrap_vectorised_equals_loop_over_sklearn() -> None:
    yt, yp = _random_pair(300, LABELS, 0.6, seed=1)
    speakers = np.arange(300) % 15
    for groups in (None, speakers):
        fast = bootstrap_ci(yt, yp, "ua", n_boot=200, seed=5, groups=groups)
        slow = bootstrap_ci(yt, yp, unweighted_accuracy, n_boot=200, seed=5, groups=groups)
        assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high))


def test_bootstrap_ci_contains_estimate_and_is_deterministic() -> None:
    yt, yp = _random_pair(400, LABELS, 0.7, seed=2)
    ci = bootstrap_ci(yt, yp, "ua", n_boot=500, seed=0)
    assert ci.low < ci.estimate < ci.high
    assert ci.estimate == pytest.approx(unweighted_accuracy(yt, yp))
    assert ci.resample == "utterance"
    assert ci.n_units == 400
    assert bootstrap_ci(yt, yp, "ua", n_boot=500, seed=0) == ci
    assert bootstrap_ci(yt, yp, "ua", n_boot=500, seed=1) != ci
    cis = bootstrap_cis(yt, yp, ["ua", "wa", "weighted_f1", "macro_f1"], n_boot=300)
    for c in cis.values():
        assert c.low <= c.estimate <= c.high


def test_bootstrap_ci_narrows_with_n() -> None:
    small = bootstrap_ci(*_random_pair(150, LABELS, 0.7, seed=4), "wa", n_boot=500)
    large = bootstrap_ci(*_random_pair(3000, LABELS, 0.7, seed=4), "wa", n_boot=500)
    assert large.width < small.width / 2  # width shrinks about as 1 / sqrt(n)


def test_speaker_cluster_bootstrap_is_wider_when_speakers_differ() -> None:
    # 10 speakers of 50 utterances: half are always right, half right 20 % of the time.
    rng = np.random.default_rng(0)
    yt = rng.choice(LABELS, 500).astype(object)
    speaker = np.repeat(np.arange(10), 50)
    good = speaker % 2 == 0
    ok = np.where(good, True, rng.random(500) < 0.2)
    yp = np.where(ok, yt, np.array([LABELS[(LABELS.index(t) + 1) % 4] for t in yt]))
    utt = bootstrap_ci(yt, yp, "wa", n_boot=1000, seed=0)
    spk = bootstrap_ci(yt, yp, "wa", n_boot=1000, seed=0, groups=speaker)
    assert spk.resample == "cluster"
    assert spk.n_units == 10
    assert spk.width > 2 * utt.width
    assert spk.low <= spk.estimate <= spk.high
    one = bootstrap_ci(yt, yp, "wa", groups=np.zeros(500))  # one cluster: no interval
    assert np.isnan(one.low)
    assert np.isnan(one.high)
    with pytest.raises(ValueError, match="one cluster id per item"):
        bootstrap_ci(yt, yp, "wa", groups=[1, 2])


def test_bootstrap_speed() -> None:
    yt, yp = _random_pair(1500, [*LABELS, "fearful", "disgust", "surprised"], 0.7, seed=0)
    start = time.perf_counter()
    bootstrap_cis(yt, yp, ["ua", "wa"], n_boot=1000, seed=0)
    assert time.perf_counter() - start < 1.0


def test_bootstrap_argument_errors() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_ci(["a"], ["a"], "auc")
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_ci(["a", "b"], ["a", "b"], "ua", alpha=1.5)
    assert json.dumps(bootstrap_ci(["a"], ["a"], "ua").to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- breakdowns


def test_breakdown_by_gender_known_accuracies() -> None:
    df = _predictions()
    report = breakdown(df, "gender", n_boot=200, seed=0)
    table = report.by_group
    assert list(table.index) == ["f", "m"]
    assert table.index.name == "gender"
    assert table.loc["f", "wa"] == pytest.approx((0.9 + 0.8) / 2)
    assert table.loc["m", "wa"] == pytest.approx((0.5 + 0.6) / 2)
    assert table["n"].tolist() == [80, 80]
    assert table["n_speakers"].tolist() == [2, 2]
    for m in ("ua", "wa", "weighted_f1"):
        assert (table[f"{m}_low"] <= table[m]).all()
        assert (table[m] <= table[f"{m}_high"]).all()
    assert report.overall["wa"] == pytest.approx(0.7)
    assert report.overall["n"] == 160
    diff = report.difference()
    assert diff.loc["wa", "difference"] == pytest.approx(0.85 - 0.55)
    assert diff.loc["wa", "max_group"] == "f"
    assert diff.loc["wa", "min_group"] == "m"
    assert diff.loc["wa", "n_groups"] == 2


def test_breakdown_by_speaker_and_corpus() -> None:
    df = _predictions()
    by_speaker = breakdown(df, "speaker", metrics=("wa",), n_boot=0)
    assert list(by_speaker.by_group.index) == ["emodb:03", "emodb:08", "ravdess:01", "ravdess:02"]
    assert by_speaker.by_group["wa"].tolist() == pytest.approx([0.5, 0.9, 0.6, 0.8])
    assert "n_speakers" not in by_speaker.by_group.columns
    assert by_speaker.by_group["wa_low"].isna().all()  # n_boot=0: no intervals
    diff = by_speaker.difference().loc["wa"]
    assert (diff["max_group"], diff["min_group"]) == ("emodb:08", "emodb:03")
    assert diff["difference"] == pytest.approx(0.4)
    by_corpus = breakdown(df, "corpus", n_boot=100)
    assert by_corpus.by_group.loc["emodb", "wa"] == pytest.approx(0.7)
    assert by_corpus.by_group.loc["ravdess", "wa"] == pytest.approx(0.7)
    assert by_corpus.difference().loc["wa", "difference"] == pytest.approx(0.0)


def test_breakdown_multiple_columns_and_unknown_group() -> None:
    df = _predictions()
    df.loc[df.index[:10], "gender"] = pd.NA
    report = breakdown(df, ["corpus", "gender"], metrics=("wa",), n_boot=50)
    index = report.by_group.index
    assert isinstance(index, pd.MultiIndex)
    assert list(index.names) == ["corpus", "gender"]
    assert ("emodb", UNKNOWN) in index
    assert index[-1] != ("emodb", UNKNOWN) or len(index) == 1
    assert report.by_group["n"].sum() == len(df)
    diff = report.difference().loc["wa"]
    assert UNKNOWN not in diff["max_group"]
    assert UNKNOWN not in diff["min_group"]
    # All-missing column (EMO-DB has no intensity): one "unknown" group, no gap.
    only_unknown = breakdown(df, "intensity", metrics=("wa",), n_boot=0)
    assert list(only_unknown.by_group.index) == [UNKNOWN]
    assert np.isnan(only_unknown.difference().loc["wa", "difference"])
    assert only_unknown.difference(include_unknown=True).loc["wa", "n_groups"] == 1


def test_breakdown_min_n_and_group_seeds_are_stable() -> None:
    df = _predictions()
    full = breakdown(df, "speaker", metrics=("wa",), n_boot=200, seed=3).by_group
    part = breakdown(
        df[df["speaker"] != "emodb:03"], "speaker", metrics=("wa",), n_boot=200, seed=3
    )
    pd.testing.assert_series_equal(full.loc["emodb:08"], part.by_group.loc["emodb:08"])
    assert np.isnan(
        breakdown(df, "speaker", metrics=("wa",), n_boot=0)
        .difference(min_n=41)
        .loc["wa", "difference"]
    )


def test_breakdown_subgroup_missing_a_class_uses_present_classes() -> None:
    df = _predictions()
    df["text"] = np.where(df["true"].isin(["neutral", "happy"]), "t0", "t1").astype(object)
    grp = breakdown(df, "text", metrics=("ua",), n_boot=0).by_group  # t0 holds 2 of 4 classes
    mask = df["text"] == "t0"
    expected = unweighted_accuracy(df.loc[mask, "true"], df.loc[mask, "predicted"], LABELS)
    assert grp.loc["t0", "ua"] == pytest.approx(expected)
    assert df.loc[mask, "true"].nunique() < len(LABELS)


def _ten_speakers() -> dict[str, tuple[str, str, float]]:
    return {
        f"ravdess:{i:02d}": ("ravdess", "m" if i % 2 else "f", 0.5 + 0.04 * i) for i in range(1, 11)
    }


def test_breakdown_speaker_cluster_and_errors() -> None:
    df = _predictions(n_per_speaker=20, speakers=_ten_speakers())
    report = breakdown(df, "gender", metrics=("wa",), n_boot=200, cluster="speaker")
    assert report.resample == "cluster:speaker"
    assert report.by_group["n_speakers"].tolist() == [5, 5]
    assert report.by_group["wa_low"].notna().all()
    few = breakdown(_predictions(), "gender", metrics=("wa",), n_boot=50, cluster="speaker")
    assert few.by_group["wa_low"].isna().all()  # 2 speakers per group: too few clusters
    by_spk = breakdown(df, "speaker", metrics=("wa",), n_boot=50, cluster="speaker")
    assert by_spk.by_group["wa_low"].isna().all()  # one speaker per group: no interval
    with pytest.raises(PredictionsError, match="no such column"):
        breakdown(df, "accent")
    with pytest.raises(ValueError, match="unknown metric"):
        breakdown(df, "gender", metrics=("auc",))
    assert json.dumps(report.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- human agreement


def test_human_agreement_errors_on_hard_files() -> None:
    df = _emodb_like()
    other = _predictions().drop(columns=["model"]).head(20)  # rows without ratings are ignored
    mixed = pd.concat([df, other], ignore_index=True)
    agreement = human_agreement(mixed)
    s = agreement.summary
    assert s["n"] == len(df)
    assert s["spearman_rho"] > 0.5
    assert s["spearman_p"] < 1e-6
    assert s["spearman_rho_correct"] > 0
    assert s["human_pct_when_wrong"] < s["human_pct_when_correct"]
    bins = agreement.by_bin
    assert list(bins.index) == ["80-90", "90-95", "95-100"]
    assert bins["n"].sum() == len(df)
    assert bins.loc["80-90", "n"] == int(
        ((df.human_recognized_pct >= 80) & (df.human_recognized_pct < 90)).sum()
    )
    assert bins.loc["95-100", "n"] == int((df.human_recognized_pct >= 95).sum())  # 100 included
    assert bins.loc["80-90", "model_accuracy"] < bins.loc["95-100", "model_accuracy"]
    per_file = agreement.per_file
    assert len(per_file) == len(df)
    row = per_file.iloc[0]
    assert row["p_true"] == pytest.approx(df.loc[0, f"prob_{df.loc[0, 'true']}"])
    assert row["correct"] == (df.loc[0, "true"] == df.loc[0, "predicted"])
    assert json.dumps(agreement.to_dict(), allow_nan=False)


def test_human_agreement_below_first_bin_and_errors() -> None:
    df = _emodb_like(60)
    df.loc[:4, "human_recognized_pct"] = 60.0
    agreement = human_agreement(df)
    assert agreement.by_bin.index[0] == "<80"
    assert agreement.by_bin.loc["<80", "n"] == 5
    with pytest.raises(PredictionsError, match="human_recognized_pct"):
        human_agreement(df.drop(columns=["human_recognized_pct"]))
    with pytest.raises(ValueError, match="increasing"):
        human_agreement(df, bins=(90, 80))


# --------------------------------------------------------------------------- predictions I/O


def test_parquet_round_trip_preserves_dtypes_and_order(tmp_path: Path) -> None:
    df = _predictions(n_per_speaker=8)
    df["fold"] = pd.array(np.arange(len(df)) % 3, dtype="Int64")
    df.loc[0, "fold"] = pd.NA
    df["split"] = pd.Categorical(["test"] * len(df))
    df["human_recognized_pct"] = np.where(df["corpus"] == "emodb", 95.0, np.nan)
    df.loc[df.index[:3], "text"] = pd.NA
    df = df[[*df.columns[::-1]]]  # unusual column order
    path = save_predictions(df, tmp_path / "sub" / "predictions.parquet")
    assert path.is_file()
    back = load_predictions(path)
    pd.testing.assert_frame_equal(back, df)
    assert back["text"].dtype == object
    assert back.loc[0, "text"] is pd.NA


def test_predictions_validation_messages(tmp_path: Path) -> None:
    df = _predictions(n_per_speaker=4)
    with pytest.raises(PredictionsError, match=r"lack required column.*true"):
        save_predictions(df.drop(columns=["true"]), tmp_path / "p.parquet")
    bad = df.copy()
    bad["prob_sad"] = bad["prob_sad"] + 0.5
    with pytest.raises(PredictionsError, match=r"sum to 1|outside"):
        validate_predictions(bad)
    bad = df.copy()
    bad.loc[0, "predicted"] = "surprised"
    with pytest.raises(PredictionsError, match="without a prob_ column"):
        validate_predictions(bad)
    with pytest.raises(FileNotFoundError):
        load_predictions(tmp_path / "missing.parquet")
    assert prediction_labels(df) == LABELS
    no_probs = df.drop(columns=[c for c in df.columns if c.startswith("prob_")])
    assert prediction_labels(no_probs) == ["neutral", "happy", "sad", "angry"]


# --------------------------------------------------------------------------- report


def test_evaluate_predictions_report() -> None:
    df = _predictions()
    df["fold"] = np.arange(len(df)) % 2
    report = evaluate_predictions(df, n_boot=200, seed=0)
    assert report.labels == LABELS
    assert report.metrics["wa"] == pytest.approx(0.7)
    assert report.metrics["n"] == len(df)
    assert report.ci["ua"].low <= report.metrics["ua"] <= report.ci["ua"].high
    assert report.speaker_ci == {}  # 4 speakers: too few for a speaker-cluster interval
    # intensity is all-missing and age constant: no breakdown for them
    assert set(report.breakdowns) == {"corpus", "gender", "text", "speaker", "language", "fold"}
    assert report.human_agreement is None
    assert report.settings["model"] == "cnn"
    assert report.settings["n_folds"] == 2
    assert report.confusion.to_numpy().sum() == len(df)
    np.testing.assert_allclose(
        np.diag(report.confusion_normalized.to_numpy()), report.per_class["recall"].to_numpy()
    )
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["metrics"]["wa"] == pytest.approx(0.7)
    assert data["breakdowns"]["gender"]["difference"]["wa"]["max_group"] == "f"
    assert data["confusion"]["counts"] == report.confusion.to_numpy().tolist()
    again = evaluate_predictions(df, n_boot=200, seed=0)
    assert again.to_dict() == data


def test_report_speaker_interval() -> None:
    df = _predictions(n_per_speaker=20, speakers=_ten_speakers())
    report = evaluate_predictions(df, n_boot=300, seed=0, by=["gender"])
    ci, sci = report.ci["wa"], report.speaker_ci["wa"]
    assert (sci.resample, sci.n_units) == ("cluster", 10)
    assert sci.low <= report.metrics["wa"] <= sci.high
    assert sci.width > ci.width  # speakers differ (50 % ... 86 %), so clusters matter
    assert f"{100 * sci.low:.1f}–{100 * sci.high:.1f}" in report.to_markdown()


def test_report_markdown_contains_numbers() -> None:
    df = _emodb_like(200)
    report = evaluate_predictions(df, n_boot=100)
    md = report.to_markdown()
    assert md.startswith("# Evaluation report")
    for m in ("ua", "wa", "weighted_f1", "macro_f1"):
        assert f"| {100 * report.metrics[m]:.1f} |" in md
    ci = report.ci["ua"]
    assert f"{100 * ci.low:.1f}–{100 * ci.high:.1f}" in md
    assert "## By speaker" in md
    assert "## Agreement with human listeners" in md
    assert f"ρ = {report.human_agreement.summary['spearman_rho']:.3f}" in md
    top = report.top_confusions.iloc[0]
    assert f"| {top['true']} | {top['predicted']} | {top['count']} |" in md
    assert report.human_agreement is not None
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_report_refuses_mixed_models_and_markdown_table() -> None:
    df = _predictions(n_per_speaker=4)
    df.loc[df.index[:3], "model"] = "svm"
    with pytest.raises(PredictionsError, match="mix 2 models"):
        evaluate_predictions(df, n_boot=0)
    assert markdown_table(["a", "b"], [["x|y", 1]]) == "| a | b |\n|:--|--:|\n| x\\|y | 1 |"


def test_report_without_bootstrap() -> None:
    df = _predictions(n_per_speaker=8)
    report = evaluate_predictions(df, n_boot=0, by=["gender"])
    assert report.ci == {}
    assert list(report.breakdowns) == ["gender"]
    assert "–" in report.to_markdown()
    assert json.dumps(report.to_dict(), allow_nan=False)
