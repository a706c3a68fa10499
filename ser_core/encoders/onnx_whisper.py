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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ser_core.encoders.base import EncoderOutput, SpeechEncoder, as_signal
from ser_core.encoders.onnx_runtime import (
    ATTENTIONS_FILE,
    MEL_FILTERS_FILE,
    META_FILE,
    ONNX_FORMAT,
    RUNTIME_ENV,
    STATES_FILE,
    WhisperGraphs,
    fresh_export,
    onnx_runtime_available,
    preferred_runtime,
    weights_metadata,
)
from ser_core.encoders.whisper import WhisperEncoderWrapper, WhisperFrontEnd

__all__ = [
    "ATTENTIONS_FILE",
    "MEL_FILTERS_FILE",
    "ONNX_FORMAT",
    "RUNTIME_ENV",
    "STATES_FILE",
    "OnnxWhisperEncoder",
    "export_whisper_onnx",
    "load_onnx_whisper_encoder",
    "onnx_runtime_available",
    "preferred_runtime",
]


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


def _metadata(folder: Path, encoder: WhisperEncoderWrapper) -> dict[str, Any]:
    """What ties the graphs to the converted weights, and the encoder's sizes."""
    return {
        **weights_metadata(folder),
        "n_mels": encoder.n_mels,
        "num_layers": encoder.num_layers,
        "hidden_size": encoder.hidden_size,
        "num_heads": encoder.num_heads,
        "max_mel_frames": encoder.max_mel_frames,
    }


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

    A torch face on :class:`~ser_core.encoders.onnx_runtime.WhisperGraphs`.

    Args:
        folder: the converted encoder's cache folder holding the exported graphs.
        name: the encoder's registry name.
        threads: ONNX Runtime intra-op threads (default: ``torch.get_num_threads()``).

    Raises:
        CheckpointError: the graphs are missing, stale or unreadable.
    """

    def __init__(self, folder: str | Path, name: str, threads: int | None = None) -> None:
        super().__init__()
        self.graphs = WhisperGraphs(folder, name, threads=threads or torch.get_num_threads())
        self.folder = self.graphs.folder
        self.name = name
        self.n_mels = self.graphs.n_mels
        self.num_layers = self.graphs.num_layers
        self.hidden_size = self.graphs.hidden_size
        self.num_heads = self.graphs.num_heads
        self.max_mel_frames = self.graphs.max_mel_frames
        self.mel_filters = torch.from_numpy(self.graphs.mel_filters)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def _run(self, mel: torch.Tensor, attentions: bool) -> list[np.ndarray]:
        return self.graphs.run(mel.detach().cpu().numpy(), attentions)

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
        return torch.from_numpy(self.graphs.encode(as_signal(signal, self.min_samples).numpy()))


def load_onnx_whisper_encoder(name: str, rebuild: bool = False) -> OnnxWhisperEncoder:
    """The packaged encoder ``name`` on ONNX Runtime, exporting it first when needed.

    The export (once per converted cache, ~5 s) loads the torch encoder, which imports
    ``transformers``; later loads read only the graphs.

    Raises:
        CheckpointError: unknown name or weights not installed (as for the torch encoder).
    """
    from ser_core.encoders.whisper import converted_whisper_dir

    folder = converted_whisper_dir(name, rebuild=rebuild)
    if rebuild or fresh_export(folder) is None:
        from ser_core.encoders.whisper import load_whisper_encoder

        export_whisper_onnx(load_whisper_encoder(name), folder)
    return OnnxWhisperEncoder(folder, name)
