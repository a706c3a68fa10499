"""A Whisper-head checkpoint exported whole to ONNX, predicting without torch.

Why: importing torch takes about 2 s on this CPU, most of what a cold start or a one-shot
``ser predict`` waits for. A frozen head on a packaged Whisper encoder is two graphs: the
encoder's (already exported, :mod:`ser_core.encoders.onnx_runtime`) and the head's, exported here
once per checkpoint version (:func:`export_head`, needs torch) into the cache. With both,
:class:`ExportedPredictor` goes audio → numpy log-mel → encoder graph → head graph → probabilities
with numpy and ONNX Runtime only, giving the torch :class:`~ser_core.inference.Predictor`'s
probabilities (tests check them within 1e-3).

It predicts whole clips up to :data:`~ser_core.inference.results.LONG_AUDIO_SECONDS`; windows,
explanations, speaker adaptation and training stay with the torch predictor.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ser_core.audio import DEFAULT_LIMITS, AudioLimits, read_audio
from ser_core.errors import CheckpointError
from ser_core.features import EncoderStatesConfig, config_from_dict
from ser_core.features.encoder_states import select_states
from ser_core.inference.checkpoint import read_config, resolve_checkpoint
from ser_core.inference.results import LONG_AUDIO_SECONDS, Prediction
from ser_core.paths import cache_dir

if TYPE_CHECKING:
    from ser_core.encoders.onnx_runtime import WhisperGraphs
    from ser_core.inference.predictor import Predictor

__all__ = ["HEAD_FORMAT", "ExportedPredictor", "export_head", "exportable"]

#: Tag written into ``head.json``; bump it when the export changes.
HEAD_FORMAT = "ser_core.head_onnx.v1"
HEAD_FILE = "head.onnx"
HEAD_META = "head.json"
#: Encoders with an ONNX export (the packaged Whisper encoders).
PACKAGED_ENCODERS = ("whisper_base", "whisper_tiny")


def exportable(config: dict[str, Any]) -> str | None:
    """Why a checkpoint's ``config.json`` cannot be exported, or None when it can."""
    model = config.get("config") or {}
    if model.get("features") != "encoder_states":
        return "the model does not take frozen encoder states"
    if model.get("encoder") not in PACKAGED_ENCODERS:
        return f"its encoder {model.get('encoder')!r} has no ONNX export"
    if int(model.get("finetune_layers") or 0) > 0:
        return "it fine-tunes encoder layers"
    if model.get("speaker_adapted"):
        return "it is speaker-adapted (needs an enrolment)"
    return None


def _digest(folder: Path) -> str:
    """Content digest of a checkpoint's weights and config: the export's cache key."""
    sha = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        with open(folder / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
    return sha.hexdigest()[:20]


def _export_dir(folder: Path) -> Path:
    return cache_dir("exported", _digest(folder))


def export_head(predictor: Predictor) -> Path:
    """Export a loaded predictor's head to ONNX in the cache (once per checkpoint version).

    Returns:
        The export folder (``head.onnx`` + ``head.json``).

    Raises:
        CheckpointError: the checkpoint is not exportable (see :func:`exportable`) or has no
            folder.
    """
    import torch

    if predictor.folder is None:
        raise CheckpointError("only a predictor loaded from a checkpoint folder can be exported")
    reason = exportable(predictor.config)
    if reason is not None:
        raise CheckpointError(f"{predictor.folder} cannot be exported: {reason}")
    out = _export_dir(predictor.folder)
    if _fresh_meta(out) is not None:
        return out
    model = predictor.model.eval()
    feature = predictor.feature_config
    assert isinstance(feature, EncoderStatesConfig)

    class _Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, states: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.model(states).float(), dim=-1)

    layers = len(model.state_indices)
    example = torch.zeros(1, layers, int(model.config.encoder_dim), 50)
    fd, tmp = tempfile.mkstemp(dir=out, suffix=".onnx.tmp")
    os.close(fd)
    import warnings

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape checks turned constants
        torch.onnx.export(
            _Probabilities(),
            (example,),
            tmp,
            input_names=["states"],
            output_names=["probabilities"],
            dynamic_axes={"states": {3: "frames"}},
            opset_version=17,
            dynamo=False,
        )
    os.chmod(tmp, 0o644)
    os.replace(tmp, out / HEAD_FILE)
    meta = {
        "format": HEAD_FORMAT,
        "checkpoint": str(predictor.folder),
        "labels": predictor.labels,
        "model_name": predictor.model_name,
        "feature_config": feature.to_dict(),
        "min_length": int(predictor.pipeline.spec.min_length or 1),
    }
    fd, tmp = tempfile.mkstemp(dir=out, suffix=".json.tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(meta, handle, indent=2)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out / HEAD_META)
    return out


def _fresh_meta(out: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((out / HEAD_META).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("format") != HEAD_FORMAT or not (out / HEAD_FILE).is_file():
        return None
    return dict(meta)


class ExportedPredictor:
    """Predict whole clips with an exported checkpoint: numpy and ONNX Runtime, no torch.

    Load with :meth:`from_checkpoint`; ``predict_signal`` returns the same
    :class:`~ser_core.inference.results.Prediction` as the torch predictor.
    """

    def __init__(
        self, folder: Path, meta: dict[str, Any], graphs: WhisperGraphs, head: Any
    ) -> None:
        self.folder = folder
        self.labels: list[str] = list(meta["labels"])
        self.model_name = str(meta["model_name"])
        config = config_from_dict(meta["feature_config"])
        assert isinstance(config, EncoderStatesConfig)
        self.feature_config = config
        self.min_length = int(meta["min_length"])
        self.sample_rate = int(config.rate)
        self._graphs = graphs
        self._head = head

    @property
    def name(self) -> str:
        """The checkpoint folder's name."""
        return self.folder.name

    def __repr__(self) -> str:
        return f"ExportedPredictor({self.name!r}, model={self.model_name!r})"

    @classmethod
    def from_checkpoint(cls, path_or_name: str | os.PathLike[str]) -> ExportedPredictor:
        """The exported pipeline of a checkpoint (a folder or a name in ``checkpoints/``).

        Raises:
            CheckpointError: not exportable, or not exported yet (load it once with
                :func:`~ser_core.inference.load_predictor` and call :func:`export_head`).
        """
        from ser_core.encoders.onnx_runtime import WhisperGraphs, open_session, session_options

        folder = resolve_checkpoint(path_or_name)
        config = read_config(folder)
        reason = exportable(config)
        if reason is not None:
            raise CheckpointError(f"{folder} has no exported pipeline: {reason}")
        out = _export_dir(folder)
        meta = _fresh_meta(out)
        if meta is None:
            raise CheckpointError(
                f"{folder} is not exported yet: load it with load_predictor() and call "
                "export_head() on it"
            )
        encoder = str(config["config"]["encoder"])
        graphs = WhisperGraphs(cache_dir("encoders", encoder), encoder)
        head = open_session(out / HEAD_FILE, session_options())
        return cls(folder, meta, graphs, head)

    def supports(self, duration: float) -> bool:
        """Whether a clip this long (seconds) is predicted whole (longer ones are windowed)."""
        return duration <= LONG_AUDIO_SECONDS

    def predict_signal(
        self, signal: np.ndarray, sample_rate: int, limits: AudioLimits = DEFAULT_LIMITS
    ) -> Prediction:
        """Predict one clip (any rate: validated and resampled by ``read_audio``).

        Raises:
            AudioInputError: unusable audio, or a clip longer than :meth:`supports` allows.
        """
        clip = read_audio(signal, sample_rate, target_rate=self.sample_rate, limits=limits)
        started = time.perf_counter()
        if not self.supports(clip.duration):
            from ser_core.errors import AudioInputError

            raise AudioInputError(
                f"a {clip.duration:.0f} s clip is predicted in windows: use the torch Predictor",
                reason="too_long",
            )
        start, stop = self.feature_config.encoder_span(clip.signal)
        states = select_states(self.feature_config, self._graphs.encode(clip.signal[start:stop]))
        if states.shape[-1] < self.min_length:  # as the pipeline pads: repeat the last frame
            pad = [(0, 0)] * (states.ndim - 1) + [(0, self.min_length - states.shape[-1])]
            states = np.pad(states, pad, mode="edge")
        (proba,) = self._head.run(None, {"states": states[None].astype(np.float32)})
        row = np.asarray(proba[0], dtype=np.float64)
        return Prediction(
            label=self.labels[int(np.argmax(row))],
            probabilities={label: float(p) for label, p in zip(self.labels, row, strict=True)},
            latency=time.perf_counter() - started,
            duration=clip.duration,
            source=clip.source,
        )
