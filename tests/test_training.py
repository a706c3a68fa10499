"""The training engine on a tiny synthetic corpus (tones, fake speakers): loss falls, every file of
the checkpoint is written, settings round-trip, cross-validation pools out-of-fold predictions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from synthetic_runs import QUICK, TINY_CNN, cnn_config, corpus  # noqa: F401 (corpus is a fixture)

from ser_core.errors import SERError
from ser_core.evaluation import load_predictions, summary_metrics
from ser_core.inference import load_predictor
from ser_core.training import LOG_COLUMNS, TrainConfig, TrainConfigError, train, train_folds
from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus


def test_loss_falls_and_the_checkpoint_has_every_file(corpus: pd.DataFrame, tmp_path: Path) -> None:
    result = train(cnn_config(), tmp_path / "ckpt", manifest=corpus)
    history = result.history
    assert list(history.columns) == list(LOG_COLUMNS)
    assert len(history) == 6
    assert history["train_loss"].iloc[-1] < 0.7 * history["train_loss"].iloc[0]
    folder = tmp_path / "ckpt"
    for name in (
        "model.safetensors",
        "config.json",
        "train_config.json",
        "train_log.csv",
        "README.md",
        "predictions.parquet",
    ):
        assert (folder / name).is_file(), name
    config = json.loads((folder / "config.json").read_text())
    for key in ("feature_config", "labels", "training", "data", "metrics", "versions"):
        assert key in config, key
    assert config["labels"] == ["happy", "sad", "angry"]  # canonical order of those present
    assert config["feature_config"]["kind"] == "logmel"
    assert config["feature_config"]["n_mels"] == 32
    assert config["training"]["model"] == "cnn"
    data = config["data"]
    assert data["protocol"] == "speaker-holdout"
    assert set(data["test_speakers"]).isdisjoint(data["train_speakers"])
    assert len(data["test_files"]) == data["n_test"] == len(result.predictions)
    assert config["metrics"]["best_epoch"] == result.best_epoch
    assert {"torch", "numpy", "python", "ser_core", "sklearn"} <= set(config["versions"])
    assert config["training_seconds"] > 0
    log = pd.read_csv(folder / "train_log.csv")
    assert list(log.columns) == list(LOG_COLUMNS) and len(log) == 6
    predictions = load_predictions(folder / "predictions.parquet")
    assert {"true", "predicted", "prob_happy", "prob_sad", "prob_angry", "speaker"} <= set(
        predictions.columns
    )
    card = (folder / "README.md").read_text()
    assert "non-commercial" in card and "Hyperparameters" in card
    assert TrainConfig.load(folder / "train_config.json") == cnn_config()
    # The synthetic task is easy: the held-out speakers are recognised.
    assert result.metrics["test"]["ua"] >= 0.6


def test_same_seed_gives_the_same_weights(corpus: pd.DataFrame, tmp_path: Path) -> None:
    a = train(cnn_config(epochs=2, evaluate_test=False), tmp_path / "a", manifest=corpus)
    b = train(cnn_config(epochs=2, evaluate_test=False), tmp_path / "b", manifest=corpus)
    assert a.history["train_loss"].tolist() == b.history["train_loss"].tolist()
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (
        tmp_path / "b" / "model.safetensors"
    ).read_bytes()


def test_augmentation_crop_balance_sgd_and_scheduler(corpus: pd.DataFrame, tmp_path: Path) -> None:
    config = cnn_config(
        epochs=2,
        augment={"time_stretch_p": 0.0, "pitch_shift_p": 0.0},
        spec_augment={"freq_width": 4, "time_width": 5},
        max_train_seconds=0.5,
        balance="weights",
        optimizer="sgd",
        lr=0.01,
        scheduler="step",
        step_size=1,
        gamma=0.5,
    )
    result = train(config, tmp_path / "aug", manifest=corpus)
    assert result.history["lr"].tolist() == pytest.approx([0.01, 0.005])
    for balance in ("undersample", "oversample"):
        train(cnn_config(epochs=1, balance=balance), tmp_path / balance, manifest=corpus)


def test_svm_is_fitted_once_into_the_same_layout(corpus: pd.DataFrame, tmp_path: Path) -> None:
    config = TrainConfig(
        model="svm", model_config={"features": "mfcc_stats"}, corpora=["synth"], **QUICK
    )
    result = train(config, tmp_path / "svm", manifest=corpus)
    assert (tmp_path / "svm" / "model.skops").is_file()
    assert (tmp_path / "svm" / "config.json").is_file()
    assert len(result.history) == 1 and result.metrics["test"]["n"] > 0


def test_all_folds_pool_out_of_fold_predictions(corpus: pd.DataFrame, tmp_path: Path) -> None:
    config = TrainConfig(
        model="mlp",
        model_config={"features": "mfcc_stats", "hidden": [16]},
        corpora=["synth"],
        protocol="kfold-speaker",
        split_options={"k": 4},
        epochs=3,
        **QUICK,
    )
    result = train_folds(config, tmp_path / "cv", manifest=corpus, n_boot=20)
    assert len(result.folds) == 4
    pooled = load_predictions(tmp_path / "cv" / "predictions.parquet")
    assert sorted(pooled["fold"].unique()) == [0, 1, 2, 3]
    assert len(pooled) == len(corpus) and pooled["path"].is_unique  # each row tested once
    for name in ("metrics.json", "report.md", "folds.csv", "fold_00/model.safetensors"):
        assert (tmp_path / "cv" / name).is_file(), name
    with pytest.raises(TrainConfigError, match="cross-validation protocol"):
        train_folds(config.replace(protocol="speaker-holdout"), tmp_path / "x", manifest=corpus)


def test_leave_one_corpus_out_scores_each_corpus_over_its_own_classes(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Three small synthetic corpora, one without an emotion: every fold tests a whole corpus,
    and a corpus is scored over the classes it has (chance 1/2, not 1/3)."""
    parts = []
    for name in ("alpha", "beta", "gamma"):
        root = write_synthetic_corpus(tmp_path_factory.mktemp(name), speakers=4, per_speaker=2)
        parts.append(synthetic_manifest(root, name=name))
    manifest = pd.concat(parts, ignore_index=True)
    labels = sorted(manifest["emotion"].unique())
    assert len(labels) == 3
    manifest = manifest[~((manifest["corpus"] == "gamma") & (manifest["emotion"] == labels[0]))]
    manifest = manifest.reset_index(drop=True)
    config = TrainConfig(
        model="mlp",
        model_config={"features": "mfcc_stats", "hidden": [16]},
        corpora=["alpha", "beta", "gamma"],
        protocol="loco",
        epochs=3,
        **QUICK,
    )
    result = train_folds(config, tmp_path / "loco", manifest=manifest, n_boot=20)
    folds = pd.read_csv(tmp_path / "loco" / "folds.csv")
    assert folds["test_groups"].tolist() == ["alpha", "beta", "gamma"]
    sizes = manifest["corpus"].value_counts()
    assert folds["n_test"].tolist() == [sizes["alpha"], sizes["beta"], sizes["gamma"]]
    assert folds["n_classes"].tolist() == [3, 3, 2]
    assert folds["chance"].tolist() == pytest.approx([1 / 3, 1 / 3, 0.5])
    pooled = load_predictions(tmp_path / "loco" / "predictions.parquet")
    gamma = pooled[pooled["fold"] == 2]
    assert labels[0] not in set(gamma["predicted"])  # the argmax never leaves gamma's classes
    for fold, frame in pooled.groupby("fold"):
        assert set(frame["corpus"]) == {folds["test_groups"][fold]}
        own = summary_metrics(frame["true"], frame["predicted"], sorted(set(frame["true"])))
        assert folds["test_ua"][fold] == pytest.approx(own["ua"])
    metrics = json.loads((tmp_path / "loco" / "metrics.json").read_text())
    assert metrics["loco"]["mean_ua"] == pytest.approx(folds["test_ua"].mean())
    assert set(metrics["loco"]["per_corpus"]) == {"alpha", "beta", "gamma"}
    assert len(result.folds) == 3


def test_corpus_class_balance_gives_every_corpus_and_class_the_same_weight() -> None:
    from ser_core.training import loop, store

    manifest = pd.DataFrame(
        {
            "corpus": ["big"] * 90 + ["small"] * 10,
            "emotion": ["sad"] * 60 + ["angry"] * 30 + ["sad"] * 5 + ["angry"] * 5,
        }
    )
    data = store._Data(config=TrainConfig(corpora=["big"]), manifest=manifest, notes=[], cache=None)  # type: ignore[arg-type]
    rows = np.arange(100)
    y = (manifest["emotion"] == "angry").to_numpy().astype(int)
    weights = loop._corpus_class_weights(data, rows, y)
    total = pd.Series(weights).groupby([manifest["corpus"], manifest["emotion"]]).sum()
    assert np.allclose(total.to_numpy(), total.iloc[0])  # four cells, equal weight
    assert np.mean(list(weights.values())) == pytest.approx(1.0)
    assert loop._corpus_mean_ua(
        np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), np.array(["a", "a", "b", "b"]), ["x", "y"]
    ) == pytest.approx(0.5)  # corpus a: 1.0, corpus b: 0.0 (pooled UA would be 0.5 as well)
    with pytest.raises(TrainConfigError, match="select_on"):
        TrainConfig(corpora=["emodb"], select_on="loss")


def test_training_with_corpus_class_balance_selects_on_the_corpus_mean(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    parts = []
    for name, speakers in (("alpha", 4), ("beta", 4)):
        root = write_synthetic_corpus(
            tmp_path_factory.mktemp(name), speakers=speakers, per_speaker=2
        )
        parts.append(synthetic_manifest(root, name=name))
    manifest = pd.concat(parts, ignore_index=True)
    config = TrainConfig(
        model="mlp",
        model_config={"features": "mfcc_stats", "hidden": [16]},
        corpora=["alpha", "beta"],
        protocol="per-corpus",
        balance="corpus_class",
        select_on="corpus_ua",
        epochs=3,
        **QUICK,
    )
    result = train(config, tmp_path / "balanced", manifest=manifest)
    assert "corpus_ua" in result.metrics["val"]
    saved = json.loads((tmp_path / "balanced" / "train_config.json").read_text())
    assert saved["balance"] == "corpus_class" and saved["select_on"] == "corpus_ua"


def test_settings_are_validated_and_round_trip(tmp_path: Path) -> None:
    with pytest.raises(TrainConfigError, match="optimizer"):
        TrainConfig(corpora=["emodb"], optimizer="rmsprop")
    with pytest.raises(TrainConfigError, match="protocol"):
        TrainConfig(corpora=["emodb"], protocol="leave-one-out")
    with pytest.raises(TrainConfigError, match="corpus"):
        TrainConfig()
    with pytest.raises(TrainConfigError, match="unknown training setting"):
        TrainConfig.from_dict({"corpora": ["emodb"], "learning_rate": 1})
    config = TrainConfig(corpora=["emodb"], protocol="kfold", labels="shared7")
    assert config.protocol == "kfold-speaker"
    assert config.split_kwargs() == {"seed": 0, "validation": True}
    assert "calm" not in config.label_list and "boredom" not in config.label_list
    assert TrainConfig.load(config.save(tmp_path / "c.json")) == config


def test_label_policy_and_quick_caps_drop_rows(corpus: pd.DataFrame, tmp_path: Path) -> None:
    config = cnn_config(epochs=1, labels=["angry", "sad"], max_files=2, evaluate_test=False)
    result = train(config, tmp_path / "two", manifest=corpus)
    assert result.labels == ["angry", "sad"]
    notes = json.loads((tmp_path / "two" / "config.json").read_text())["data"]["notes"]
    assert any("outside the label list" in n for n in notes)
    assert any("at most 2 file(s)" in n for n in notes)


def test_unknown_model_and_bad_split_options_are_clear(
    corpus: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(TrainConfigError, match="Unknown model"):
        train(cnn_config(model="resnet5"), tmp_path / "x", manifest=corpus)
    with pytest.raises(TrainConfigError, match="split"):
        train(cnn_config(split_options={"k": 3}), tmp_path / "y", manifest=corpus)


def test_optimizer_defaults_come_from_the_model_unless_set() -> None:
    """cnn1d_lstm follows its paper (SGD + momentum); others default to Adam; the user wins."""
    import torch

    from ser_core.models import create_model
    from ser_core.training import TrainConfig
    from ser_core.training._optim import effective_optimizer, make_optimizer

    waveform_model = create_model("cnn1d_lstm", 3)
    mel_model = create_model("cnn", 3)
    auto = TrainConfig(model="cnn1d_lstm", corpora=["x"])
    assert effective_optimizer(waveform_model, auto) == {
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
    }
    assert isinstance(make_optimizer(waveform_model, auto), torch.optim.SGD)
    assert isinstance(make_optimizer(mel_model, auto), torch.optim.Adam)
    assert effective_optimizer(mel_model, auto)["lr"] == 1e-3
    forced = TrainConfig(model="cnn1d_lstm", corpora=["x"], optimizer="adam", lr=5e-4)
    optimizer = make_optimizer(waveform_model, forced)
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.param_groups[0]["lr"] == 5e-4


def test_early_stopping_keeps_the_best_epoch(corpus: pd.DataFrame, tmp_path: Path) -> None:
    """With a learning rate far below float32 resolution the weights never change, so nothing
    improves after epoch 1: training stops ``patience`` epochs later and keeps epoch 1."""
    frozen = train(
        cnn_config(
            model="mlp",
            model_config={"standardise": False, "hidden": [16]},
            feature_config={},
            lr=1e-30,
            epochs=20,
            patience=2,
            evaluate_test=False,
        ),
        tmp_path / "frozen",
        manifest=corpus,
    )
    assert frozen.best_epoch == 1
    assert len(frozen.history) == 3  # epochs 2 and 3 did not improve: stop
    # A run that learns: the kept epoch is the best by validation UA, and stopping (if any)
    # came exactly ``patience`` epochs after it.
    result = train(cnn_config(epochs=12, patience=3), tmp_path / "learns", manifest=corpus)
    history = result.history.set_index("epoch")
    assert history["val_ua"].max() == pytest.approx(history.loc[result.best_epoch, "val_ua"])
    if len(history) < 12:
        assert len(history) - result.best_epoch == 3
    assert result.metrics["val"]["ua"] == pytest.approx(history.loc[result.best_epoch, "val_ua"])


def test_speaker_adaptation_trains_labels_and_needs_an_enrolment(
    corpus: pd.DataFrame, tmp_path: Path
) -> None:
    """--speaker-adapt: features normalised per speaker (leave-one-out) in training and test;
    the checkpoint says speaker-adapted; its predictor refuses to guess without an enrolment
    and, once enrolled, predicts with that speaker's statistics."""
    config = TrainConfig(
        model="whisper_tiny",
        model_config={"layer_pooling": "per_layer", "hidden": [], "dropout": 0.1},
        corpora=["synth"],
        epochs=3,
        speaker_adapt=True,
        **QUICK,
    )
    result = train(config, tmp_path / "adapted", manifest=corpus)
    saved = json.loads((tmp_path / "adapted" / "config.json").read_text())
    assert saved["config"]["speaker_adapted"] is True
    assert any("speaker-adapted" in note for note in saved["data"]["notes"])
    assert "speaker-adapted" in (tmp_path / "adapted" / "README.md").read_text()
    assert result.metrics["test"]["n"] > 0
    predictor = load_predictor(tmp_path / "adapted")
    assert predictor.speaker_adapted
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 2) / 16000
    voice = (0.2 * np.sin(2 * np.pi * 150 * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32)
    with pytest.raises(SERError, match="enrol the speaker first"):
        predictor.predict_signal(voice, 16000)
    with pytest.raises(SERError, match="at least 3 s"):
        predictor.enrolment([voice[:8000]], 16000)
    enrolment = predictor.enrolment([voice, voice[::-1].copy()], 16000)
    adapted = predictor.adapted_to(enrolment)
    assert adapted.model is predictor.model and predictor.speaker is None  # shared model
    result_a = adapted.predict_signal(voice, 16000)
    assert sum(result_a.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    explanation = adapted.explain(voice, 16000)
    assert explanation.map.size > 0
    # a plain model refuses an enrolment: it would change nothing
    plain = train(
        TrainConfig(
            model="whisper_tiny", model_config={"hidden": []}, corpora=["synth"], epochs=1, **QUICK
        ),
        tmp_path / "plain",
        manifest=corpus,
    )
    assert plain.metrics["test"]["n"] > 0
    with pytest.raises(SERError, match="not trained with speaker adaptation"):
        load_predictor(tmp_path / "plain").enrolment([voice, voice], 16000)
    with pytest.raises(TrainConfigError, match="pretrained-encoder heads"):
        train(cnn_config(speaker_adapt=True, epochs=1), tmp_path / "cnn", manifest=corpus)


TINY_PROBE: dict[str, Any] = {
    "model": "whisper_tiny",
    "model_config": {"layer_pooling": "per_layer", "hidden": [], "dropout": 0.1},
    "corpora": ["synth"],
    "epochs": 3,
    **QUICK,
}


def test_channel_copies_are_training_rows_of_their_own(
    corpus: pd.DataFrame, tmp_path: Path
) -> None:
    """--channel-copies adds cached room/noise/codec copies of training clips only, after the
    speed copies; settings that cannot go with it are refused."""
    config = TrainConfig(**TINY_PROBE, speed_perturb=[1.1], channel_copies=1)
    train(config, tmp_path / "channel", manifest=corpus)
    saved = json.loads((tmp_path / "channel" / "config.json").read_text())
    n_train = saved["data"]["n_train"]
    notes = " ".join(saved["data"]["notes"])
    assert (
        f"{n_train} clips plus {2 * n_train} copies (speed ×1.1; 1 channel cop(ies): room, "
        "noise, codec, gain)" in notes
    )
    assert saved["training"]["channel_copies"] == 1
    with pytest.raises(TrainConfigError, match="channel_copies"):
        TrainConfig(**TINY_PROBE, channel_copies=1, augment=True)
    with pytest.raises(TrainConfigError, match="channel_copies"):
        TrainConfig(**TINY_PROBE, channel_copies=1, speaker_adapt=True)
    with pytest.raises(TrainConfigError, match="channel_copies"):
        TrainConfig(**TINY_PROBE, channel_copies=-1)


def test_speed_perturbed_copies_and_refit(corpus: pd.DataFrame, tmp_path: Path) -> None:
    """--speed-perturb adds one cached copy per training clip and factor (never of validation
    or test clips); --refit retrains on training + validation for the best epoch count."""
    config = TrainConfig(**TINY_PROBE, speed_perturb=[0.9, 1.1], refit=True)
    result = train(config, tmp_path / "speed", manifest=corpus)
    saved = json.loads((tmp_path / "speed" / "config.json").read_text())
    notes = " ".join(saved["data"]["notes"])
    n_train = saved["data"]["n_train"]
    assert f"{n_train} clips plus {2 * n_train} copies (speed ×0.9, ×1.1)" in notes
    assert f"refit: retrained from scratch on the training and validation speakers for " \
        f"{result.best_epoch} epochs" in notes  # fmt: skip
    assert saved["training"]["speed_perturb"] == [0.9, 1.1] and saved["training"]["refit"]
    assert result.metrics["test"]["n"] == len(result.predictions) > 0
    # the refit model is the one saved: its predictions are the checkpoint's
    predictor = load_predictor(tmp_path / "speed")
    clip = result.predictions.iloc[0]
    probs = predictor.predict_file(clip["path"]).probabilities
    for label, p in probs.items():
        assert p == pytest.approx(clip[f"prob_{label}"], abs=1e-4)
    for bad in ([1.0], [0.9, 0.9], [2.5]):
        with pytest.raises(TrainConfigError, match="speed_perturb"):
            TrainConfig(**{**TINY_PROBE, "speed_perturb": bad})
    with pytest.raises(TrainConfigError, match="speed_perturb"):
        TrainConfig(**TINY_PROBE, speed_perturb=[1.1], speaker_adapt=True)
    with pytest.raises(TrainConfigError, match="speed_perturb"):
        TrainConfig(**TINY_PROBE, speed_perturb=[1.1], augment=True)


def test_fixed_summary_training_equals_training_on_full_states(
    corpus: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-layer head trains on its layer statistics computed once per clip; the result is
    the one of training on the full encoder states every epoch."""
    from ser_core.models.pretrained import PretrainedSER

    config = TrainConfig(**{**TINY_PROBE, "epochs": 4})
    fast = train(config, tmp_path / "fast", manifest=corpus)
    monkeypatch.setattr(PretrainedSER, "has_fixed_summary", property(lambda self: False))
    slow = train(config, tmp_path / "slow", manifest=corpus)
    columns = [c for c in fast.predictions.columns if c.startswith("prob_")]
    np.testing.assert_allclose(
        fast.predictions[columns].to_numpy(), slow.predictions[columns].to_numpy(), atol=1e-4
    )
    np.testing.assert_allclose(fast.history["train_loss"], slow.history["train_loss"], rtol=1e-4)


def test_the_card_lists_every_hyperparameter_of_the_config() -> None:
    """A new TrainConfig field shows up in the model card's hyperparameter table by itself:
    every field is either a hyperparameter or a setting of what and where the run trains."""
    import dataclasses

    from ser_core.training.config import RUN_FIELDS

    config = TrainConfig(model="mlp", corpora=["emodb"], channel_copies=1, select_on="corpus_ua")
    table = config.hyperparameters()
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(table) == names - RUN_FIELDS
    assert names >= RUN_FIELDS  # no stale name in the run list
    assert table["channel_copies"] == 1 and table["select_on"] == "corpus_ua"
