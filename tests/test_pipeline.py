"""``ser_core.pipeline``: features, batches and windows for every input kind, from the model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from ser_core.errors import AudioInputError
from ser_core.features import LogMelConfig, MFCCConfig
from ser_core.models import InputSpec, list_models, model_info
from ser_core.pipeline import (
    InputPipeline,
    build_model,
    default_feature_config,
    pipeline_for,
    resolve_feature_config,
    time_axis_of,
)

SR = 16000
N_CLASSES = 3
SMALL_CONV = {"channels": [8, 8, 16, 16]}
IMAGE_FEATURES = {"height": 32, "width": 32, "logmel": {"n_mels": 32}}

#: (model config, feature config overrides) small enough for a fast forward pass.
SMALL: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "cnn_lstm": ({**SMALL_CONV, "lstm_hidden": 16, "fc_hidden": 16}, {}),
    "cnn": ({**SMALL_CONV, "fc_hidden": 16}, {"n_mels": 32}),
    "lstm": ({"lstm_hidden": 16, "fc_hidden": 16}, {}),
    "cnn1d_lstm": ({**SMALL_CONV, "lstm_hidden": 16, "fc_hidden": [16]}, {}),
    "cnn_bilstm_attn": ({**SMALL_CONV, "lstm_hidden": 8, "attention_dim": 8, "fc_hidden": 8}, {}),
    "cnn_bilstm": ({**SMALL_CONV, "lstm_hidden": 8, "fc_hidden": 8}, {}),
    "vit": ({"embed_dim": 16, "depth": 1, "num_heads": 2, "head_hidden": [16]}, {}),
    "serct": (
        {
            "conv_channels": 16,
            "d_model": 16,
            "ffn_dim": 32,
            "num_layers": 1,
            "num_heads": 2,
            "num_points": 4,
            "head_hidden": [16],
        },
        {},
    ),
    "mlp": ({"hidden": [16], "features": "mfcc_stats"}, {}),
    "vgg19": ({"pretrained": None}, IMAGE_FEATURES),
    "resnet50": ({"pretrained": None}, IMAGE_FEATURES),
    "mobilenet_v3": ({"pretrained": None}, IMAGE_FEATURES),
}
#: Feature kinds the pipeline test extracts from audio (others need large pretrained encoders).
AUDIO_KINDS = {"waveform", "logmel", "mfcc", "image", "vector"}


def tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_time_axis_from_the_declared_layout() -> None:
    def spec(layout: str) -> InputSpec:
        return InputSpec("x", "x", layout, None, None, None, 1, True)

    assert time_axis_of(spec("(B, T)")) == 0
    assert time_axis_of(spec("(B, F, T)")) == 1
    assert time_axis_of(spec("(B, L, D, T)")) == 2
    assert time_axis_of(spec("(B, 3, H, W)")) is None
    assert time_axis_of(spec("(B, D)")) is None


def test_default_feature_config_follows_the_registry() -> None:
    assert default_feature_config("cnn_lstm") == LogMelConfig()
    assert default_feature_config("cnn_lstm", {"features": "mfcc"}) == MFCCConfig()
    assert default_feature_config("svm").kind == "egemaps"
    changed = resolve_feature_config("cnn_lstm", None, {"n_mels": 40})
    assert changed == LogMelConfig(n_mels=40)


def test_build_model_matches_the_features_and_refuses_contradictions() -> None:
    model, features = build_model("cnn", 4, SMALL_CONV, {"n_mels": 32})
    assert features == LogMelConfig(n_mels=32)
    assert model.config.n_features == 32
    with pytest.raises(ValueError, match="contradicts the feature config"):
        build_model("cnn", 4, {**SMALL_CONV, "n_features": 40}, {"n_mels": 32})


@pytest.mark.parametrize("name", [n for n in list_models() if n in SMALL or n == "svm"])
def test_features_and_batches_for_every_model(name: str) -> None:
    model_config, features = SMALL.get(name, ({}, {}))
    torch.manual_seed(0)
    model, feature_config = build_model(name, N_CLASSES, model_config, features)
    pipe = pipeline_for(model, feature_config)
    spec = model.input_spec()
    assert spec.kind in AUDIO_KINDS
    items = [pipe.featurize(tone(0.6, 300.0)), pipe.featurize(tone(1.1, 900.0))]
    x, lengths = pipe.collate(items)
    assert x.dtype == torch.float32 and x.shape[0] == 2
    if pipe.time_axis is None:
        assert lengths is None
        assert x.shape[1:] == items[0].shape
    else:
        assert lengths is not None and lengths.tolist() == [
            max(i.shape[pipe.time_axis], spec.min_length) for i in items
        ]
        assert x.shape[1 + pipe.time_axis] == max(lengths.tolist())
    if spec.kind in ("logmel", "mfcc", "vector"):
        assert x.shape[1] == spec.n_features
    if model_info(name).is_torch:
        model.eval()
        with torch.no_grad():
            logits = model(x, lengths)
        assert logits.shape == (2, N_CLASSES)
        assert torch.isfinite(logits).all()
    else:  # the svm: fit on a few vectors, then the same batch gives probabilities
        x4 = np.concatenate([x.numpy(), x.numpy() + 0.01, x.numpy() - 0.01])
        model.fit(np.concatenate([x4, x4]), np.array([0, 1, 0, 1, 0, 1] * 2))
        assert model.predict_proba(x.numpy()).shape == (2, N_CLASSES)


def test_states_models_collate_time_last() -> None:
    """Pretrained-encoder heads take (layers, dim, frames) states: padded along frames."""
    if "whisper_tiny" not in list_models():
        pytest.skip("no pretrained-encoder models registered")
    model, _ = build_model("whisper_tiny", N_CLASSES, {"proj_dim": 16, "hidden": [16]})
    pipe = pipeline_for(model)
    assert pipe.time_axis == 2
    layers, dim = len(model.state_indices), model.config.encoder_dim
    rng = np.random.default_rng(0)
    items = [rng.standard_normal((layers, dim, t)).astype(np.float16) for t in (20, 35)]
    x, lengths = pipe.collate(items)
    assert x.shape == (2, layers, dim, 35) and x.dtype == torch.float32
    assert lengths.tolist() == [20, 35]
    model.eval()
    with torch.no_grad():
        assert model(x, lengths).shape == (2, N_CLASSES)


def test_short_items_are_padded_to_the_minimum_length() -> None:
    model, features = build_model("cnn", N_CLASSES, SMALL_CONV, {"n_mels": 32})
    pipe = pipeline_for(model, features)
    short = np.zeros((32, 5), dtype=np.float32)
    x, lengths = pipe.collate([short])
    assert lengths.tolist() == [model.min_input_length] and x.shape[-1] == model.min_input_length
    with torch.no_grad():
        model.eval()(x, lengths)  # the model accepts it


def test_crop_keeps_a_random_part_of_the_time_axis() -> None:
    model, features = build_model("cnn", N_CLASSES, SMALL_CONV, {"n_mels": 32})
    pipe = pipeline_for(model, features)
    feature = pipe.featurize(tone(2.0))
    cropped = pipe.crop(feature, 0.25, np.random.default_rng(0))
    assert cropped.shape[0] == 32
    assert cropped.shape[1] == int(np.ceil(feature.shape[1] * 0.25))


def test_long_clip_windows_batch_through_the_model() -> None:
    model, features = build_model("cnn", N_CLASSES, SMALL_CONV, {"n_mels": 32})
    pipe = pipeline_for(model, features)
    windows = pipe.windows(tone(10.3), win_dur=2.0, hop_dur=1.0)
    assert len(windows) == 10
    assert windows[0].start == 0.0 and windows[-1].end == pytest.approx(10.3)
    x, lengths = pipe.collate([pipe.featurize(w.signal) for w in windows])
    assert x.shape[0] == 10 and len(set(lengths.tolist())) == 1
    with torch.no_grad():
        assert model.eval()(x, lengths).shape == (10, N_CLASSES)
    times = pipe.times(x.shape[-1], 2.0)
    assert times[0] == 0.0 and times[1] == pytest.approx(0.01)


def test_featurize_refuses_a_wrong_rate() -> None:
    model, features = build_model("cnn", N_CLASSES, SMALL_CONV, {"n_mels": 32})
    with pytest.raises(AudioInputError):
        pipeline_for(model, features).featurize(tone(1.0), sample_rate=8000)


def test_explicit_pipeline_rejects_features_of_another_size() -> None:
    model, _ = build_model("cnn", N_CLASSES, SMALL_CONV, {"n_mels": 32})
    with pytest.raises(ValueError, match="does not match the model"):
        pipeline_for(model, LogMelConfig(n_mels=64))
    assert isinstance(pipeline_for(model, LogMelConfig(n_mels=32)), InputPipeline)
