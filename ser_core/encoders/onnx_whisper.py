"""The packaged Whisper encoders exported to ONNX and run with ONNX Runtime (the default at
inference).

Why: loading it needs neither ``transformers`` (about 3 s of imports) nor the conversion code,
so a Whisper head loads about three times faster (the app's cold start), and on this 2-core CPU
it encodes a 3 s clip about a fifth faster than eager PyTorch. The graphs are
exported once from the converted torch encoder (:func:`export_whisper_onnx`) into the same cache
folder, next to ``model.safetensors``, and reused while that cache is unchanged.

Two graphs, both for one clip at its own length (the time axis is dynamic):

- ``encoder.onnx``: log-mel ``(1, n_mels, frames)`` → hidden states ``(layers + 1, T, dim)``;
- ``encoder_attentions.onnx``: the same plus every layer's attention probabilities
  ``(layers, heads, T, T)``, for explanations (attention rollout).

A batch is run clip by clip, which gives exactly what the torch encoder gives a padded batch
(it masks padding so that each clip comes out as if encoded alone). Training and fine-tuning
always use the torch encoder. ``SER_ENCODER_RUNTIME=torch`` turns this off.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ser_core.encoders.base import EncoderOutput, SpeechEncoder, as_signal
from ser_core.encoders.whisper import (
    N_FFT,
    WhisperEncoderWrapper,
    WhisperFrontEnd,
    _cache_metadata,
    _mel_filters,
)
from ser_core.errors import CheckpointError

__all__ = [
    "ONNX_FORMAT",
    "RUNTIME_ENV",
    "OnnxWhisperEncoder",
    "export_whisper_onnx",
    "load_onnx_whisper_encoder",
    "onnx_runtime_available",
    "preferred_runtime",
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


class _Graph(torch.nn.Module):
    """What gets exported: one clip's log-mel → stacked hidden states (and attentions)."""

    def __init__(self, encoder: WhisperEncoderWrapper, attentions: bool) -> None:
        super().__init__()
        self.encoder = encoder
        self.attentions = attentions

    def forward(self, mel: torch.Tensor) -> Any:
        out = self.encoder(mel, None, output_attentions=self.attentions)
        if not self.attentions:
            return out.hidden_states[0]
        assert out.attentions is not None
        return out.hidden_states[0], torch.stack([a[0] for a in out.attentions])


def _metadata(folder: Path, encoder: WhisperEncoderWrapper | None = None) -> dict[str, Any]:
    """What ties the graphs to the converted weights they were exported from."""
    weights = _cache_metadata(folder / "model.safetensors")
    meta: dict[str, Any] = {
        "format": ONNX_FORMAT,
        "weights_format": weights.get("format", ""),
        "weights_source": weights.get("source", ""),
        "weights_size": (folder / "model.safetensors").stat().st_size,
    }
    if encoder is not None:
        meta.update(
            n_mels=encoder.n_mels,
            num_layers=encoder.num_layers,
            hidden_size=encoder.hidden_size,
            num_heads=encoder.num_heads,
            max_mel_frames=encoder.max_mel_frames,
        )
    return meta


def _fresh(folder: Path) -> dict[str, Any] | None:
    """The graphs' metadata when both graphs exist and match the cached weights, else None."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
        current = _metadata(folder)
    except (OSError, ValueError):
        return None
    if not all((folder / name).is_file() for name in (STATES_FILE, ATTENTIONS_FILE)):
        return None
    if any(meta.get(key) != value for key, value in current.items()):
        return None
    return dict(meta)


def export_whisper_onnx(encoder: WhisperEncoderWrapper, folder: str | Path) -> Path:
    """Export ``encoder`` (the one converted into ``folder``) to its two ONNX graphs there.

    Written under temporary names and renamed, metadata last, so a half-written export is never
    taken for a complete one. Returns ``folder``.
    """
    import warnings

    folder = Path(folder)
    encoder = encoder.eval()
    example = encoder.log_mel(torch.zeros(16_000))[None]
    for attentions, name in ((False, STATES_FILE), (True, ATTENTIONS_FILE)):
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".onnx.tmp")
        os.close(fd)
        outputs = ["states", "attentions"] if attentions else ["states"]
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about shape checks in Python
            torch.onnx.export(
                _Graph(encoder, attentions),
                (example,),
                tmp,
                input_names=["mel"],
                output_names=outputs,
                dynamic_axes={"mel": {2: "frames"}},
                opset_version=17,
                dynamo=False,  # the TorchScript exporter: no onnxscript needed, dynamic time
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / name)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".json.tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(_metadata(folder, encoder), handle, indent=2, sort_keys=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, folder / META_FILE)
    return folder


class OnnxWhisperEncoder(WhisperFrontEnd, SpeechEncoder):
    """A packaged Whisper encoder run by ONNX Runtime; the same inputs and outputs as
    :class:`~ser_core.encoders.whisper.WhisperEncoderWrapper` (inference only, no gradients).

    Args:
        folder: the converted encoder's cache folder holding the exported graphs.
        name: the encoder's registry name.
        threads: ONNX Runtime intra-op threads (default: ``torch.get_num_threads()``).

    Raises:
        CheckpointError: the graphs are missing, stale or unreadable.
    """

    def __init__(self, folder: str | Path, name: str, threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort

        self.folder = Path(folder)
        meta = _fresh(self.folder)
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
        self.mel_filters = _saved_mel_filters(self.folder, self.n_mels)
        self._options = ort.SessionOptions()
        self._options.intra_op_num_threads = threads or torch.get_num_threads()
        self._options.inter_op_num_threads = 1
        self._options.log_severity_level = 3  # warnings about unused initialisers are noise
        # Idle worker threads must not spin: torch runs the head right after on the same cores.
        self._options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._session(STATES_FILE)  # fail now, not at the first clip

    def _session(self, file: str) -> Any:
        """The ONNX Runtime session of one graph, created on first use (thread-safe to run)."""
        with self._lock:
            session = self._sessions.get(file)
            if session is None:
                import onnxruntime as ort

                try:
                    session = ort.InferenceSession(
                        str(self.folder / file), self._options, providers=["CPUExecutionProvider"]
                    )
                except Exception as error:
                    raise CheckpointError(
                        f"ONNX Runtime cannot read {self.folder / file} ({error}); delete the "
                        "folder to rebuild it"
                    ) from error
                self._sessions[file] = session
            return session

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def _run(self, mel: torch.Tensor, attentions: bool) -> list[np.ndarray]:
        session = self._session(ATTENTIONS_FILE if attentions else STATES_FILE)
        feed = {"mel": np.ascontiguousarray(mel.detach().cpu().numpy(), dtype=np.float32)}
        return list(session.run(None, feed))

    def forward(  # type: ignore[override]
        self,
        mel: torch.Tensor,
        lengths: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> EncoderOutput:
        """Every hidden state of a padded log-mel batch, each clip run at its own length."""
        lengths = self.mel_lengths(mel.cpu(), lengths)
        batch, _, frames = mel.shape
        out_lengths = self.output_lengths(lengths)
        steps = (frames - 1) // 2 + 1
        states = torch.zeros(batch, self.num_layers + 1, steps, self.hidden_size)
        # (T x T per head and layer: only allocated when asked for.)
        maps = (
            torch.zeros(batch, self.num_layers, self.num_heads, steps, steps)
            if output_attentions
            else None
        )
        for i in range(batch):
            n, t = int(lengths[i]), int(out_lengths[i])
            results = self._run(mel[i : i + 1, :, :n], output_attentions)
            states[i, :, :t] = torch.from_numpy(results[0])
            if maps is not None:
                maps[i, :, :, :t, :t] = torch.from_numpy(results[1])
        attentions = None if maps is None else tuple(maps.unbind(1))
        return EncoderOutput(states, out_lengths, attentions)

    def encode(self, signal: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Hidden states ``(num_layers + 1, frames, hidden_size)`` of one clip; clips over 30 s
        are encoded in consecutive 30 s windows, as the torch encoder does."""
        samples = as_signal(signal, self.min_samples)
        parts = [
            torch.from_numpy(self._run(self.log_mel(piece)[None], False)[0])
            for piece in self.windows(samples)
        ]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _saved_mel_filters(folder: Path, n_mels: int) -> torch.Tensor:
    """Whisper's mel filterbank from ``folder``, computed (and saved when writable) the first
    time."""
    path = folder / MEL_FILTERS_FILE.format(n_mels=n_mels)
    expected = (n_mels, N_FFT // 2 + 1)
    try:
        saved = np.load(path, allow_pickle=False)
        if saved.shape == expected and saved.dtype == np.float32:
            return torch.from_numpy(saved)
    except (OSError, ValueError):
        pass
    filters = _mel_filters(n_mels)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, filters.numpy(), allow_pickle=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: compute it at every load instead
    return filters


def load_onnx_whisper_encoder(name: str, rebuild: bool = False) -> OnnxWhisperEncoder:
    """The packaged encoder ``name`` on ONNX Runtime, exporting it first when needed.

    The export (once per converted cache, ~5 s) loads the torch encoder, which imports
    ``transformers``; later loads read only the graphs.

    Raises:
        CheckpointError: unknown name or weights not installed (as for the torch encoder).
    """
    from ser_core.encoders.whisper import converted_whisper_dir

    folder = converted_whisper_dir(name, rebuild=rebuild)
    if rebuild or _fresh(folder) is None:
        from ser_core.encoders.whisper import load_whisper_encoder

        export_whisper_onnx(load_whisper_encoder(name), folder)
    return OnnxWhisperEncoder(folder, name)
