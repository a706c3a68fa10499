"""Shared by the training tests: a tiny synthetic corpus (tones, fake speakers) and the settings
of a quick CNN run on it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from ser_core.training import TrainConfig
from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus

TINY_CNN: dict[str, Any] = {"channels": [8, 8, 16, 16], "fc_hidden": 16}
QUICK: dict[str, Any] = {"progress": False, "batch_size": 8, "patience": 0, "num_threads": 1}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = write_synthetic_corpus(tmp_path_factory.mktemp("synth"), speakers=4, per_speaker=3)
    return synthetic_manifest(root)


def cnn_config(**changes: Any) -> TrainConfig:
    """A tiny CNN on the synthetic corpus, 6 epochs at lr 3e-3, with ``changes`` applied."""
    values: dict[str, Any] = {
        "model": "cnn",
        "model_config": TINY_CNN,
        "feature_config": {"n_mels": 32},
        "corpora": ["synth"],
        "epochs": 6,
        "lr": 3e-3,
        **QUICK,
    }
    return TrainConfig(**{**values, **changes})
