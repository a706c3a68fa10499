"""Cached partial fine-tuning of a Whisper encoder (``PretrainedSERConfig.finetune_from_cache``):
the top layers trained on cached states of layer ``k`` match fine-tuning on waveforms, padding
changes nothing, checkpoints hold the head and the top layers only, the feature cache cuts layer
subsets out of all-layer entries, and the trainer trains the layers.

Every test uses a tiny random Whisper checkpoint (``hf:<tmp folder>``, 3 layers, d=32); nothing
touches the network or the packaged weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from safetensors import safe_open
from tiny_whisper import save_tiny_whisper
from torch import nn

from ser_core.encoders import WhisperEncoderWrapper, load_encoder
from ser_core.features import EncoderStatesConfig, FeatureCache, pad_batch
from ser_core.features import cache as cache_module
from ser_core.features.cache import read_signal
from ser_core.features.encoder_states import clear_encoder_cache
from ser_core.models import PretrainedSER, create_model, load_model

SR = 16_000
N_CLASSES = 3
LAYERS = 3  # of the tiny encoder
TUNED = 2  # fine-tuned top layers: k = 1
K = LAYERS - TUNED
HEAD: dict[str, Any] = {"proj_dim": 16, "attention_dim": 8, "hidden": [16], "dropout": 0.0}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"hf:{save_tiny_whisper(tmp_path_factory.mktemp('whisper'), LAYERS)}"


@pytest.fixture(autouse=True)
def _fresh_encoder_cache() -> Any:
    yield
    clear_encoder_cache()


def voice(seconds: float, seed: int, f0: float = 150.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    signal = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    signal = signal * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(len(t))
    return (0.3 * signal / np.abs(signal).max()).astype(np.float32)


def write_clips(folder: Path, seconds: list[float]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, s in enumerate(seconds):
        path = folder / f"clip{i}.wav"
        sf.write(path, voice(s, seed=i, f0=120.0 + 40 * i), SR, subtype="FLOAT")
        paths.append(path)
    return paths


def batch(arrays: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    x, lengths = pad_batch(arrays)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(lengths)


def cached_model(encoder: str, **changes: Any) -> PretrainedSER:
    values = {"finetune_layers": TUNED, "finetune_from_cache": True, **HEAD, **changes}
    model = create_model("pretrained", N_CLASSES, encoder=encoder, **values)
    assert isinstance(model, PretrainedSER)
    return model


def tuned_names(model: PretrainedSER) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]


# -- 1. equivalence with fine-tuning on waveforms -----------------------------------------------
@pytest.mark.parametrize("layer_pooling", ["weighted_sum", "per_layer"])
def test_cached_finetune_matches_waveform_finetune(
    encoder: str, tmp_path: Path, layer_pooling: str
) -> None:
    torch.manual_seed(1)
    # The waveform model mixes the states the cached one does: k..L.
    wave = create_model(
        "pretrained",
        N_CLASSES,
        encoder=encoder,
        finetune_layers=TUNED,
        layers=list(range(K, LAYERS + 1)),
        layer_pooling=layer_pooling,
        **HEAD,
    )
    cached = cached_model(encoder, states_dtype="float32", layer_pooling=layer_pooling)
    assert wave.input_kind == "waveform" and cached.input_kind == "states"
    assert cached.state_indices == wave.state_indices == [1, 2, 3]
    assert cached.feature_config() == EncoderStatesConfig(encoder, "float32", (K,))
    assert not cached.has_fixed_summary
    assert cached.card()["mode"] == "fine-tune top 2 layer(s) on cached states of layer 1"
    # Same weights: move the top layers away from the pretrained ones first, then copy.
    with torch.no_grad():
        for name, p in wave.named_parameters():
            if name.startswith("encoder.") and p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    result = cached.load_state_dict(wave.state_dict(), strict=False)
    assert result.missing_keys == []
    assert tuned_names(cached) == tuned_names(wave)
    assert any(".layers.1." in n for n in tuned_names(cached))
    assert not any(".layers.0." in n for n in tuned_names(cached))

    # Layer-k states through the real feature path (the disk cache), float32.
    paths = write_clips(tmp_path / "clips", [1.0, 0.62, 0.37])
    store = FeatureCache(tmp_path / "cache")
    states = [store.get_or_compute(p, cached.feature_config()) for p in paths]
    assert [s.shape for s in states] == [(1, 32, 50), (1, 32, 31), (1, 32, 19)]
    x, lengths = batch(states)
    signals, samples = batch([read_signal(p, SR) for p in paths])

    y = torch.tensor([0, 2, 1])
    wave.train()
    cached.train()
    logits_wave = wave(signals, samples)
    logits_cached = cached(x, lengths)
    torch.testing.assert_close(logits_cached, logits_wave, atol=1e-4, rtol=1e-4)
    nn.functional.cross_entropy(logits_wave, y).backward()
    nn.functional.cross_entropy(logits_cached, y).backward()
    wave_params = dict(wave.named_parameters())
    for name, p in cached.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, name
            torch.testing.assert_close(p.grad, wave_params[name].grad, atol=1e-5, rtol=1e-3)
    # One step of each: SGD, whose update is linear in the gradient (Adam's first step is
    # lr·sign(g), which turns rounding noise in near-zero gradients into full-size steps).
    before = {n: p.detach().clone() for n, p in cached.named_parameters()}
    for model in (wave, cached):
        optimiser = torch.optim.SGD(model.param_groups(0.5))
        optimiser.step()
    for name, p in cached.named_parameters():
        torch.testing.assert_close(p, wave_params[name], atol=1e-5, rtol=1e-4)
        if name.startswith("encoder.encoder.layers.2."):
            assert not torch.equal(p, before[name]), name  # the step did move the layers
    assert {g["lr"] for g in cached.param_groups(0.5)} == {0.5, 0.5 * 0.1}


def test_run_layers_reproduces_the_encoder(encoder: str) -> None:
    """The wrapper's run_layers from state k gives forward's states k+1..L (padded batch)."""
    whisper = load_encoder(encoder)
    assert isinstance(whisper, WhisperEncoderWrapper)
    out = whisper.encode_batch([voice(0.9, 0), voice(0.4, 1)])
    for start in range(LAYERS):
        top, attentions = whisper.run_layers(out.hidden_states[:, start], start, out.lengths, True)
        assert top.shape[1] == LAYERS - start
        assert attentions is not None and len(attentions) == LAYERS - start
        torch.testing.assert_close(top, out.hidden_states[:, start + 1 :], atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="start"):
        whisper.run_layers(out.hidden_states[:, 0], LAYERS)


# -- 2. padding ------------------------------------------------------------------------------------
def test_a_clip_alone_and_in_a_padded_batch_give_the_same_logits(encoder: str) -> None:
    torch.manual_seed(0)
    model = cached_model(encoder).eval()
    config = model.feature_config()
    from ser_core.features import extract

    short, long = extract(config, voice(0.4, 3)), extract(config, voice(1.2, 4))
    with torch.no_grad():
        alone = model(*batch([short]))
        padded = model(*batch([long, short]))
    assert padded.shape == (2, N_CLASSES)
    torch.testing.assert_close(padded[1:], alone, atol=1e-5, rtol=1e-4)


# -- 3. save / load ------------------------------------------------------------------------------
def test_save_load_round_trip_stores_head_and_top_layers_only(encoder: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = cached_model(encoder, pooling="attentive_stats")
    from ser_core.features import extract

    states = [extract(model.feature_config(), voice(s, i)) for i, s in enumerate([0.8, 0.5])]
    x, lengths = batch(states)
    optimiser = torch.optim.AdamW(model.param_groups(1e-2))
    model.train()
    for _ in range(2):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x, lengths), torch.tensor([0, 1])).backward()
        optimiser.step()
    model.eval().save_pretrained(tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["config"]["finetune_from_cache"] is True
    assert config["config"]["layers"] == [K]
    weights = tmp_path / "ckpt" / "model.safetensors"
    with safe_open(str(weights), framework="pt") as handle:
        keys = set(handle.keys())
        stored = sum(handle.get_tensor(k).numel() for k in keys)
    prefixes = ("head.", "encoder.encoder.layer_norm.")
    prefixes += tuple(f"encoder.encoder.layers.{i}." for i in range(K, LAYERS))
    assert all(k.startswith(prefixes) for k in keys), sorted(keys)
    assert any(k.startswith("encoder.encoder.layers.1.") for k in keys)
    trained = {n: p for n, p in model.state_dict().items() if n.startswith(prefixes)}
    assert stored == sum(t.numel() for t in trained.values())
    assert weights.stat().st_size < 4 * stored + 20_000  # float32 tensors + a small header
    below = sum(p.numel() for n, p in model.named_parameters() if not n.startswith(prefixes))
    assert below > 0.5 * stored  # what a checkpoint with the frozen encoder would add

    loaded = load_model(tmp_path / "ckpt")
    assert isinstance(loaded, PretrainedSER) and loaded.from_cache
    assert loaded.feature_config() == model.feature_config()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, lengths), model(x, lengths), atol=0, rtol=0)
    # explanations run in this mode: head relevance over the frames, rollout for a signal
    maps = loaded.explain(x, lengths)
    assert maps.shape == (2, x.shape[-1])
    assert np.all(maps[1, int(lengths[1]) :] == 0)
    explanation = loaded.explain_signal(voice(0.5, 1))
    assert explanation.frame_map.shape == (int(lengths[1]),)
    assert np.isfinite(explanation.frame_map).all() and explanation.frame_map.max() == 1
    assert explanation.layer_weights.shape == (TUNED + 1,)
    with torch.no_grad():
        direct = loaded.predict_proba(x[1:2, :, :, : int(lengths[1])])
    np.testing.assert_allclose(explanation.probabilities, direct[0].numpy(), atol=1e-3)


def test_other_encoders_and_bad_layers_are_refused(encoder: str, tmp_path: Path) -> None:
    import transformers as tf

    folder = tmp_path / "w2v"
    tf.Wav2Vec2Model(
        tf.Wav2Vec2Config(
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
            conv_dim=(8,) * 7,
            num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2,
        )
    ).save_pretrained(folder)
    with pytest.raises(ValueError, match="Whisper encoders only"):
        cached_model(f"hf:{folder}", finetune_layers=1)
    with pytest.raises(ValueError, match="needs finetune_layers > 0"):
        cached_model(encoder, finetune_layers=0)
    with pytest.raises(ValueError, match="must hold state 1"):
        cached_model(encoder, layers=[0, 2])
    lower = cached_model(encoder, layers=[0, 1])  # a lower cached state mixed too
    assert lower.state_indices == [0, 1, 2, 3]
    assert lower.feature_config().layers == (0, 1)


# -- 4. the cache derives layer subsets ------------------------------------------------------------
def test_cache_cuts_layer_subsets_out_of_all_layer_entries(
    encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (path,) = write_clips(tmp_path / "clips", [0.7])
    store = FeatureCache(tmp_path / "cache")
    full = EncoderStatesConfig(encoder, layers="all")
    subset = EncoderStatesConfig(encoder, layers=(K,))
    assert full.derived_from() is None
    assert subset.derived_from()[0] == full  # type: ignore[index]
    copies = [(1.0, 0), (1.1, 0), (1.0, 1)]  # plain, speed and channel copies
    arrays = {c: store.get_or_compute(path, full, speed=c[0], channel=c[1]) for c in copies}
    assert store.misses == 3
    store.reset_stats()

    def no_encoder(*args: Any, **kwargs: Any) -> np.ndarray:
        raise AssertionError("the encoder ran")

    monkeypatch.setattr(cache_module, "extract", no_encoder)
    for (speed, channel), array in arrays.items():
        cut = store.get_or_compute(path, subset, speed=speed, channel=channel)
        np.testing.assert_array_equal(cut, array[K : K + 1])
        assert cut.dtype == np.float16 and cut.flags["C_CONTIGUOUS"]
    assert (store.hits, store.misses, store.derived) == (3, 0, 3)
    # stored under its own key: found again without the all-layer entries
    store.clear(full)
    np.testing.assert_array_equal(store.get_or_compute(path, subset), arrays[(1.0, 0)][K : K + 1])
    assert store.derived == 3
    # another dtype is not a slice of the float16 entries: it is computed
    with pytest.raises(AssertionError, match="the encoder ran"):
        store.get_or_compute(path, EncoderStatesConfig(encoder, dtype="float32", layers=(K,)))


# -- 5. the trainer -------------------------------------------------------------------------------
def test_one_epoch_through_the_trainer_trains_the_layers(encoder: str, tmp_path: Path) -> None:
    from ser_core.inference import load_predictor
    from ser_core.training import TrainConfig, train
    from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus

    corpus: pd.DataFrame = synthetic_manifest(
        write_synthetic_corpus(tmp_path / "synth", speakers=4, per_speaker=2)
    )
    config = TrainConfig(
        model="pretrained",
        # per_layer: a frozen head would train on fixed layer statistics; this one must not.
        model_config={
            "encoder": encoder,
            "finetune_layers": 1,
            "finetune_from_cache": True,
            "layer_pooling": "per_layer",
            "hidden": [16],
            "encoder_lr_scale": 1.0,
        },
        corpora=["synth"],
        epochs=1,
        lr=1e-2,
        progress=False,
        batch_size=8,
        patience=0,
        num_threads=1,
    )
    result = train(config, tmp_path / "ckpt", manifest=corpus)
    model = result.model
    assert isinstance(model, PretrainedSER) and model.from_cache and not model.has_fixed_summary
    saved = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert saved["feature_config"]["layers"] == [LAYERS - 1]
    pretrained = load_encoder(encoder)
    assert isinstance(pretrained, WhisperEncoderWrapper)
    top = dict(pretrained.encoder.layers[LAYERS - 1].named_parameters())
    changed = [
        name
        for name, p in model.encoder.encoder.layers[LAYERS - 1].named_parameters()  # type: ignore[union-attr]
        if not torch.equal(p, top[name])
    ]
    assert len(changed) == len(top), f"unchanged: {sorted(set(top) - set(changed))}"
    predictor = load_predictor(tmp_path / "ckpt")
    probabilities = predictor.predict_file(corpus["path"].iloc[0]).probabilities
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
