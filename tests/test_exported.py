"""The torch-free exported pipeline: a Whisper head exported to ONNX, run with the encoder's
ONNX graph (same probabilities as the torch predictor, no torch import, refused where it does
not apply)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ser_core.encoders import WHISPER_SOURCES
from ser_core.encoders.onnx_runtime import onnx_runtime_available
from ser_core.errors import AudioInputError, CheckpointError
from ser_core.inference import load_predictor
from ser_core.inference.exported import ExportedPredictor, export_head, exportable

NAME = "whisper_tiny"

pytestmark = [
    pytest.mark.skipif(
        not WHISPER_SOURCES[NAME].weights_installed(), reason=f"{NAME} weights not installed"
    ),
    pytest.mark.skipif(not onnx_runtime_available(), reason="pip install onnx onnxruntime"),
]


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    from ser_core.app_support.samples import synthetic_vowel

    return synthetic_vowel(seconds, 140.0 + 20 * seed, 110.0, vibrato_depth=0.05, seed=seed)


@pytest.fixture(
    scope="module",
    params=[
        {"layer_pooling": "per_layer"},  # the shipped heads' layout
        {"pooling": "attentive_stats", "proj_dim": 64, "standardize": True, "hidden": [32]},
        {"layer_pooling": "per_layer", "trim_db": 40.0},  # the encoder sees the speech only
    ],
    ids=["per_layer", "attentive", "trimmed"],
)
def head(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """An untrained whisper_tiny head with non-trivial standardiser statistics, saved."""
    import torch

    from ser_core.models import create_model

    torch.manual_seed(0)
    model = create_model(NAME, 3, **request.param)
    model.labels = ["calm", "loud", "sad"]
    standardize = model.head.standardize
    standardize.running_mean.normal_(0, 0.5)
    standardize.running_var.uniform_(0.5, 2.0)
    folder = tmp_path_factory.mktemp("exported") / "head"
    model.save_pretrained(folder)
    return folder


def test_exported_pipeline_gives_the_torch_probabilities(head: Path) -> None:
    predictor = load_predictor(head)
    with pytest.raises(CheckpointError, match="not exported yet"):
        ExportedPredictor.from_checkpoint(head)
    out = export_head(predictor)
    exported = ExportedPredictor.from_checkpoint(head)
    assert exported.labels == predictor.labels and exported.model_name == NAME
    quiet = np.zeros(8000, np.float32)
    for seconds, rate in ((0.3, 16000), (3.0, 16000), (2.0, 44100), (12.5, 16000), (1.5, 0)):
        signal = _speech(seconds, seed=int(seconds))
        if rate == 0:  # half a second of silence on either side (trimmed by some heads)
            signal, rate = np.concatenate([quiet, signal, quiet]), 16000
        if rate != 16000:
            signal = np.interp(
                np.arange(int(seconds * rate)) * 16000 / rate, np.arange(signal.size), signal
            ).astype(np.float32)
        torch_p = predictor.predict_signal(signal, rate)
        onnx_p = exported.predict_signal(signal, rate)
        assert onnx_p.label == torch_p.label
        diff = max(abs(onnx_p.probabilities[k] - torch_p.probabilities[k]) for k in exported.labels)
        assert diff < 1e-4, (seconds, rate, diff)
    stamp = (out / "head.onnx").stat().st_mtime_ns
    assert export_head(predictor) == out
    assert (out / "head.onnx").stat().st_mtime_ns == stamp  # up to date: not exported again


def test_bad_and_long_input_are_refused_clearly(head: Path) -> None:
    export_head(load_predictor(head))
    exported = ExportedPredictor.from_checkpoint(head)
    with pytest.raises(AudioInputError):
        exported.predict_signal(np.zeros(16000, np.float32), 16000)  # silence
    with pytest.raises(AudioInputError):
        exported.predict_signal(np.full(16000, np.nan, np.float32), 16000)
    assert not exported.supports(25.0)
    with pytest.raises(AudioInputError, match="windows"):
        exported.predict_signal(_speech(25.0), 16000)


def test_a_changed_checkpoint_is_not_taken_for_its_old_export(head: Path, tmp_path: Path) -> None:
    export_head(load_predictor(head))
    changed = tmp_path / "changed"
    changed.mkdir()
    for item in head.iterdir():
        (changed / item.name).write_bytes(item.read_bytes())
    config = json.loads((changed / "config.json").read_text())
    config["labels"] = ["a", "b", "c"]
    (changed / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="not exported yet"):
        ExportedPredictor.from_checkpoint(changed)


def test_only_frozen_unadapted_packaged_whisper_heads_are_exportable(head: Path) -> None:
    config = json.loads((head / "config.json").read_text())
    assert exportable(config) is None
    for change, reason in (
        ({"speaker_adapted": True}, "speaker-adapted"),
        ({"finetune_layers": 2}, "fine-tunes"),
        ({"encoder": "hf:/models/wavlm"}, "no ONNX export"),
        ({"features": "log_mel"}, "frozen encoder states"),
    ):
        changed = {**config, "config": {**config["config"], **change}}
        assert reason in str(exportable(changed))


def test_exported_pipeline_predicts_without_importing_torch(head: Path) -> None:
    export_head(load_predictor(head))
    script = (
        "import sys, numpy as np\n"
        "from ser_core.inference.exported import ExportedPredictor\n"
        f"p = ExportedPredictor.from_checkpoint({str(head)!r})\n"
        "x = np.random.default_rng(0).normal(0, 0.1, 48000).astype('float32')\n"
        "print(p.predict_signal(x, 16000).label, 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ},
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    label, imported = out.stdout.split()
    assert label in ("calm", "loud", "sad")
    assert imported == "False", "the exported pipeline imported torch"
