"""Running the packaged Whisper encoders' ONNX exports without torch.

:mod:`~ser_core.encoders.onnx_whisper` exports the graphs (that needs torch) and wraps them as a
:class:`~ser_core.encoders.base.SpeechEncoder`; this module only reads and runs them, with numpy
and ONNX Runtime, so the exported pipeline (:mod:`ser_core.inference.exported`) predicts without
importing torch (about 2 s of a cold start here).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ser_core.encoders.mel import HOP_LENGTH, N_FFT, log_mel, mono_signal, slaney_mel_filters
from ser_core.errors import CheckpointError

__all__ = [
    "ATTENTIONS_FILE",
    "META_FILE",
    "ONNX_FORMAT",
    "RUNTIME_ENV",
    "STATES_FILE",
    "WhisperGraphs",
    "fresh_export",
    "onnx_runtime_available",
    "preferred_runtime",
    "safetensors_metadata",
    "session_options",
]

#: Tag written into ``onnx.json``; bump it when the export changes.
ONNX_FORMAT = "ser_core.whisper_onnx.v1"
#: ``auto`` (default: ONNX Runtime when installed), ``onnx`` or ``torch``.
RUNTIME_ENV = "SER_ENCODER_RUNTIME"
STATES_FILE = "encoder.onnx"
ATTENTIONS_FILE = "encoder_attentions.onnx"
META_FILE = "onnx.json"
#: The log-mel filterbank, saved so loading skips librosa (its filters import scipy.signal, ~1.5 s).
MEL_FILTERS_FILE = "mel_filters_{n_mels}.npy"


def onnx_runtime_available() -> bool:
    """Whether ``onnxruntime`` (to run) and ``onnx`` (to export) are installed (not imported:
    ``onnx`` alone takes most of a second)."""
    from importlib.util import find_spec

    return all(find_spec(module) is not None for module in ("onnx", "onnxruntime"))


def preferred_runtime() -> str:
    """``"onnx"`` or ``"torch"``: what frozen packaged encoders run on (``$SER_ENCODER_RUNTIME``).

    Raises:
        ValueError: an unknown value in the environment variable.
    """
    choice = os.environ.get(RUNTIME_ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "onnx", "torch"):
        raise ValueError(f"{RUNTIME_ENV} must be auto, onnx or torch, not {choice!r}")
    if choice == "auto":
        return "onnx" if onnx_runtime_available() else "torch"
    return choice


def safetensors_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file; {} when unreadable (a corrupt cache is then
    rebuilt)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            return dict(handle.metadata() or {})
    except Exception:
        return {}


def weights_metadata(folder: Path) -> dict[str, Any]:
    """What ties exported graphs to the converted weights in ``folder``."""
    weights = safetensors_metadata(folder / "model.safetensors")
    return {
        "format": ONNX_FORMAT,
        "weights_format": weights.get("format", ""),
        "weights_source": weights.get("source", ""),
        "weights_size": (folder / "model.safetensors").stat().st_size,
    }


def fresh_export(folder: Path) -> dict[str, Any] | None:
    """The graphs' metadata when both graphs exist and match the cached weights, else None."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
        current = weights_metadata(folder)
    except (OSError, ValueError):
        return None
    if not all((folder / name).is_file() for name in (STATES_FILE, ATTENTIONS_FILE)):
        return None
    if any(meta.get(key) != value for key, value in current.items()):
        return None
    return dict(meta)


def saved_mel_filters(folder: Path, n_mels: int) -> np.ndarray:
    """Whisper's mel filterbank from ``folder``, computed (and saved when writable) the first
    time."""
    path = folder / MEL_FILTERS_FILE.format(n_mels=n_mels)
    try:
        saved = np.load(path, allow_pickle=False)
        if saved.shape == (n_mels, N_FFT // 2 + 1) and saved.dtype == np.float32:
            return saved
    except (OSError, ValueError):
        pass
    filters = slaney_mel_filters(n_mels)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, filters, allow_pickle=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: compute it at every load instead
    return filters


def session_options(threads: int | None = None) -> Any:
    """ONNX Runtime options for this CPU: ``threads`` intra-op threads (default: all cores), no
    spinning (torch or the next graph runs right after on the same cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initialisers are noise
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(path: Path, options: Any) -> Any:
    """An ONNX Runtime CPU session of ``path``.

    Raises:
        CheckpointError: the graph is unreadable.
    """
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:
        raise CheckpointError(
            f"ONNX Runtime cannot read {path} ({error}); delete it to rebuild it"
        ) from error


class WhisperGraphs:
    """The exported graphs of one packaged Whisper encoder, run on numpy arrays.

    Args:
        folder: the converted encoder's cache folder holding the exported graphs.
        name: the encoder's registry name.
        threads: ONNX Runtime intra-op threads (default: all cores).

    Raises:
        CheckpointError: the graphs are missing, stale or unreadable.
    """

    min_samples = HOP_LENGTH

    def __init__(self, folder: str | Path, name: str, threads: int | None = None) -> None:
        self.folder = Path(folder)
        meta = fresh_export(self.folder)
        if meta is None:
            raise CheckpointError(
                f"no up-to-date ONNX export of {name} in {self.folder}; "
                "load it with cached_encoder() to export it"
            )
        self.name = name
        self.n_mels = int(meta["n_mels"])
        self.num_layers = int(meta["num_layers"])
        self.hidden_size = int(meta["hidden_size"])
        self.num_heads = int(meta["num_heads"])
        self.max_mel_frames = int(meta["max_mel_frames"])
        self.mel_filters = saved_mel_filters(self.folder, self.n_mels)
        self._options = session_options(threads)
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._session(STATES_FILE)  # fail now, not at the first clip

    def _session(self, file: str) -> Any:
        """The session of one graph, created on first use (sessions are thread-safe to run)."""
        with self._lock:
            session = self._sessions.get(file)
            if session is None:
                session = self._sessions[file] = open_session(self.folder / file, self._options)
            return session

    def run(self, mel: np.ndarray, attentions: bool = False) -> list[np.ndarray]:
        """States ``(layers + 1, T, dim)`` (and attentions ``(layers, heads, T, T)``) of one
        clip's log-mel ``(1, n_mels, frames)``."""
        session = self._session(ATTENTIONS_FILE if attentions else STATES_FILE)
        return list(session.run(None, {"mel": np.ascontiguousarray(mel, dtype=np.float32)}))

    def log_mel(self, signal: np.ndarray) -> np.ndarray:
        """Unpadded log-mel ``(n_mels, frames)`` of one clip."""
        return log_mel(signal, self.mel_filters, max_frames=self.max_mel_frames)

    def encode(self, signal: np.ndarray) -> np.ndarray:
        """Hidden states ``(num_layers + 1, frames, hidden_size)`` of one clip; clips over 30 s
        are encoded in consecutive 30 s windows (a last piece under 10 ms dropped).

        Raises:
            AudioInputError: see :func:`~ser_core.encoders.mel.mono_signal`.
        """
        samples = mono_signal(signal, self.min_samples)
        window = self.max_mel_frames * HOP_LENGTH
        pieces = [samples[i : i + window] for i in range(0, samples.size, window)]
        parts = [self.run(self.log_mel(p)[None])[0] for p in pieces if p.size >= self.min_samples]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
