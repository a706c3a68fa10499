"""``Predictor.analyse``: one click, one pass (issue 22).

One call decodes and validates the audio once, featurises it once and runs the model once (a
Whisper head: one encoder run, the explanation's, whose probabilities give the label), windows a
long clip once, and returns the display spectrogram; ``explain`` rides on it. Spies count the
work, so these fail on the old ``predict_signal`` + ``explain`` pair (three encoder runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ser_core.app_support.samples import synthetic_vowel, to_wav_bytes
from ser_core.audio import read_audio
from ser_core.inference import Analysis, Predictor
from ser_core.inference import predictor as predictor_module

SR = 16000


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    return synthetic_vowel(seconds, 150.0, 120.0, seed=seed).astype(np.float32)


def _counter(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str
) -> Callable[[], int]:  # -> calls so far
    calls = [0]
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return lambda: calls[0]


def _encoder_runs(monkeypatch: pytest.MonkeyPatch, predictor: Predictor) -> Callable[[], int]:
    """Counts runs of the head's encoder: ONNX graph runs, or torch forward passes."""
    encoder = predictor.model.get_encoder()
    graphs = getattr(encoder, "graphs", None)
    if graphs is not None:  # ONNX Runtime: every encode (with or without attentions) runs here
        return _counter(monkeypatch, graphs, "run")
    return _counter(monkeypatch, type(encoder), "forward")


def _same_label(a: dict[str, float], b: dict[str, float]) -> bool:
    """The argmax agrees (a near-tie of an untrained head may flip on float noise)."""
    top = sorted(a.values())
    return max(a, key=a.__getitem__) == max(b, key=b.__getitem__) or top[-1] - top[-2] < 1e-3


@pytest.fixture(scope="module")
def whisper() -> Predictor:
    """An untrained whisper_tiny head (frozen encoder states, explained through explain_signal)."""
    from ser_core.models import create_model

    model = create_model("whisper_tiny", 3, layer_pooling="per_layer")
    model.labels = ["calm", "loud", "sad"]
    return Predictor(model)


@pytest.fixture(scope="module")
def cnn() -> Predictor:
    """An untrained log-mel CNN (explained through its own explain on the featurised input)."""
    from ser_core.models import create_model

    model = create_model("cnn", 3)
    model.labels = ["calm", "loud", "sad"]
    return Predictor(model)


# ----------------------------------------------------------------------------- one pass
def test_whisper_analyse_runs_the_encoder_once(
    whisper: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    wav = to_wav_bytes(_speech(3.0))
    whisper.analyse(wav)  # warm-up: lazy ONNX sessions
    runs = _encoder_runs(monkeypatch, whisper)
    featurised = _counter(monkeypatch, whisper.pipeline, "featurize")
    decoded = _counter(monkeypatch, predictor_module, "read_audio")
    analysis = whisper.analyse(wav)
    assert isinstance(analysis, Analysis)
    assert runs() == 1, "one encoder pass gives the label and its explanation"
    assert featurised() == 0  # explain_signal's own encoder run is the featurisation
    assert decoded() == 1
    explanation = analysis.explanation
    assert explanation is not None and explanation.kind == "time"
    assert explanation.label == analysis.prediction.label
    assert explanation.prediction is analysis.prediction
    assert analysis.windows is None
    spectrogram = analysis.spectrogram
    assert spectrogram is not None and spectrogram.values.ndim == 2
    assert spectrogram.times.shape == (spectrogram.values.shape[1],)
    assert spectrogram.times[-1] == pytest.approx(3.0, abs=0.05)


def test_whisper_analyse_label_is_predicts_label(whisper: Predictor) -> None:
    for seed in range(3):
        signal = _speech(2.5, seed)
        analysis = whisper.analyse(signal, SR)
        predicted = whisper.predict_signal(signal, SR)
        probabilities = analysis.prediction.probabilities
        assert list(probabilities) == whisper.labels
        for label in whisper.labels:
            assert probabilities[label] == pytest.approx(predicted.probabilities[label], abs=1e-4)
        assert _same_label(probabilities, predicted.probabilities)
        assert analysis.prediction.label == max(probabilities, key=probabilities.__getitem__)


def test_explain_is_one_pass_and_carries_its_prediction(
    whisper: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    signal = _speech(2.0)
    whisper.explain(signal, SR)
    runs = _encoder_runs(monkeypatch, whisper)
    explanation = whisper.explain(signal, SR)
    assert runs() == 1  # it used to predict first: two passes
    assert explanation.prediction is not None
    assert explanation.label == explanation.prediction.label
    other = whisper.explain(signal, SR, target=whisper.labels[0])
    assert other.label == whisper.labels[0]
    with pytest.raises(ValueError, match="unknown label"):
        whisper.analyse(signal, SR, target="nope")


def test_cnn_analyse_featurises_once(cnn: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    signal = _speech(2.0)
    predicted = cnn.predict_signal(signal, SR)
    featurised = _counter(monkeypatch, cnn.pipeline, "featurize")
    decoded = _counter(monkeypatch, predictor_module, "read_audio")
    analysis = cnn.analyse(signal, SR)
    assert featurised() == 1 and decoded() == 1
    assert analysis.prediction.label == predicted.label
    for label in cnn.labels:
        assert analysis.prediction.probabilities[label] == pytest.approx(
            predicted.probabilities[label], abs=1e-5
        )
    assert analysis.explanation is not None
    assert analysis.explanation.label == predicted.label
    assert analysis.explanation.kind in ("time", "time-frequency")


def test_a_decoded_clip_is_not_validated_again(
    cnn: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = read_audio(_speech(2.0), SR)  # what the app decoded when the clip was chosen
    decoded = _counter(monkeypatch, predictor_module, "read_audio")
    analysis = cnn.analyse(clip, explain=False, spectrogram=False)
    assert decoded() == 0
    assert analysis.clip is clip
    assert analysis.explanation is None and analysis.spectrogram is None
    resampled = cnn.analyse(read_audio(_speech(2.0), SR, target_rate=8000), explain=False)
    assert resampled.clip.sample_rate == SR and resampled.clip.duration == pytest.approx(2.0)
    with pytest.raises(TypeError):
        cnn.analyse(to_wav_bytes(_speech(1.0)), SR)


# ----------------------------------------------------------------------------- long clips
def test_a_long_clip_is_windowed_once_with_one_window_length(
    cnn: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_limit = Predictor(cnn.model, cnn.feature_config, long_audio_seconds=5.0)
    signal = _speech(9.0)
    cut = _counter(monkeypatch, short_limit.pipeline, "windows")
    analysis = short_limit.analyse(signal, SR, windows=True)
    assert cut() == 1  # the timeline and the long clip's label share one windowing
    table = analysis.windows
    assert table is not None and analysis.prediction.windows == len(table)
    assert list(table.index.names) == ["file", "start", "end"]
    assert list(table.columns) == [*cnn.labels, "label"]
    assert (table.index.get_level_values("file") == "").all()  # an array has no name
    starts = table.index.get_level_values("start").to_numpy()
    ends = table.index.get_level_values("end").to_numpy()
    assert starts[0] == 0.0 and ends[-1] == pytest.approx(9.0)
    assert (ends - starts).max() == pytest.approx(short_limit.window_seconds)
    assert table.index.equals(short_limit.predict_windows(signal, SR).index)
    expected = short_limit.predict_signal(signal, SR)
    assert analysis.prediction.label == expected.label
    for label in cnn.labels:
        assert analysis.prediction.probabilities[label] == pytest.approx(
            expected.probabilities[label], abs=1e-6
        )
    assert analysis.explanation is not None
    assert analysis.explanation.label == analysis.prediction.label
    # Shorter than long_audio_seconds: one whole-clip pass, a table only when asked for.
    assert cnn.analyse(signal, SR, explain=False).windows is None
    timeline = cnn.analyse(signal, SR, windows=True, explain=False).windows
    assert timeline is not None and len(timeline) == len(table)


# ----------------------------------------------------------------------------- label first
@pytest.mark.parametrize("name", ["whisper", "cnn"])
def test_the_label_is_handed_over_before_the_explanation_from_the_same_pass(
    name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``on_prediction`` receives the prediction once, before any explanation work starts, and
    it is the prediction the analysis returns; the encoder still runs once."""
    predictor: Predictor = request.getfixturevalue(name)
    events: list[str] = []
    model = predictor.model
    explain_name = "explain_encoding" if name == "whisper" else "explain"
    original = getattr(model, explain_name)

    def explaining(*args: Any, **kwargs: Any) -> Any:
        events.append("explain")
        return original(*args, **kwargs)

    monkeypatch.setattr(model, explain_name, explaining)
    runs = _encoder_runs(monkeypatch, predictor) if name == "whisper" else (lambda: 1)
    seen: list[Any] = []
    analysis = predictor.analyse(
        _speech(2.0), SR, on_prediction=lambda p: (events.append("label"), seen.append(p))
    )
    assert events == ["label", "explain"]
    assert seen == [analysis.prediction]
    assert analysis.explanation is not None and analysis.explanation.prediction == seen[0]
    assert runs() == 1
