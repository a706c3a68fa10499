"""The model zoo: every registered model is built, trained a little, saved, loaded and explained.

Parametrised over ``list_models()`` (timm's habit), so a model is tested the day it is registered.
Small configs keep the whole file within a few minutes on 2 CPU cores; models without a small
config here are tested with their defaults.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from ser_core.errors import CheckpointError
from ser_core.models import (
    SERCT,
    InputSpec,
    SERModel,
    SVMClassifier,
    count_parameters,
    create_model,
    is_torch_model,
    list_models,
    load_model,
    model_config_for,
    model_info,
)
from ser_core.models._layers import AdditiveAttention, lengths_to_mask
from ser_core.models.mobilenet_v3 import MobileNetV3Backbone
from ser_core.models.resnet50 import ResNet50Backbone
from ser_core.models.serct import DeformableSpeechAttention, WaveformConvEncoder
from ser_core.models.vgg19 import VGG19Backbone

SR = 16000
N_MELS = 64
FRAMES = 101  # 1 s at a 10 ms hop
STATE_FRAMES = 50  # 1 s of pretrained-encoder frames
IMAGE = 64
N_CLASSES = 3
IMAGE_MODELS = {"vgg19", "resnet50", "mobilenet_v3"}

SMALL_CONV = {"channels": [8, 8, 16, 16]}
#: Small configs for tests (defaults are CPU-trainable but slower).
TINY: dict[str, dict[str, Any]] = {
    "cnn_lstm": {**SMALL_CONV, "lstm_hidden": 32, "fc_hidden": 16},
    "cnn": {**SMALL_CONV, "fc_hidden": 16},
    "lstm": {"lstm_hidden": 32, "fc_hidden": 16},
    "cnn1d_lstm": {**SMALL_CONV, "lstm_hidden": 32, "fc_hidden": [16]},
    "cnn_bilstm_attn": {**SMALL_CONV, "lstm_hidden": 16, "attention_dim": 16, "fc_hidden": 16},
    "cnn_bilstm": {**SMALL_CONV, "lstm_hidden": 16, "fc_hidden": 16},
    "vit": {"embed_dim": 32, "depth": 2, "num_heads": 2, "head_hidden": [32]},
    "serct": {
        "conv_channels": 32,
        "d_model": 32,
        "ffn_dim": 64,
        "num_layers": 2,
        "num_heads": 4,
        "num_points": 8,
        "head_hidden": [32, 16],
    },
    "mlp": {"hidden": [64, 32]},
    "vgg19": {"image_size": IMAGE, "pretrained": None, "freeze_layers": 3},
    "resnet50": {"image_size": IMAGE, "pretrained": None, "freeze_layers": 3},
    "mobilenet_v3": {"image_size": IMAGE, "pretrained": None},
    **{
        name: {"proj_dim": 32, "attention_dim": 16, "hidden": [32]}
        for name in ("pretrained", "whisper_base", "whisper_tiny", "wav2vec2")
    },
}
#: Whole-size models whose tests take more than a few seconds.
SLOW = {"vgg19", "resnet50"}

ALL_MODELS = list_models()
TORCH_MODELS = [n for n in ALL_MODELS if model_info(n).is_torch]
VARIABLE = [n for n in ALL_MODELS if model_info(n).supports_variable_length]


def _params(names: list[str]) -> list[Any]:
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


def build(name: str, **overrides: Any) -> Any:
    torch.manual_seed(0)
    return create_model(name, N_CLASSES, **{**TINY.get(name, {}), **overrides})


def synthetic(
    kind: str, n: int, seed: int = 0, model: Any = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A learnable task: the class says which frequency band / tone / region carries energy.

    ``"states"`` (a pretrained encoder's hidden states) takes its (layers, dim) from ``model``.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % N_CLASSES
    if kind == "states":
        layers, dim = len(model.state_indices), model.config.encoder_dim
        x = torch.randn(n, layers, dim, STATE_FRAMES, generator=g)
        for i, c in enumerate(y.tolist()):
            x[i, :, 8 * c : 8 * c + 8] += 2.0
        return x, y
    if kind == "waveform":
        t = torch.arange(SR) / SR
        freqs = torch.tensor([300.0, 1200.0, 3000.0])[y]
        phase = torch.rand(n, 1, generator=g) * 2 * math.pi
        x = 0.5 * torch.sin(2 * math.pi * freqs[:, None] * t + phase)
        return x + 0.05 * torch.randn(n, SR, generator=g), y
    if kind in ("logmel", "mfcc"):
        x = 0.3 * torch.randn(n, N_MELS, FRAMES, generator=g)
        for i, c in enumerate(y.tolist()):
            x[i, 4 + 20 * c : 14 + 20 * c] += 2.0
        return x, y
    if kind == "image":
        x = 0.2 * torch.rand(n, 3, IMAGE, IMAGE, generator=g)
        for i, c in enumerate(y.tolist()):
            x[i, :, 4 + 20 * c : 16 + 20 * c] += 0.7
        return x, y
    x = torch.randn(n, 88, generator=g)
    x[torch.arange(n), y] += 3.0
    return x, y


def time_len(kind: str) -> int:
    lengths = {"waveform": SR, "logmel": FRAMES, "mfcc": FRAMES, "image": IMAGE, "vector": 88}
    return {**lengths, "states": STATE_FRAMES}[kind]


# ------------------------------------------------------------------------------------ registry
def test_registry_lists_the_issue_models() -> None:
    expected = {
        "cnn_lstm", "cnn", "lstm", "cnn1d_lstm", "cnn_bilstm_attn", "cnn_bilstm", "vit",
        "serct", "mlp", "svm", "vgg19", "resnet50", "mobilenet_v3",
    }  # fmt: skip
    assert expected <= set(ALL_MODELS)
    assert sorted(ALL_MODELS) == ALL_MODELS


def test_registry_discovers_every_model_file_and_each_registers_a_model() -> None:
    """Adding a model is adding one file: the registry imports every public module of
    ``ser_core.models`` by itself, and each of them registers at least one name."""
    from ser_core.models import _registry

    folder = Path(_registry.__file__).parent
    files = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
    assert _registry._model_modules() == files
    modules = {_registry._entry(name).factory.__module__.rsplit(".", 1)[-1] for name in ALL_MODELS}
    assert modules == set(files)
    # The feature config named by model_info is found by its kind, not by a hand-kept table.
    assert model_info("whisper_base").feature_config == "EncoderStatesConfig"
    assert model_info("mobilenet_v3").feature_config == "SpectrogramImageConfig"


def test_unknown_model_fails_clearly() -> None:
    with pytest.raises(ValueError, match="Unknown model 'nope'") as info:
        create_model("nope", 4)
    assert "cnn_lstm" in str(info.value)
    assert "serct" in str(info.value)
    with pytest.raises(ValueError, match="Did you mean 'cnn_lstm'"):
        create_model("cnn_lstn", 4)


def test_bad_config_fails_clearly() -> None:
    with pytest.raises(ValueError, match="no field"):
        create_model("cnn_lstm", 4, lstm_units=3)
    with pytest.raises(ValueError, match="attention must be one of"):
        create_model("serct", 4, attention="sparse")
    with pytest.raises(ValueError, match="num_classes"):
        create_model("mlp", 0)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_model_info_describes_the_model(name: str) -> None:
    info = model_info(name)
    assert info.input_kind in ("waveform", "logmel", "mfcc", "image", "vector", "states")
    assert info.feature_config.endswith("Config")
    assert info.reference
    assert info.summary
    assert any(ch.isdigit() for ch in info.reference)  # names a paper with its year
    cls = type(create_model(name, 2, **TINY.get(name, {})))
    assert cls.config_class.from_dict(info.default_config).to_dict() == info.default_config


@pytest.mark.parametrize("name", _params(ALL_MODELS))
def test_default_config_builds(name: str) -> None:
    extra = {"pretrained": None} if name in IMAGE_MODELS else {}
    model = create_model(name, 7, **extra)
    spec = model.input_spec()
    assert isinstance(spec, InputSpec)
    assert spec.kind == model_info(name).input_kind
    if is_torch_model(model):
        assert count_parameters(model) > 1000
        assert model.card()["parameters"] == count_parameters(model)


# ------------------------------------------------------------------------------------ torch models
@pytest.mark.parametrize("name", _params(TORCH_MODELS))
def test_forward_backward(name: str) -> None:
    model = build(name)
    x, y = synthetic(model.input_kind, 4, model=model)
    logits = model(x)
    assert logits.shape == (4, N_CLASSES)
    assert model.forward_features(x).ndim == 2
    assert model.forward_head(model.forward_features(x), pre_logits=True).ndim == 2
    nn.functional.cross_entropy(logits, y).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    probs = model.predict_proba(x)
    assert torch.allclose(probs.sum(dim=1), torch.ones(4), atol=1e-5)


@pytest.mark.parametrize("name", _params(ALL_MODELS))
def test_learns_synthetic_task(name: str) -> None:
    model = build(name)
    if not is_torch_model(model):
        x, y = synthetic(model.input_kind, 30)
        model.fit(x.numpy(), y.numpy())
        assert (model.predict(x.numpy()) == y.numpy()).mean() > 0.9
        return
    x, y = synthetic(model.input_kind, 12, model=model)
    torch.manual_seed(0)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    model.train()
    for _ in range(20):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < 0.7 * losses[0], losses


@pytest.mark.parametrize("name", VARIABLE)
def test_padded_batch_equals_single_items(name: str) -> None:
    model = build(name).eval()
    x, _ = synthetic(model.input_kind, 3, model=model)
    full = x.shape[-1]
    lengths = torch.tensor([full, full - full // 5 - 3, full // 2 + 7])
    x = x.clone()
    for i, n in enumerate(lengths.tolist()):
        x[i, ..., n:] = 0.0
    with torch.inference_mode():
        batch = model(x, lengths)
        singles = torch.cat([model(x[i : i + 1, ..., :n]) for i, n in enumerate(lengths.tolist())])
    torch.testing.assert_close(batch, singles, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", _params(ALL_MODELS))
def test_save_load_gives_identical_outputs(name: str, tmp_path: Path) -> None:
    model = build(name)
    x, y = synthetic(model.input_kind, 6, model=model)
    model.labels = ["angry", "happy", "sad"]
    if is_torch_model(model):
        with torch.no_grad():  # move BatchNorm statistics off their initial values
            model.train()(x)
        model.eval()
        model.save_pretrained(tmp_path / "ckpt")
        assert {p.name for p in (tmp_path / "ckpt").iterdir()} == {
            "config.json",
            "model.safetensors",
        }
        loaded = load_model(tmp_path / "ckpt")
        assert type(loaded) is type(model)
        assert loaded.model_name == name
        assert loaded.labels == model.labels
        assert not loaded.training
        with torch.inference_mode():
            assert torch.equal(model(x), loaded(x))
    else:
        model.fit(x.numpy(), y.numpy())
        model.save_pretrained(tmp_path / "ckpt")
        loaded = load_model(tmp_path / "ckpt")
        assert isinstance(loaded, SVMClassifier)
        assert loaded.labels == model.labels
        np.testing.assert_array_equal(
            model.predict_proba(x.numpy()), loaded.predict_proba(x.numpy())
        )


@pytest.mark.parametrize("name", _params(ALL_MODELS))
def test_explain_maps_the_input_axes(name: str) -> None:
    model = build(name)
    kind = model_info(name).input_kind
    x, _ = synthetic(kind, 2, model=model)
    if not is_torch_model(model):
        model.fit(*(t.numpy() for t in synthetic(kind, 30)))
        maps = model.explain(x.numpy())
    else:
        maps = model.explain(x)
        assert model.training  # explain restores the mode it found
    assert isinstance(maps, np.ndarray)
    assert maps.shape[0] == 2
    assert maps.shape[-1] == time_len(kind)
    if kind in ("logmel", "mfcc"):
        assert maps.shape[1:] in ((N_MELS, FRAMES), (FRAMES,))
    if kind == "image":
        assert maps.shape == (2, IMAGE, IMAGE)
    assert np.isfinite(maps).all()
    assert maps.min() >= 0
    assert np.allclose(maps.max(axis=-1).max(), 1)


@pytest.mark.parametrize("name", VARIABLE)
def test_explain_is_zero_past_each_length(name: str) -> None:
    model = build(name)
    x, _ = synthetic(model.input_kind, 2, model=model)
    n = x.shape[-1] * 2 // 3
    maps = model.explain(x, lengths=[x.shape[-1], n])
    assert maps.shape[-1] == x.shape[-1]
    assert np.all(maps[1, ..., n:] == 0)
    assert maps[1, ..., :n].max() > 0


def test_too_short_or_misshaped_input_fails_clearly() -> None:
    model = build("cnn_lstm")
    with pytest.raises(ValueError, match="at least 16 frames"):
        model(torch.zeros(1, N_MELS, 10))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.zeros(N_MELS, 50))
    with pytest.raises(ValueError, match="64 features"):
        model(torch.zeros(1, 40, 50))
    with pytest.raises(ValueError, match="no lengths"):
        build("mlp")(torch.zeros(2, 88), lengths=[1, 2])


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "missing")
    model = build("mlp")
    model.save_pretrained(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"no model\.safetensors"):
        load_model(tmp_path / "ckpt")
    with pytest.raises(ValueError, match="labels"):
        model.labels = ["a"]


# ------------------------------------------------------------------------------------ SERCT
@pytest.mark.parametrize(
    "variant",
    [
        {"attention": "vanilla"},
        {"use_cnn": False},
        {"use_transformer": False},
        {"conv_norm": "group"},
    ],
    ids=["vanilla", "no-cnn", "no-transformer", "group-norm"],
)
def test_serct_ablations(variant: dict[str, Any]) -> None:
    model = build("serct", **variant).eval()
    x, _ = synthetic("waveform", 3)
    lengths = torch.tensor([SR, 12000, 9001])
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0
    with torch.inference_mode():
        batch = model(x, lengths)
        singles = torch.cat([model(x[i : i + 1, :n]) for i, n in enumerate(lengths.tolist())])
    torch.testing.assert_close(batch, singles, atol=1e-5, rtol=1e-4)
    assert model.explain(x, lengths).shape == (3, SR)


def test_serct_default_encoder_is_wav2vec_style() -> None:
    model = create_model("serct", 4)
    assert isinstance(model, SERCT)
    convs = model.encoder.convs
    assert [c.kernel_size[0] for c in convs] == [10, 3, 3, 3, 2, 2]
    assert [c.stride[0] for c in convs] == [5, 2, 2, 2, 2, 2]
    assert all(c.bias is None for c in convs)
    assert model.frame_hop == 160  # 10 ms frames at 16 kHz
    assert len(model.layers) == 4
    assert model.layers[0].attention.num_heads == 8


def test_serct_encoder_norms_and_the_level_of_the_signal() -> None:
    """LayerNorm after every conv hides each frame's level; wav2vec 2.0 BASE's channel norm
    after the first conv removes only the clip's overall level."""
    torch.manual_seed(0)
    wav = torch.randn(1, SR)
    louder_half = wav.clone()
    louder_half[:, SR // 2 :] *= 4.0  # the same sounds, the second half louder
    for norm, sees_contour in (("layer", False), ("group", True)):
        encoder = WaveformConvEncoder(8, (10, 3, 3), (5, 2, 2), norm=norm).eval()
        with torch.no_grad():
            base, gained, contour = (encoder(w) for w in (wav, 3.0 * wav, louder_half))
        torch.testing.assert_close(gained, base, atol=1e-3, rtol=1e-3)  # overall gain: gone
        # frames whose 40 samples (hop 20) lie on one side of the change of level
        away = torch.cat([torch.arange(0, 395), torch.arange(405, base.shape[1])])
        changed = not torch.allclose(contour[:, away], base[:, away], atol=1e-3, rtol=1e-3)
        assert changed == sees_contour, norm
    with pytest.raises(ValueError, match="conv_norm"):
        build("serct", conv_norm="batch")


def test_deformable_attention_windows_move_and_learn() -> None:
    torch.manual_seed(0)
    attention = DeformableSpeechAttention(
        16, 2, num_points=4, init_windows=[5, 40], max_window=80, max_offset=50
    )
    x = torch.randn(2, 30, 16)
    out, record = attention(x, lengths_to_mask(torch.tensor([30, 20]), 30))
    assert out.shape == (2, 30, 16)
    assert record["weights"].shape == record["positions"].shape == (2, 2, 30, 4)
    # initial windows are centred on their query with the per-head widths, clamped to the item
    positions = record["positions"]
    assert positions[1].max() <= 19
    assert positions.min() >= 0
    spread = positions[0, :, 15].amax(-1) - positions[0, :, 15].amin(-1)
    torch.testing.assert_close(spread, torch.tensor([5.0, 29.0]))  # 40 clamped to [0, 29]
    # offsets and sizes get gradients (they are learned from the loss)
    out.sum().backward()
    assert attention.offset_size.weight.grad is not None
    assert attention.offset_size.weight.grad.abs().sum() > 0


def test_deformable_attention_equals_naive_sampling() -> None:
    """The fast path (dense scores read at the sampled indices) equals sampling keys/values."""
    torch.manual_seed(0)
    attention = DeformableSpeechAttention(
        8, 2, num_points=3, init_windows=[4, 9], max_window=20, max_offset=6
    )
    with torch.no_grad():
        attention.offset_size.weight.normal_(0, 0.5)
    attention.max_chunk_elements = 2 * 2 * 11 * 4  # force several query chunks
    x = torch.randn(2, 11, 8)
    lengths = torch.tensor([11, 7])
    out, record = attention(x, lengths_to_mask(lengths, 11))
    q, k, v = (z.view(2, 11, 2, 4) for z in attention.qkv(x).chunk(3, dim=-1))
    naive = torch.zeros(2, 11, 2, 4)
    for b in range(2):
        for h in range(2):
            for i in range(int(lengths[b])):
                pos = record["positions"][b, h, i]
                lo = pos.floor().long()
                hi = torch.clamp(lo + 1, max=int(lengths[b]) - 1)
                f = (pos - lo)[:, None]
                keys = (1 - f) * k[b, lo, h] + f * k[b, hi, h]
                values = (1 - f) * v[b, lo, h] + f * v[b, hi, h]
                w = torch.softmax(keys @ q[b, i, h] / 2.0, dim=0)
                naive[b, i, h] = w @ values
    expected = attention.proj(naive.reshape(2, 11, 8))
    torch.testing.assert_close(out[0], expected[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out[1, :7], expected[1, :7], atol=1e-5, rtol=1e-4)


def test_serct_attention_maps() -> None:
    model = build("serct")
    x, _ = synthetic("waveform", 2)
    records, frame_lengths = model.attention_maps(x, lengths=[SR, 8000])
    assert len(records) == 2
    assert frame_lengths.tolist() == [99, 49]
    assert records[0]["positions"][1].max() <= 48


# ------------------------------------------------------------------------------------ others
def test_bilstm_attention_weights_sum_to_one_over_valid_steps() -> None:
    model = build("cnn_bilstm_attn").eval()
    x, _ = synthetic("logmel", 2)
    weights, steps = model.attention_weights(x, lengths=[FRAMES, 60])
    assert steps.tolist() == [FRAMES // 16, 60 // 16]
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
    assert torch.all(weights[1, steps[1] :] == 0)
    pooled, w = AdditiveAttention(4, 3)(torch.randn(1, 5, 4))
    assert pooled.shape == (1, 4)
    assert w.shape == (1, 5)


def test_vit_attention_rollout_covers_the_spectrogram() -> None:
    model = build("vit")
    x, _ = synthetic("logmel", 1)
    maps = model.explain(x)
    assert maps.shape == (1, N_MELS, FRAMES)
    assert len(model.attention_maps(x)) == model.config.depth


def test_mfcc_input_is_declared() -> None:
    model = create_model("cnn_lstm", 4, features="mfcc", n_features=39, **SMALL_CONV)
    assert model.input_kind == "mfcc"
    assert model.input_spec().n_features == 39
    assert model(torch.randn(2, 39, 40)).shape == (2, 4)


def test_models_take_the_feature_extractors_output() -> None:
    from ser_core.features import (
        LogMelConfig,
        MFCCConfig,
        MFCCStatsConfig,
        SpectrogramImageConfig,
        WaveformConfig,
        extract,
    )

    signal = (0.1 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    cases = [
        ("cnn_lstm", MFCCConfig()),
        ("vit", LogMelConfig(n_mels=80)),
        ("mlp", MFCCStatsConfig()),
        ("serct", WaveformConfig()),
        ("mobilenet_v3", SpectrogramImageConfig(height=IMAGE, width=IMAGE)),
    ]
    for name, feature_config in cases:
        overrides = model_config_for(feature_config)
        assert overrides["features"] == feature_config.kind
        model = build(name, **overrides).eval()
        features = torch.as_tensor(np.array(extract(feature_config, signal)))[None]
        assert model.input_kind == model_info(name).input_kind or name == "cnn_lstm"
        assert model(features).shape == (1, N_CLASSES)


# ------------------------------------------------------------------------------------ image CNNs
#: sha256 of "key:[shape]" lines of torchvision 0.28's state dicts (num_classes=1000).
TORCHVISION_KEYS = {
    "resnet50": "68df08e07d140b535e75d5a87912298f92de2f9054c5fc628012579ab9e518d5",
    "vgg19": "d4fbaa814a594c3e6af4706cc4879bc2b9bc3a3b4eeb124972e3a7c872a1f918",
    "vgg19_bn": "8522f3166ec5e92039479411945375a224ee91e3b806fc81abcb12415b80366f",
    "mobilenet_v3_large": "f816bb997416e9e125d0d8d59e3c566c9105c3973c9d18ba8ff37b06992bef3f",
}


@pytest.mark.parametrize(
    ("arch", "make", "n_params"),
    [
        ("resnet50", lambda: ResNet50Backbone(include_top=True), 25_557_032),
        ("vgg19", lambda: VGG19Backbone(include_top=True), 143_667_240),
        ("vgg19_bn", lambda: VGG19Backbone(batch_norm=True, include_top=True), 143_678_248),
        ("mobilenet_v3_large", lambda: MobileNetV3Backbone(include_top=True), 5_483_032),
    ],
)
def test_backbones_match_torchvision_state_dicts(arch: str, make: Any, n_params: int) -> None:
    with torch.device("meta"):
        net = make()
    lines = "\n".join(f"{k}:{list(v.shape)}" for k, v in net.state_dict().items())
    assert hashlib.sha256(lines.encode()).hexdigest() == TORCHVISION_KEYS[arch]
    assert sum(p.numel() for p in net.parameters()) == n_params


def test_imagenet_weights_from_hub_cache_or_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    scratch = create_model("mobilenet_v3", 4, image_size=IMAGE)
    assert scratch.config.pretrained_source == "scratch"
    assert "scratch" in scratch.card()["weights"]

    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.manual_seed(1)
    imagenet = MobileNetV3Backbone(include_top=True).state_dict()
    torch.save(imagenet, hub / "mobilenet_v3_large-5c1a4163.pth")
    model = create_model("mobilenet_v3", 4, image_size=IMAGE, freeze_layers=5)
    assert model.config.pretrained_source == str(hub / "mobilenet_v3_large-5c1a4163.pth")
    assert "ImageNet" in model.card()["weights"]
    assert torch.equal(
        model.backbone.features[3].block[0][0].weight, imagenet["features.3.block.0.0.weight"]
    )
    frozen = [p.requires_grad for p in model.backbone.features[:5].parameters()]
    assert not any(frozen)
    assert all(p.requires_grad for p in model.head.parameters())
    model.train()
    assert not model.backbone.features[0][1].training  # frozen BatchNorm stays in eval mode

    model.save_pretrained(tmp_path / "ckpt")
    (hub / "mobilenet_v3_large-5c1a4163.pth").unlink()  # the checkpoint no longer needs it
    loaded = load_model(tmp_path / "ckpt")
    x, _ = synthetic("image", 2)
    with torch.inference_mode():
        assert torch.equal(model.eval()(x), loaded(x))

    with pytest.raises(CheckpointError, match="does not exist"):
        create_model("mobilenet_v3", 4, pretrained=str(tmp_path / "nope.pth"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"num_classes": True}, "positive integer"),
        ({"labels": ["a", "a"]}, "duplicates"),
        ({"labels": ["a"]}, "1 labels for num_classes=2"),
        ({"feature_config": {"n_mels": 40}}, "with a 'kind'"),
        ({"config": []}, "must be an object"),
    ],
)
def test_one_checkpoint_validator_for_models_and_predictors(
    tmp_path: Path, edit: dict[str, Any], message: str
) -> None:
    """The model loader and the predictor read config.json through the same checks; only the
    predictor insists on class names."""
    from ser_core.inference.checkpoint import read_config
    from ser_core.models import read_checkpoint_config

    torch.manual_seed(0)
    create_model("mlp", 2, **TINY.get("mlp", {})).save_pretrained(tmp_path)
    path = tmp_path / "config.json"
    payload = json.loads(path.read_text())
    payload.pop("labels", None)
    path.write_text(json.dumps(payload))
    assert read_checkpoint_config(tmp_path)["name"] == "mlp"  # a bare save has no labels
    with pytest.raises(CheckpointError, match="labels"):
        read_config(tmp_path)
    path.write_text(json.dumps({**payload, "labels": ["a", "b"], **edit}))
    for reader in (read_checkpoint_config, read_config):
        with pytest.raises(CheckpointError, match=message):
            reader(tmp_path)


# ------------------------------------------------------------------------------------ svm
def test_svm_fit_save_load(tmp_path: Path) -> None:
    svm = create_model("svm", N_CLASSES)
    assert not is_torch_model(svm)
    assert is_torch_model(build("mlp"))
    assert isinstance(build("mlp"), SERModel)
    assert not isinstance(svm, SERModel)
    x, y = synthetic("vector", 30)
    with pytest.raises(ValueError, match="not fitted"):
        svm.predict_proba(x.numpy())
    svm.fit(x.numpy(), y.numpy())
    proba = svm.predict_proba(x.numpy())
    assert proba.shape == (30, N_CLASSES)
    assert np.allclose(proba.sum(axis=1), 1)
    embedding = svm.forward_features(x.numpy())  # standardised vectors, as the SVC sees them
    assert embedding.shape == (30, 88)
    np.testing.assert_allclose(embedding.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_array_equal(svm.forward_head(embedding), proba)
    np.testing.assert_array_equal(svm.forward_head(embedding, pre_logits=True), embedding)
    assert count_parameters(svm) > 0
    svm.save_pretrained(tmp_path / "svm")
    assert {p.name for p in (tmp_path / "svm").iterdir()} == {"config.json", "model.skops"}
    loaded = SVMClassifier.from_pretrained(tmp_path / "svm")
    np.testing.assert_array_equal(loaded.predict_proba(x.numpy()), proba)
    assert loaded.explain(x.numpy()[:2]).shape == (2, 88)
    with pytest.raises(ValueError, match=r"\(N, 88\)"):
        svm.fit(np.zeros((10, 5)), np.zeros(10))


def test_linear_svm_stores_weights_not_support_vectors_and_explains_by_occlusion(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    n_features = 600
    y = np.repeat(np.arange(N_CLASSES), 20)
    x = rng.normal(size=(len(y), n_features))
    x[:, :N_CLASSES] += 3 * np.eye(N_CLASSES)[y]  # the first features carry the class
    linear = create_model("svm", N_CLASSES, n_features=n_features, kernel="linear", C=0.01)
    linear.fit(x, y)
    assert count_parameters(linear) == N_CLASSES * (n_features + 1)  # coef_ and intercept_
    assert (linear.predict(x) == y).mean() > 0.9
    linear.save_pretrained(tmp_path / "linear")
    loaded = SVMClassifier.from_pretrained(tmp_path / "linear")  # only trusted types inside
    rbf = create_model("svm", N_CLASSES, n_features=n_features).fit(x, y)
    rbf.save_pretrained(tmp_path / "rbf")
    small = (tmp_path / "linear" / "model.skops").stat().st_size
    assert small < (tmp_path / "rbf" / "model.skops").stat().st_size / 3
    # The chunked occlusion equals occluding one feature at a time.
    rows = x[:3]
    fast = loaded.explain(rows)
    base = loaded.predict_proba(rows)
    target = base.argmax(axis=1)
    means = loaded.pipeline_.named_steps["scaler"].mean_
    slow = np.zeros_like(rows)
    for d in range(n_features):
        occluded = rows.copy()
        occluded[:, d] = means[d]
        slow[:, d] = (
            base[np.arange(3), target] - loaded.predict_proba(occluded)[np.arange(3), target]
        )
    slow = np.clip(slow, 0, None)
    slow /= np.maximum(slow.max(axis=1, keepdims=True), 1e-12)
    np.testing.assert_allclose(fast, slow, atol=1e-6)
    assert set(np.argsort(fast[0])[-3:]) & set(range(N_CLASSES))  # class features stand out
