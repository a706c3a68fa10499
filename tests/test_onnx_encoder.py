"""The packaged Whisper encoders on ONNX Runtime: same states and attentions as the torch
encoder, export cached and refreshed, the default for frozen inference, no transformers import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ser_core.encoders import WHISPER_SOURCES, load_encoder, load_whisper_encoder, onnx_whisper
from ser_core.encoders.whisper import _mel_filters, converted_whisper_dir
from ser_core.errors import AudioInputError, CheckpointError
from ser_core.features.encoder_states import cached_encoder, clear_encoder_cache

SR = 16_000
NAME = "whisper_tiny"


pytestmark = [
    pytest.mark.skipif(
        not WHISPER_SOURCES[NAME].weights_installed(), reason=f"{NAME} weights not installed"
    ),
    pytest.mark.skipif(
        not onnx_whisper.onnx_runtime_available(), reason="pip install onnx onnxruntime"
    ),
]


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    from ser_core.app_support.samples import synthetic_vowel

    return synthetic_vowel(seconds, 150.0, 110.0, vibrato_depth=0.05, level=0.4, seed=seed)


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


@pytest.fixture(scope="module")
def encoders(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[torch.nn.Module, onnx_whisper.OnnxWhisperEncoder]]:
    with pytest.MonkeyPatch.context() as patch:  # the session's cache, as conftest sets it
        patch.setenv("SER_CACHE", str(tmp_path_factory.getbasetemp() / "ser_cache"))
        yield load_whisper_encoder(NAME), onnx_whisper.load_onnx_whisper_encoder(NAME)


@pytest.mark.parametrize("seconds", [0.05, 1.0, 3.3, 7.0])
def test_states_match_the_torch_encoder_at_any_length(encoders, seconds: float) -> None:  # type: ignore[no-untyped-def]
    torch_encoder, onnx_encoder = encoders
    clip = _speech(seconds)
    expected, got = torch_encoder.encode(clip), onnx_encoder.encode(clip)
    assert (
        got.shape
        == expected.shape
        == (5, torch_encoder.output_lengths(torch.tensor(len(clip) // 160)).item(), 384)
    )
    assert float(_cos(got, expected).min()) > 0.9999
    assert float((got - expected).abs().max()) < 0.05


def test_padded_batch_and_attentions_match(encoders) -> None:  # type: ignore[no-untyped-def]
    torch_encoder, onnx_encoder = encoders
    clips = [_speech(2.0, seed=1), _speech(0.7, seed=2)]
    expected = torch_encoder.encode_batch(clips, output_attentions=True)
    got = onnx_encoder.encode_batch(clips, output_attentions=True)
    assert torch.equal(got.lengths, expected.lengths)
    assert got.hidden_states.shape == expected.hidden_states.shape
    assert got.attentions is not None and expected.attentions is not None
    for i in range(2):
        assert float(_cos(got.clip(i), expected.clip(i)).min()) > 0.9999
        t = int(expected.lengths[i])
        for a, b in zip(got.attentions, expected.attentions, strict=True):
            assert float((a[i, :, :t, :t] - b[i, :, :t, :t]).abs().max()) < 1e-3
    # Padded frames are zero, as the torch encoder masks them.
    assert float(got.hidden_states[1, :, int(got.lengths[1]) :].abs().max()) == 0.0


def test_long_clip_in_30s_windows_and_bad_input(encoders) -> None:  # type: ignore[no-untyped-def]
    torch_encoder, onnx_encoder = encoders
    clip = np.tile(_speech(3.1), 11)[: 34 * SR]
    got, expected = onnx_encoder.encode(clip), torch_encoder.encode(clip)
    assert got.shape == expected.shape == (5, 1500 + 200, 384)
    assert float(_cos(got, expected).min()) > 0.9999
    with pytest.raises(AudioInputError):
        onnx_encoder.encode(np.full(SR, np.nan, dtype=np.float32))


def test_export_is_reused_and_redone_when_the_weights_change(encoders) -> None:  # type: ignore[no-untyped-def]
    folder = converted_whisper_dir(NAME)
    graph = folder / onnx_whisper.STATES_FILE
    stamp = graph.stat().st_mtime_ns
    onnx_whisper.load_onnx_whisper_encoder(NAME)
    assert graph.stat().st_mtime_ns == stamp  # fresh: not exported again
    meta_file = folder / onnx_whisper.META_FILE
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "weights_source": "another version"}))
    with pytest.raises(CheckpointError, match="no up-to-date ONNX export"):
        onnx_whisper.OnnxWhisperEncoder(folder, NAME)
    onnx_whisper.load_onnx_whisper_encoder(NAME)
    assert json.loads(meta_file.read_text()) == meta
    assert graph.stat().st_mtime_ns != stamp


def test_runtime_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(onnx_whisper.RUNTIME_ENV, "torch")
    assert onnx_whisper.preferred_runtime() == "torch"
    monkeypatch.setenv(onnx_whisper.RUNTIME_ENV, "auto")
    assert onnx_whisper.preferred_runtime() == "onnx"
    monkeypatch.setenv(onnx_whisper.RUNTIME_ENV, "gpu")
    with pytest.raises(ValueError, match="auto, onnx or torch"):
        onnx_whisper.preferred_runtime()
    with pytest.raises(ValueError, match="runtime"):
        load_encoder(NAME, runtime="tensorrt")


def test_cached_encoder_runs_onnx_by_default_and_torch_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear_encoder_cache()
    try:
        monkeypatch.delenv(onnx_whisper.RUNTIME_ENV, raising=False)
        assert isinstance(cached_encoder(NAME), onnx_whisper.OnnxWhisperEncoder)
        clear_encoder_cache()
        monkeypatch.setenv(onnx_whisper.RUNTIME_ENV, "torch")
        assert not isinstance(cached_encoder(NAME), onnx_whisper.OnnxWhisperEncoder)
    finally:
        clear_encoder_cache()


def test_a_failed_export_falls_back_to_torch_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str, rebuild: bool = False) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.delenv(onnx_whisper.RUNTIME_ENV, raising=False)
    monkeypatch.setattr(onnx_whisper, "load_onnx_whisper_encoder", broken)
    clear_encoder_cache()
    try:
        with pytest.warns(RuntimeWarning, match="exporter exploded"):
            encoder = cached_encoder(NAME)
        assert not isinstance(encoder, onnx_whisper.OnnxWhisperEncoder)
    finally:
        clear_encoder_cache()


def test_the_mel_filterbank_is_saved_with_the_export(encoders) -> None:  # type: ignore[no-untyped-def]
    """Loading reads the saved filterbank (librosa's filters import scipy.signal, ~1.5 s); a
    missing or damaged file is recomputed and rewritten."""
    folder = converted_whisper_dir(NAME)
    path = folder / onnx_whisper.MEL_FILTERS_FILE.format(n_mels=80)
    reference = _mel_filters(80)
    assert path.is_file()
    assert torch.equal(torch.from_numpy(np.load(path)), reference)
    path.write_bytes(b"not an array")
    assert torch.equal(onnx_whisper.OnnxWhisperEncoder(folder, NAME).mel_filters, reference)
    assert np.load(path).shape == (80, 201)


def test_predicting_with_a_whisper_head_never_imports_transformers(tmp_path: Path) -> None:
    """What keeps the app's cold start short: an ONNX encoder, the saved filterbank and a saved
    head; neither transformers nor scipy.signal is imported."""
    from ser_core.models import create_model

    onnx_whisper.load_onnx_whisper_encoder(NAME)  # exported in this test process, not there
    model = create_model("whisper_tiny", 2)
    model.labels = ["calm", "loud"]
    folder = tmp_path / "head"
    model.save_pretrained(folder)
    script = (
        "import sys, numpy as np\n"
        "from ser_core.inference import load_predictor\n"
        f"p = load_predictor({str(folder)!r})\n"
        "r = p.predict_signal(np.random.default_rng(0).normal(0, 0.1, 48000).astype('float32'),"
        " 16000)\n"
        "e = p.explain(np.random.default_rng(1).normal(0, 0.1, 48000).astype('float32'), 16000)\n"
        "print(r.label, e.map.shape, 'scipy.signal' in sys.modules,"
        " 'transformers' in sys.modules)\n"
    )
    env = {**os.environ}
    env.pop(onnx_whisper.RUNTIME_ENV, None)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    label, *_, scipy_signal, imported = out.stdout.split()
    assert label in ("calm", "loud")
    assert scipy_signal == "False", "loading a Whisper head imported scipy.signal"
    assert imported == "False", "loading a Whisper head imported transformers"
