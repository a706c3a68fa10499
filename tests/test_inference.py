"""``Predictor`` / ``load_predictor``: identical logits after save → load, the API's shapes, long
audio, explanations, named checkpoints and clear errors for bad checkpoints and bad audio."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from ser_core import load_predictor
from ser_core.errors import AudioInputError, CheckpointError
from ser_core.evaluation.runner import evaluate, write_evaluation
from ser_core.inference import Explanation, Prediction, Predictor
from ser_core.inference.results import SEGMENT_LEVELS, segment_file, segment_index
from ser_core.training import TrainConfig, TrainResult, train
from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus

SR = 16000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = write_synthetic_corpus(tmp_path_factory.mktemp("synth"), speakers=4, per_speaker=3)
    return synthetic_manifest(root)


@pytest.fixture(scope="module")
def trained(corpus: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    config = TrainConfig(
        model="cnn_bilstm_attn",
        model_config={
            "channels": [8, 8, 16, 16],
            "lstm_hidden": 8,
            "attention_dim": 8,
            "fc_hidden": 8,
        },
        feature_config={"n_mels": 32},
        corpora=["synth"],
        epochs=4,
        lr=3e-3,
        batch_size=8,
        progress=False,
        num_threads=1,
    )
    return train(config, tmp_path_factory.mktemp("ckpt") / "cnn_bilstm_attn", manifest=corpus)


@pytest.fixture(scope="module")
def predictor(trained: TrainResult) -> Predictor:
    return load_predictor(trained.checkpoint)


def tone(seconds: float, freq: float = 880.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def assert_segment_table(frame: pd.DataFrame, labels: list[str]) -> bool:
    """The shape every prediction table shares (ser_core.inference.results)."""
    assert isinstance(frame.index, pd.MultiIndex)
    assert list(frame.index.names) == list(SEGMENT_LEVELS) == ["file", "start", "end"]
    assert [str(t) for t in frame.index.dtypes] == ["string", "float64", "float64"]
    assert list(frame.columns) == [*labels, "label"]
    assert all(frame[label].dtype == np.float64 for label in labels)
    return True


def test_segment_index_helpers() -> None:
    index = segment_index(["a.wav", "b.wav"], [0, 0.5], np.array([1.5, 2.0]))
    assert list(index.names) == ["file", "start", "end"]
    assert index.tolist() == [("a.wav", 0.0, 1.5), ("b.wav", 0.5, 2.0)]
    assert segment_index("x", [0.0, 1.0], [2.0, 3.0]).get_level_values("file").tolist() == [
        "x",
        "x",
    ]
    assert len(segment_index([], [], [])) == 0
    with pytest.raises(ValueError, match="2 files, 1 starts"):
        segment_index(["a", "b"], [0.0], [1.0])
    assert segment_file("<array>") == "" and segment_file("<bytes>") == ""
    assert segment_file("clip.wav") == "clip.wav"


def test_save_then_load_gives_identical_logits(
    trained: TrainResult, predictor: Predictor, corpus: pd.DataFrame
) -> None:
    pipe = predictor.pipeline
    items = [pipe.featurize(tone(0.7, 300.0)), pipe.featurize(tone(1.3, 2600.0))]
    x, lengths = pipe.collate(items)
    trained.model.eval()
    with torch.inference_mode():
        before = trained.model(x, lengths)
        after = predictor.model(x, lengths)
    assert torch.equal(before, after)
    assert predictor.labels == trained.labels
    assert predictor.model_name == "cnn_bilstm_attn"
    assert not predictor.model.training


def test_predict_signal_file_and_files(predictor: Predictor, corpus: pd.DataFrame) -> None:
    paths = corpus["path"].tolist()[:5]
    prediction = predictor.predict_file(paths[0])
    assert isinstance(prediction, Prediction)
    assert list(prediction.probabilities) == predictor.labels
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    assert prediction.label == max(prediction.probabilities, key=prediction.probabilities.get)
    assert prediction.latency > 0 and prediction.windows == 1
    signal, rate = sf.read(paths[0], dtype="float32")
    same = predictor.predict_signal(signal, rate)
    assert same.probabilities == pytest.approx(prediction.probabilities, abs=1e-5)
    # Another rate is resampled by read_audio, not refused.
    assert predictor.predict_signal(signal[::2].copy(), rate // 2).label in predictor.labels

    frame = predictor.predict_files(paths)
    assert_segment_table(frame, predictor.labels)
    # One row per file, over the whole file.
    assert frame.index.get_level_values("file").tolist() == paths
    assert (frame.index.get_level_values("start") == 0.0).all()
    durations = [sf.info(p).frames / sf.info(p).samplerate for p in paths]
    assert frame.index.get_level_values("end").to_numpy() == pytest.approx(durations)
    assert np.allclose(frame[predictor.labels].sum(axis=1), 1.0)
    cached = predictor.predict_files(paths, cache=True)
    assert cached.index.equals(frame.index)
    assert np.allclose(cached[predictor.labels], frame[predictor.labels], atol=1e-5)
    assert frame.loc[paths[0], "label"].item() == prediction.label
    assert frame.xs(paths[0], level="file")["label"].item() == prediction.label
    empty = predictor.predict_files([])
    assert_segment_table(empty, predictor.labels) and empty.empty


def test_long_audio_goes_through_windows(predictor: Predictor) -> None:
    long = np.concatenate([tone(3.0, 300.0), tone(3.0, 2600.0), tone(2.5, 880.0)])
    calls: list[tuple[int, int]] = []
    frame = predictor.predict_windows(
        long, SR, 2.0, 1.0, progress=lambda done, total: calls.append((done, total))
    )
    assert_segment_table(frame, predictor.labels)
    assert len(frame) == 8 and (frame.index.get_level_values("file") == "").all()
    starts = frame.index.get_level_values("start").to_numpy()
    ends = frame.index.get_level_values("end").to_numpy()
    assert starts.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert ends[:-1].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert ends[-1] == pytest.approx(8.5)  # the last window ends with the audio
    assert calls[-1] == (8, 8)
    named = predictor.predict_windows(long, SR, 2.0, 1.0, file="call.wav")
    assert (named.index.get_level_values("file") == "call.wav").all()
    assert np.allclose(named[predictor.labels], frame[predictor.labels])
    short_threshold = Predictor(
        predictor.model, predictor.feature_config, long_audio_seconds=5.0, window_seconds=2.0
    )
    prediction = short_threshold.predict_signal(long, SR)
    assert prediction.windows == 8 and prediction.duration == pytest.approx(8.5)


def test_explanations_are_aligned_with_time(predictor: Predictor) -> None:
    explanation = predictor.explain(tone(1.5, 880.0), SR)
    assert isinstance(explanation, Explanation)
    assert explanation.kind == "time"  # attention over frames
    assert explanation.method == "attention"
    assert explanation.map.ndim == 1 and explanation.times is not None
    assert explanation.times.shape == explanation.map.shape
    assert explanation.times[0] == 0.0 and explanation.times[-1] <= 1.5
    assert explanation.map.max() == pytest.approx(1.0) and explanation.map.min() >= 0
    assert explanation.label == explanation.prediction.label
    other = predictor.explain(tone(1.5, 880.0), SR, target=predictor.labels[0])
    assert other.label == predictor.labels[0]


def test_bad_audio_raises_audio_input_error(predictor: Predictor, tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(AudioInputError, match="not audio"):
        predictor.predict_file(text)
    with pytest.raises(AudioInputError, match="no such file"):
        predictor.predict_file(tmp_path / "missing.wav")
    with pytest.raises(AudioInputError, match="silent"):
        predictor.predict_signal(np.zeros(SR, dtype=np.float32), SR)


def test_named_checkpoints_and_the_default(
    trained: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SER_CHECKPOINTS", str(tmp_path))
    with pytest.raises(CheckpointError, match="available: none yet"):
        load_predictor()
    shutil.copytree(trained.checkpoint, tmp_path / "mine")
    assert load_predictor("mine").name == "mine"
    with pytest.raises(CheckpointError, match="available: mine"):
        load_predictor("default")


def _broken_copy(trained: TrainResult, tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(trained.checkpoint, folder)
    return folder


def test_invalid_checkpoints_raise_checkpoint_errors(trained: TrainResult, tmp_path: Path) -> None:
    folder = _broken_copy(trained, tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no weights file"):
        load_predictor(folder)
    shutil.rmtree(folder)

    folder = _broken_copy(trained, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["labels"] = config["labels"][:-1]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="labels for num_classes"):
        load_predictor(folder)
    shutil.rmtree(folder)

    folder = _broken_copy(trained, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["config"]["lstm_hidden"] = 12  # tensors no longer fit
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError):
        load_predictor(folder)
    shutil.rmtree(folder)

    folder = _broken_copy(trained, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["feature_config"]["n_mels"] = 64  # features the model was not built for
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not match the model"):
        load_predictor(folder)
    shutil.rmtree(folder)

    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"no config\.json"):
        load_predictor(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_predictor(tmp_path / "nowhere")


def test_evaluate_reproduces_the_recorded_test_set(
    trained: TrainResult, predictor: Predictor, corpus: pd.DataFrame, tmp_path: Path
) -> None:
    predictions, report = evaluate(predictor, corpus, n_boot=50)
    assert sorted(predictions["path"]) == sorted(trained.predictions["path"])
    assert report.metrics["ua"] == pytest.approx(trained.metrics["test"]["ua"])
    assert set(predictions["speaker"]) == set(trained.split.test_groups)
    paths = write_evaluation(predictions, report, tmp_path / "eval")
    assert all(p.is_file() for p in paths.values())
    # A fresh split of other data: every row of an unseen corpus is test data.
    other = corpus.assign(corpus="other", speaker=corpus["speaker"].str.replace("synth", "other"))
    predictions, report = evaluate(predictor, other, n_boot=0)
    assert len(predictions) == len(other)
    assert any("cross-corpus" in n for n in report.settings["notes"])
