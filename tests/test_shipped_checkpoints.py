"""The checkpoints committed in ``checkpoints/``: complete, offline, honest, reproducible."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ser_core.evaluation.benchmark import benchmark_rows, find_sources, write_report
from ser_core.inference import load_predictor
from ser_core.scoring.predictions import load_predictions

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPO / "checkpoints"
SHIPPED = sorted(p.name for p in CHECKPOINTS.iterdir() if (p / "config.json").is_file())
REQUIRED = ("config.json", "README.md", "predictions.parquet", "train_config.json")


def synthetic_voice(seconds: float = 3.0, f0: float = 140.0, sr: int = 16_000) -> np.ndarray:
    """A vowel-like harmonic tone with a pitch glide and syllable-rate amplitude."""
    t = np.arange(int(seconds * sr)) / sr
    pitch = f0 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) ** 2
    return (0.1 * voice * envelope).astype(np.float32)


def test_something_is_shipped() -> None:
    assert SHIPPED, "no trained checkpoint in checkpoints/"
    names = set(SHIPPED)
    for corpus in ("emodb", "ravdess", "tess"):
        assert f"whisper_base-{corpus}" in names


@pytest.mark.parametrize("name", SHIPPED)
def test_folder_is_complete_and_never_pickled(name: str) -> None:
    folder = CHECKPOINTS / name
    files = {p.name for p in folder.iterdir()}
    assert set(REQUIRED) <= files
    assert {"model.safetensors", "model.skops"} & files
    assert not {f for f in files if f.endswith((".pt", ".pth", ".pkl", ".bin", ".ckpt"))}
    card = (folder / "README.md").read_text(encoding="utf-8")
    for needed in ("Licences", "non-commercial", "## Known failure modes", "CI (utterances)"):
        assert needed in card, f"{name}: the model card lacks {needed!r}"
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["training_seconds"] > 0
    predictions = load_predictions(folder / "predictions.parquet")
    assert len(predictions) == config["data"]["n_test"]
    assert not predictions["path"].astype(str).str.startswith("/").any()  # no machine paths
    # the test speakers (or, for TESS, words) were never trained on
    heard = set(config["data"]["train_speakers"]) | set(config["data"]["val_speakers"])
    for corpus, rows in predictions.groupby("corpus"):
        if corpus != "tess":
            assert not set(rows["speaker"]) & heard, f"{name}: {corpus} test speaker in training"


def test_repository_stays_light() -> None:
    size = sum(p.stat().st_size for p in CHECKPOINTS.rglob("*") if p.is_file())
    assert size < 150 * 2**20, f"checkpoints/ is {size / 2**20:.0f} MB"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("name", SHIPPED)
def test_loads_offline_and_predicts(name: str, offline: None) -> None:
    predictor = load_predictor(CHECKPOINTS / name)
    if predictor.speaker_adapted:  # enrol a (synthetic) voice first, as the app asks users to
        enrolment = predictor.enrolment(
            [synthetic_voice(2.0, 120.0), synthetic_voice(2.0, 160.0)], 16_000
        )
        predictor = predictor.adapted_to(enrolment)
    result = predictor.predict_signal(synthetic_voice(), 16_000)
    assert result.label in predictor.labels
    probabilities = np.asarray(list(result.probabilities.values()))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert np.all(probabilities >= 0)


def test_report_is_current_and_matches_the_model_cards() -> None:
    """`ser report --check` on the committed files: docs/benchmark.md and the README are what
    the predictions say; every checkpoint's row equals the test metrics of its config."""
    stale = write_report(
        checkpoints=CHECKPOINTS,
        results=REPO / "benchmarks" / "results",
        out=REPO / "docs" / "benchmark.md",
        readme=REPO / "README.md",
        check=True,
    )
    assert stale == [], f"out of date: {stale}; run `ser report`"
    rows = benchmark_rows(find_sources(CHECKPOINTS, None), n_boot=0)
    for name, group in rows.groupby("name"):
        config = json.loads((CHECKPOINTS / name / "config.json").read_text(encoding="utf-8"))
        if len(group) == 1:  # single-corpus: the row is the card's test line
            test = config["metrics"]["test"]
            assert group["ua"].iloc[0] == pytest.approx(100 * test["ua"], abs=0.05)
            assert group["wa"].iloc[0] == pytest.approx(100 * test["wa"], abs=0.05)
            card = (CHECKPOINTS / name / "README.md").read_text(encoding="utf-8")
            assert f"{100 * test['ua']:.1f} %" in card


def test_retraining_the_svm_reproduces_its_numbers(corpora_dir: Path, tmp_path: Path) -> None:
    """A CI-sized retraining: `svm-emodb` from its own train_config.json gives the committed
    test metrics (the SVM is deterministic; eGeMAPS features are recomputed)."""
    folder = CHECKPOINTS / "svm-emodb"
    if not folder.is_dir():
        pytest.skip("svm-emodb is not shipped")
    out = tmp_path / "svm-emodb"
    command = [
        sys.executable, "-m", "ser_core", "train", "--config", str(folder / "train_config.json"),
        "--data-root", str(corpora_dir), "--out", str(out), "--no-progress",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=1200)
    committed = json.loads((folder / "config.json").read_text())["metrics"]["test"]
    again = json.loads((out / "config.json").read_text())["metrics"]["test"]
    for metric in ("ua", "wa", "weighted_f1"):
        assert again[metric] == pytest.approx(committed[metric], abs=0.01), metric
    shutil.rmtree(out)


def test_retraining_a_shipped_image_cnn_at_ci_size_is_deterministic(
    corpora_dir: Path, tmp_path: Path
) -> None:
    """A CI-sized retraining of a new small model: `resnet50-emodb`'s own train_config.json
    (trained from scratch: a fine-tuned one needs its git-ignored pretraining folder) with
    two epochs on three files per speaker and emotion. It builds the shipped architecture
    and features (same model and feature configs), and two runs give identical weights (the
    recipe is seeded end to end, speed copies and SpecAugment included)."""
    from safetensors.torch import load_file

    folder = CHECKPOINTS / "resnet50-emodb"
    if not folder.is_dir():
        pytest.skip("resnet50-emodb is not shipped")
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        config = str(folder / "train_config.json")
        command = [
            sys.executable, "-m", "ser_core", "train", "--config", config,
            "--data-root", str(corpora_dir), "--out", str(out), "--no-progress",
            "--epochs", "2", "--max-files", "3", "--num-threads", "1",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=1200)
        runs.append(out)
    shipped = json.loads((folder / "config.json").read_text())
    again = json.loads((runs[0] / "config.json").read_text())
    for key in ("name", "config", "feature_config", "labels"):
        assert again[key] == shipped[key], key
    assert len(pd.read_csv(runs[0] / "train_log.csv")) == 2
    first, second = (load_file(str(run / "model.safetensors")) for run in runs)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_whisper_head_on_onnx_runtime_reproduces_its_committed_predictions(
    corpora_dir: Path,
) -> None:
    """The app runs the Whisper encoder on ONNX Runtime; the committed test predictions were
    made with the torch encoder: same labels, probabilities within 1e-3, on every test clip."""
    from ser_core.encoders import OnnxWhisperEncoder

    name = "whisper_base-emodb"
    if not (CHECKPOINTS / name).is_dir():
        pytest.skip(f"{name} is not shipped")
    committed = load_predictions(CHECKPOINTS / name / "predictions.parquet")
    predictor = load_predictor(name)
    assert isinstance(predictor.model.get_encoder(), OnnxWhisperEncoder)
    now = predictor.predict_files([str(corpora_dir / path) for path in committed["path"]])
    assert now["label"].tolist() == committed["predicted"].tolist()
    probabilities = committed[[f"prob_{label}" for label in predictor.labels]].to_numpy()
    assert np.abs(now[predictor.labels].to_numpy() - probabilities).max() < 1e-3


def test_exported_whisper_head_reproduces_its_committed_predictions(corpora_dir: Path) -> None:
    """The torch-free exported pipeline (scoring without torch from Python): same labels and
    probabilities within 1e-3 of the committed torch predictions, on every test clip."""
    from ser_core.audio import read_audio
    from ser_core.inference.exported import ExportedPredictor, export_head

    name = "whisper_base-emodb"
    if not (CHECKPOINTS / name).is_dir():
        pytest.skip(f"{name} is not shipped")
    committed = load_predictions(CHECKPOINTS / name / "predictions.parquet")
    export_head(load_predictor(name))
    exported = ExportedPredictor.from_checkpoint(name)
    worst = 0.0
    for path, label, *probabilities in committed[
        ["path", "predicted", *[f"prob_{c}" for c in exported.labels]]
    ].itertuples(index=False):
        clip = read_audio(corpora_dir / path)
        prediction = exported.predict_signal(clip.signal, clip.sample_rate)
        assert prediction.label == label, path
        got = [prediction.probabilities[c] for c in exported.labels]
        worst = max(worst, float(np.abs(np.subtract(got, probabilities)).max()))
    assert worst < 1e-3


@pytest.mark.parametrize("name", SHIPPED)
def test_weights_reproduce_a_sample_of_their_committed_predictions(
    name: str, corpora_dir: Path
) -> None:
    """Shipped numbers are tied to shipped weights: four committed test clips of every
    checkpoint (two per corpus, the same every run) give the same label and probabilities
    within 2e-3. A speaker-adapted model is enrolled as in its evaluation: with the test
    speaker's other clips (leave-one-out statistics)."""
    committed = load_predictions(CHECKPOINTS / name / "predictions.parquet")
    sample = committed.sort_values("path").groupby("corpus", sort=True).head(2).head(4)
    predictor = load_predictor(CHECKPOINTS / name)
    columns = [f"prob_{label}" for label in predictor.labels]
    for _, row in sample.iterrows():
        used = predictor
        if predictor.speaker_adapted:
            mine = committed[committed["speaker"] == row["speaker"]]["path"]
            others = [str(corpora_dir / p) for p in mine if p != row["path"]]
            used = predictor.adapted_to(predictor.enrolment(others))
        result = used.predict_file(str(corpora_dir / row["path"]))
        assert result.label == row["predicted"], (name, row["path"])
        got = np.array([result.probabilities[label] for label in predictor.labels])
        expected = row[columns].to_numpy(dtype=float)
        assert np.abs(got - expected).max() < 2e-3, (name, row["path"], got, expected)
