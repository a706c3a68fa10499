"""``train_also``: corpora whose every clip joins training in every split, for in-corpus
cross-validation of a model that also learns from other corpora."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_runs import cnn_config, corpus  # noqa: F401 (corpus is a fixture)

from ser_core.cli import build_parser
from ser_core.cli.train import train_config_from_args
from ser_core.training import TrainConfigError, train_folds
from ser_core.training.data import make_splits
from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus


@pytest.fixture(scope="module")
def both(corpus: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """synth (angry / happy / sad, 4 speakers) and synth2 (angry / neutral / sad)."""
    folder = tmp_path_factory.mktemp("other")
    root = write_synthetic_corpus(
        folder / "synth2", emotions=("angry", "neutral", "sad"), speakers=3, per_speaker=2, seed=3
    )
    return pd.concat([corpus, synthetic_manifest(root, name="synth2")], ignore_index=True)


def test_the_protocol_splits_its_corpora_and_the_others_only_train(both: pd.DataFrame) -> None:
    config = cnn_config(corpora=["synth"], train_also=["synth2"], protocol="loso")
    splits = make_splits(config, both)
    alone = make_splits(config.replace(train_also=[]), both[both["corpus"] == "synth"])
    added = np.flatnonzero(both["corpus"] == "synth2")
    assert len(splits) == len(alone) == 4  # one fold per synth speaker
    for split, own in zip(splits, alone, strict=True):
        assert set(added) <= set(split.train)
        assert (both["corpus"].iloc[np.concatenate([split.val, split.test])] == "synth").all()
        assert split.test_groups == own.test_groups and split.val_groups == own.val_groups
        assert len(split.train) == len(own.train) + len(added)
        assert split.n_rows == len(both) and "synth2 also in training" in split.description


def test_bad_training_corpora_are_refused(both: pd.DataFrame) -> None:
    with pytest.raises(TrainConfigError, match="also split"):
        make_splits(cnn_config(corpora=["synth"], train_also=["synth"], protocol="loso"), both)
    only = both[both["corpus"] == "synth"].reset_index(drop=True)
    with pytest.raises(TrainConfigError, match="rows of both"):
        make_splits(cnn_config(corpora=["synth"], train_also=["synth2"], protocol="loso"), only)


def test_folds_are_scored_over_the_tested_corpus_classes(
    both: pd.DataFrame, tmp_path: Path
) -> None:
    manifest = tmp_path / "both.parquet"
    both.to_parquet(manifest)
    config = cnn_config(
        corpora=["synth"], train_also=["synth2"], manifest=str(manifest), protocol="kfold-speaker",
        split_options={"k": 4}, epochs=1,
    )  # fmt: skip
    result = train_folds(config, tmp_path / "cv", n_boot=10)
    assert result.folds[0].labels == ["neutral", "happy", "sad", "angry"]  # the union
    folds = pd.read_csv(tmp_path / "cv" / "folds.csv")
    assert (folds["n_classes"] == 3).all() and folds["classes"].eq("happy sad angry").all()
    # neutral, a class synth does not have, is never predicted for its clips
    assert set(result.predictions["predicted"]) <= {"happy", "sad", "angry"}
    assert set(result.predictions["corpus"]) == {"synth"}


def test_the_command_line_takes_train_also() -> None:
    added = ["--train-also", "tess", "--train-also", "emodb"]
    args = build_parser().parse_args(["train", "--corpus", "ravdess", *added, "--out", "x"])
    assert train_config_from_args(args).train_also == ["tess", "emodb"]
