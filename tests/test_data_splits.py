"""Split protocols, the leakage guard and class balancing, on synthetic manifests (no audio)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from ser_core.data import (
    PROTOCOLS,
    Split,
    check_no_leakage,
    class_weights,
    get_split,
    get_splits,
    leave_one_speaker_out,
    make_manifest,
    oversample,
    per_corpus_holdout,
    random_split,
    speaker_holdout,
    speaker_kfold,
    text_holdout,
    undersample,
)
from ser_core.errors import SplitLeakageError

EMOS = ("neutral", "happy", "sad", "angry")


def fake_corpus(name: str, speakers: dict[str, str], texts: int, per_text: int = 1) -> pd.DataFrame:
    """Every speaker says every text in every emotion ``per_text`` times (no audio files)."""
    rows = []
    for (speaker, gender), t, emotion, k in itertools.product(
        speakers.items(), range(texts), EMOS, range(per_text)
    ):
        rows.append(
            {
                "path": f"/fake/{name}/{speaker}_{t:03d}_{emotion}_{k}.wav",
                "speaker": f"{name}:{speaker}",
                "gender": gender,
                "age": np.nan,
                "emotion": emotion,
                "intensity": pd.NA,
                "text": f"t{t:03d}",
                "language": "en",
                "duration": 1.0,
            }
        )
    return make_manifest(rows, name)


@pytest.fixture
def emodb_like() -> pd.DataFrame:
    """10 speakers (5 m, 5 f), 10 texts."""
    genders = {f"{i:02d}": "m" if i % 2 else "f" for i in range(1, 11)}
    return fake_corpus("alpha", genders, texts=10)


@pytest.fixture
def multi() -> pd.DataFrame:
    """Three corpora: 10 speakers, 6 speakers (3/3), 2 female speakers with 20 words (TESS-like)."""
    a = fake_corpus("alpha", {f"{i:02d}": "m" if i % 2 else "f" for i in range(1, 11)}, texts=4)
    b = fake_corpus("beta", {f"{i:02d}": "m" if i % 2 else "f" for i in range(1, 7)}, texts=2)
    c = fake_corpus("gamma", {"OAF": "f", "YAF": "f"}, texts=20)
    return pd.concat([a, b, c], ignore_index=True)


def speakers_of(manifest: pd.DataFrame, idx: np.ndarray) -> set[str]:
    return set(manifest["speaker"].to_numpy()[idx])


def assert_partition(manifest: pd.DataFrame, split: Split) -> None:
    """train, val and test are disjoint and cover every row."""
    everything = np.concatenate([split.train, split.val, split.test])
    assert len(everything) == len(manifest)
    assert set(everything.tolist()) == set(range(len(manifest)))


def assert_speaker_disjoint(manifest: pd.DataFrame, split: Split) -> None:
    test = speakers_of(manifest, split.test)
    assert not test & speakers_of(manifest, split.train)
    assert not test & speakers_of(manifest, split.val)
    assert not speakers_of(manifest, split.val) & speakers_of(manifest, split.train)


# ------------------------------------------------------------------------------- leakage guard


def test_guard_raises_on_hand_made_leaky_split(emodb_like: pd.DataFrame) -> None:
    rows_03 = np.flatnonzero(emodb_like["speaker"] == "alpha:03")
    leaky = Split(
        protocol="speaker-holdout",
        train=np.setdiff1d(np.arange(len(emodb_like)), rows_03[:5]),
        val=np.array([], dtype=np.int64),
        test=rows_03[:5],  # the other rows of speaker 03 stay in training
        disjoint_on=("speaker",),
    )
    with pytest.raises(SplitLeakageError, match="alpha:03"):
        check_no_leakage(emodb_like, leaky)


def test_guard_raises_on_val_test_leak_and_row_overlap(emodb_like: pd.DataFrame) -> None:
    s1 = np.flatnonzero(emodb_like["speaker"] == "alpha:01")
    s2 = np.flatnonzero(emodb_like["speaker"] == "alpha:02")
    rest = np.setdiff1d(np.arange(len(emodb_like)), np.union1d(s1, s2))
    val_leak = Split("loso", rest, s1[:3], s1[3:], disjoint_on=("speaker",))
    with pytest.raises(SplitLeakageError, match="val and test"):
        check_no_leakage(emodb_like, val_leak)
    overlap = Split("random", np.arange(len(emodb_like)), np.array([], dtype=np.int64), s2)
    with pytest.raises(SplitLeakageError, match="both train and test"):
        check_no_leakage(emodb_like, overlap)


def test_guard_checks_texts_for_text_holdout(emodb_like: pd.DataFrame) -> None:
    t0 = np.flatnonzero(emodb_like["text"] == "t000")
    leaky = Split(
        "text-holdout",
        train=np.setdiff1d(np.arange(len(emodb_like)), t0[:4]),
        val=np.array([], dtype=np.int64),
        test=t0[:4],
        disjoint_on=("text",),
    )
    with pytest.raises(SplitLeakageError, match="text"):
        check_no_leakage(emodb_like, leaky)


def test_guard_rejects_split_of_another_manifest(emodb_like: pd.DataFrame) -> None:
    split = speaker_holdout(emodb_like)
    with pytest.raises(SplitLeakageError, match="rows"):
        check_no_leakage(emodb_like.iloc[:-1], split)


def test_texts_of_different_corpora_do_not_collide(multi: pd.DataFrame) -> None:
    # "t000" exists in all three corpora; holding it out in one corpus is not a leak.
    split = text_holdout(multi, seed=1)
    assert_partition(multi, split)
    assert all(":" in group for group in split.test_groups)


# ----------------------------------------------------------------------------------- protocols


def test_loso_covers_every_row_once(multi: pd.DataFrame) -> None:
    splits = list(leave_one_speaker_out(multi))
    assert len(splits) == multi["speaker"].nunique()
    tested = np.concatenate([s.test for s in splits])
    assert sorted(tested.tolist()) == list(range(len(multi)))
    for fold, split in enumerate(splits):
        assert split.fold == fold
        assert split.protocol == "loso"
        assert split.speaker_independent
        assert len(speakers_of(multi, split.test)) == 1
        assert_partition(multi, split)
        assert_speaker_disjoint(multi, split)


def test_loso_validation_speaker_from_same_corpus(multi: pd.DataFrame) -> None:
    for split in leave_one_speaker_out(multi, validation=True):
        (test_speaker,) = split.test_groups
        (val_speaker,) = split.val_groups
        assert test_speaker != val_speaker
        assert test_speaker.split(":")[0] == val_speaker.split(":")[0]
        assert_speaker_disjoint(multi, split)
    first = next(leave_one_speaker_out(multi, validation=True))
    assert (first.test_groups, first.val_groups) == (("alpha:01",), ("alpha:02",))


def test_speaker_holdout_gender_balanced(emodb_like: pd.DataFrame) -> None:
    split = speaker_holdout(emodb_like, test_fraction=0.2, val_fraction=0.2, seed=3)
    assert_partition(emodb_like, split)
    assert_speaker_disjoint(emodb_like, split)
    genders = emodb_like.drop_duplicates("speaker").set_index("speaker")["gender"]
    assert sorted(genders[list(split.test_groups)]) == ["f", "m"]
    assert sorted(genders[list(split.val_groups)]) == ["f", "m"]
    assert split.protocol == "speaker-holdout"
    assert "test speakers" in split.description


def test_speaker_holdout_per_corpus(multi: pd.DataFrame) -> None:
    split = speaker_holdout(multi, seed=0)
    assert_partition(multi, split)
    assert_speaker_disjoint(multi, split)
    corpora = {g.split(":")[0] for g in split.test_groups}
    assert corpora == {"alpha", "beta", "gamma"}  # every corpus is represented in test
    # Every corpus keeps at least one training speaker.
    assert {s.split(":")[0] for s in speakers_of(multi, split.train)} == corpora


def test_speaker_holdout_is_deterministic(multi: pd.DataFrame) -> None:
    a, b = speaker_holdout(multi, seed=7), speaker_holdout(multi, seed=7)
    assert np.array_equal(a.test, b.test)
    assert np.array_equal(a.val, b.val)
    draws = {speaker_holdout(multi, seed=s).test_groups for s in range(10)}
    assert len(draws) > 1  # the seed matters


def test_speaker_holdout_explicit_lists(emodb_like: pd.DataFrame) -> None:
    split = speaker_holdout(emodb_like, test_speakers=["alpha:01"], val_speakers=["alpha:02"])
    assert split.test_groups == ("alpha:01",)
    assert split.val_groups == ("alpha:02",)
    for seed in range(5):  # explicit validation speakers are never drawn for test
        only_val = speaker_holdout(
            emodb_like, val_speakers=["alpha:01", "alpha:02"], test_fraction=0.5, seed=seed
        )
        assert only_val.val_groups == ("alpha:01", "alpha:02")
        assert len(only_val.test_groups) == 5
        assert_speaker_disjoint(emodb_like, only_val)
    with pytest.raises(ValueError, match="not in the manifest"):
        speaker_holdout(emodb_like, test_speakers=["01"])
    with pytest.raises(ValueError, match="both"):
        speaker_holdout(emodb_like, test_speakers=["alpha:01"], val_speakers=["alpha:01"])


@pytest.mark.parametrize("k", [2, 3, 5])
def test_kfold_covers_every_row_once(multi: pd.DataFrame, k: int) -> None:
    splits = list(speaker_kfold(multi, k=k, seed=0))
    assert len(splits) == k
    tested = np.concatenate([s.test for s in splits])
    assert sorted(tested.tolist()) == list(range(len(multi)))
    for split in splits:
        assert split.protocol == "kfold-speaker"
        assert len(split.test) > 0
        assert_partition(multi, split)
        assert_speaker_disjoint(multi, split)


def test_kfold_gender_balanced_and_deterministic(emodb_like: pd.DataFrame) -> None:
    splits = list(speaker_kfold(emodb_like, k=5, seed=0))
    genders = emodb_like.drop_duplicates("speaker").set_index("speaker")["gender"]
    for split in splits:
        assert sorted(genders[list(split.test_groups)]) == ["f", "m"]
    again = list(speaker_kfold(emodb_like, k=5, seed=0))
    assert [s.test_groups for s in splits] == [s.test_groups for s in again]
    # The seed matters, also when speakers have different numbers of files.
    uneven = emodb_like.drop(index=np.flatnonzero(emodb_like["speaker"] == "alpha:03")[:7])
    uneven = uneven.reset_index(drop=True)
    assignments = {
        tuple(s.test_groups for s in speaker_kfold(uneven, k=5, seed=seed)) for seed in range(5)
    }
    assert len(assignments) > 1


def test_kfold_with_validation(emodb_like: pd.DataFrame) -> None:
    splits = list(speaker_kfold(emodb_like, k=5, validation=True))
    for i, split in enumerate(splits):
        assert split.val_groups == splits[(i + 1) % 5].test_groups
        assert_partition(emodb_like, split)
        assert_speaker_disjoint(emodb_like, split)
    with pytest.raises(ValueError, match="k must be"):
        list(speaker_kfold(emodb_like, k=11))


def test_text_holdout_is_text_disjoint_and_speaker_dependent(multi: pd.DataFrame) -> None:
    split = text_holdout(multi, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert_partition(multi, split)
    key = (multi["corpus"] + ":" + multi["text"]).to_numpy()
    test, train, val = set(key[split.test]), set(key[split.train]), set(key[split.val])
    assert not test & train
    assert not test & val
    assert not val & train
    assert not split.speaker_independent
    assert split.label == "text-holdout (speaker-dependent)"
    assert "speaker-dependent" in split.description
    # The same speakers are in train and test: that is the point of the label.
    assert speakers_of(multi, split.test) <= speakers_of(multi, split.train)
    gamma_test = [g for g in split.test_groups if g.startswith("gamma:")]
    assert len(gamma_test) == 4  # 20 % of gamma's 20 words
    again = text_holdout(multi, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert np.array_equal(split.test, again.test)


def test_random_split_stratified_and_labelled(emodb_like: pd.DataFrame) -> None:
    split = random_split(emodb_like, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert_partition(emodb_like, split)
    assert split.protocol == "random"
    assert not split.speaker_independent
    assert "speaker-dependent" in split.description
    counts = emodb_like["emotion"].iloc[split.test].value_counts()
    assert counts.max() - counts.min() <= 1  # stratified on emotion
    assert (len(split.test), len(split.val)) == (80, 40)  # of 400 rows
    again = random_split(emodb_like, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert np.array_equal(split.test, again.test)


def test_get_split_dispatcher(multi: pd.DataFrame) -> None:
    for protocol in PROTOCOLS:
        splits = get_splits(protocol, multi, seed=0)
        assert all(s.protocol == protocol for s in splits)
        assert isinstance(get_split(protocol, multi, seed=0), Split)
    assert len(get_splits("loso", multi)) == multi["speaker"].nunique()
    assert get_split("kfold_speaker", multi, k=3, fold=2).fold == 2
    assert get_split("speaker-holdout", multi, seed=0).protocol == "speaker-holdout"
    with pytest.raises(ValueError, match="unknown split protocol"):
        get_split("leave-some-out", multi)
    with pytest.raises(ValueError, match="fold 5 out of range"):
        get_split("kfold-speaker", multi, k=3, fold=5)


def test_speaker_protocols_refuse_unknown_speakers(emodb_like: pd.DataFrame) -> None:
    anonymous = emodb_like.copy()
    anonymous["speaker"] = pd.Series([pd.NA] * len(anonymous), dtype=object)
    for protocol in ("loso", "speaker-holdout", "kfold-speaker"):
        with pytest.raises(ValueError, match="no speaker"):
            get_splits(protocol, anonymous)
    assert random_split(anonymous).protocol == "random"  # still possible


def test_split_to_dict_is_json_ready(emodb_like: pd.DataFrame) -> None:
    import json

    record = speaker_holdout(emodb_like).to_dict()
    assert json.loads(json.dumps(record))["protocol"] == "speaker-holdout"


# ----------------------------------------------------------------------------------- balancing


def test_class_weights_match_sklearn() -> None:
    labels = ["a"] * 6 + ["b"] * 3 + ["c"]
    expected = compute_class_weight("balanced", classes=np.array(["a", "b", "c"]), y=labels)
    assert np.allclose(class_weights(labels, ["a", "b", "c"]), expected)
    # Order follows `classes`; an absent class weighs 0.
    assert np.allclose(class_weights(labels, ["c", "a", "b", "d"]), [*expected[[2, 0, 1]], 0.0])
    with pytest.raises(ValueError, match="not in classes"):
        class_weights(labels, ["a", "b"])


def test_undersample_and_oversample_manifest(emodb_like: pd.DataFrame) -> None:
    unbalanced = emodb_like[~((emodb_like["emotion"] == "sad") & (emodb_like["text"] > "t004"))]
    unbalanced = unbalanced.reset_index(drop=True)
    counts = unbalanced["emotion"].value_counts()
    down = undersample(unbalanced, seed=0)
    assert (unbalanced["emotion"].iloc[down].value_counts() == counts.min()).all()
    assert len(set(down.tolist())) == len(down)
    up = oversample(unbalanced, seed=0)
    assert (unbalanced["emotion"].iloc[up].value_counts() == counts.max()).all()
    assert set(up.tolist()) == set(range(len(unbalanced)))  # every original row kept
    assert np.array_equal(up, oversample(unbalanced, seed=0))
    assert np.array_equal(down, undersample(unbalanced, seed=0))
    assert not np.array_equal(down, undersample(unbalanced, seed=1))


def test_balancing_split_indices(emodb_like: pd.DataFrame) -> None:
    split = speaker_holdout(emodb_like, seed=0)
    labels = emodb_like["emotion"].to_numpy()[split.train]
    down = undersample(split.train, labels, seed=0)
    assert set(down.tolist()) <= set(split.train.tolist())
    up = oversample(split.train, labels, seed=0)
    assert set(up.tolist()) == set(split.train.tolist())
    with pytest.raises(ValueError, match="align"):
        undersample(split.train, labels[:-1])


def test_per_corpus_holdout_gives_each_corpus_its_own_test_set(multi: pd.DataFrame) -> None:
    split = per_corpus_holdout(multi, test_speakers=["alpha:01", "alpha:02"], seed=3)
    assert_partition(multi, split)
    assert (
        get_split("per-corpus", multi, test_speakers=["alpha:01", "alpha:02"], seed=3).test.tolist()
        == split.test.tolist()
    )
    train_val = np.union1d(split.train, split.val)
    for corpus in ("alpha", "beta", "gamma"):
        rows = np.flatnonzero((multi["corpus"] == corpus).to_numpy())
        sub = multi.iloc[rows].reset_index(drop=True)
        alone = (
            text_holdout(sub, seed=3)
            if corpus == "gamma"
            else speaker_holdout(
                sub, ["alpha:01", "alpha:02"] if corpus == "alpha" else None, seed=3
            )
        )
        # the same test files as the corpus split alone, mapped back to the merged manifest
        assert sorted(rows[alone.test]) == sorted(np.intersect1d(split.test, rows))
        test_rows = np.intersect1d(split.test, rows)
        if corpus == "gamma":  # TESS-like: words held out, speakers shared (stated)
            assert not set(multi.text.iloc[test_rows]) & set(
                multi.text.iloc[np.intersect1d(train_val, rows)]
            )
            assert "gamma [speaker-dependent]" in split.description
        else:
            assert not speakers_of(multi, test_rows) & speakers_of(multi, train_val)
            assert f"{corpus} [speaker-independent]" in split.description
    assert {"alpha:01", "alpha:02"} <= set(split.test_groups)
    assert not split.speaker_independent  # the merged split as a whole is not
    with pytest.raises(ValueError, match="not in the manifest"):
        per_corpus_holdout(multi, test_speakers=["delta:01"])


# ----------------------------------------------------------------------------- leave one corpus out
def test_leave_one_corpus_out_tests_each_corpus_whole_and_validates_on_the_others() -> None:
    from ser_core.data import leave_one_corpus_out

    six = {f"{i:02d}": "m" if i % 2 else "f" for i in range(1, 7)}
    manifest = pd.concat(
        [
            fake_corpus("alpha", six, texts=2),
            fake_corpus("beta", {**six, "07": "m", "08": "f"}, texts=2),
            fake_corpus("gamma", {"young": "f", "old": "f"}, texts=3),  # TESS-like: 2 speakers
        ],
        ignore_index=True,
    )
    splits = list(leave_one_corpus_out(manifest, val_fraction=0.25, seed=0))
    assert [s.test_groups for s in splits] == [("alpha",), ("beta",), ("gamma",)]
    corpus = manifest["corpus"].to_numpy()
    val_speakers: dict[str, set[str]] = {}
    for split in splits:
        held = split.test_groups[0]
        assert split.protocol == "loco" and split.speaker_independent
        assert set(corpus[split.test]) == {held}
        assert (corpus == held).sum() == len(split.test)  # every row of the corpus, once
        assert held not in set(corpus[split.train]) | set(corpus[split.val])
        assert len(split.train) + len(split.val) + len(split.test) == len(manifest)
        assert "gamma" not in set(corpus[split.val])  # 2 speakers: it only trains
        for name in {"alpha", "beta"} - {held}:
            mine = {s for s in split.val_groups if s.startswith(f"{name}:")}
            assert len(mine) == 2  # 25 % of 6 or 8 speakers, rounded half up
            assert val_speakers.setdefault(name, mine) == mine  # the same in every fold
        check_no_leakage(manifest, split)
    again = list(leave_one_corpus_out(manifest, val_fraction=0.25, seed=0))
    assert all(np.array_equal(a.val, b.val) for a, b in zip(splits, again, strict=True))
    assert get_split("leave-one-corpus-out", manifest, fold=1).test_groups == ("beta",)
    with pytest.raises(ValueError, match="two or more corpora"):
        list(leave_one_corpus_out(manifest[manifest["corpus"] == "alpha"]))
