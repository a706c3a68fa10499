"""The interface every pretrained speech encoder in ``ser_core`` exposes.

An encoder turns 16 kHz mono audio into *all* its hidden states — the embedding output plus the
output of every transformer layer — because emotion heads usually mix layers (middle layers carry
more paralinguistic information than the last one).

Two entry points:

- :meth:`SpeechEncoder.encode` — one clip in, a ``(layers + 1, frames, dim)`` tensor out, without
  gradients (feature extraction and caching).
- :meth:`SpeechEncoder.forward` — a padded batch of model inputs plus their lengths in, an
  :class:`EncoderOutput` out, with gradients (fine-tuning). :meth:`SpeechEncoder.prepare` builds
  those inputs from a list of signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ser_core.encoders.mel import SAMPLE_RATE, mono_signal


@dataclass
class EncoderOutput:
    """Hidden states of a batch.

    Attributes:
        hidden_states: ``(batch, layers + 1, frames, dim)``; entry 0 is the embedding output, the
            last one is the encoder's final output. Frames past a clip's length are zero.
        lengths: ``(batch,)`` number of valid frames per clip.
        attentions: when requested, one ``(batch, heads, frames, frames)`` tensor of attention
            probabilities per layer (padded keys get probability 0); otherwise ``None``.
    """

    hidden_states: torch.Tensor
    lengths: torch.Tensor
    attentions: tuple[torch.Tensor, ...] | None = None

    def clip(self, index: int) -> torch.Tensor:
        """The ``(layers + 1, frames, dim)`` hidden states of clip ``index`` without padding."""
        return self.hidden_states[index, :, : int(self.lengths[index])]


class SpeechEncoder(nn.Module):
    """Base class: subclasses implement :meth:`prepare` and :meth:`forward`.

    Attributes:
        name: the encoder's name in the registry (``whisper_base``, ``hf:<path>``).
        sample_rate: expected input rate (16 kHz).
        frames_per_second: output frame rate (50 for Whisper and wav2vec2-style models).
        num_layers: number of transformer layers (hidden states hold ``num_layers + 1`` entries).
        hidden_size: dimension of every hidden state.
        min_samples: shortest signal that yields one output frame.
    """

    name: str = "encoder"
    sample_rate: int = SAMPLE_RATE
    frames_per_second: float = 50.0
    num_layers: int = 0
    hidden_size: int = 0
    min_samples: int = 400

    def prepare(
        self, signals: Sequence[np.ndarray | torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded model inputs for ``signals`` and their lengths (in the inputs' own time unit)."""
        raise NotImplementedError

    def forward(  # type: ignore[override]
        self,
        inputs: torch.Tensor,
        lengths: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> EncoderOutput:
        """Hidden states of a padded batch of model inputs (see :meth:`prepare`)."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        """Device of the encoder's weights."""
        return next(self.parameters()).device

    def encode_batch(
        self, signals: Sequence[np.ndarray | torch.Tensor], output_attentions: bool = False
    ) -> EncoderOutput:
        """Hidden states of several clips, padded to the longest (no gradients)."""
        inputs, lengths = self.prepare(signals)
        with torch.no_grad():
            return self(inputs.to(self.device), lengths.to(self.device), output_attentions)

    def encode(self, signal: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Hidden states ``(num_layers + 1, frames, hidden_size)`` of one 16 kHz clip.

        Runs without gradients (use :meth:`forward` to fine-tune); the result is on the encoder's
        device.
        """
        return self.encode_batch([signal]).clip(0)


def as_signal(signal: np.ndarray | torch.Tensor, min_samples: int = 1) -> torch.Tensor:
    """Validate one mono clip and return it as a 1-D float32 CPU tensor
    (:func:`ser_core.encoders.mel.mono_signal` on tensors).

    Raises:
        AudioInputError: not 1-D (a leading axis of size 1 is accepted), non-finite, or too short.
    """
    array = signal.detach().cpu().numpy() if isinstance(signal, torch.Tensor) else signal
    return torch.from_numpy(mono_signal(array, min_samples))


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(batch, frames)`` boolean mask, True on the valid frames."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]
