"""Whisper's input side: the log-mel of a clip and :class:`WhisperFrontEnd`, which the torch
encoder (:mod:`ser_core.encoders.whisper`) and its ONNX Runtime export share. Import these names
from :mod:`ser_core.encoders.whisper`, which re-exports them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch

from ser_core.encoders.base import SAMPLE_RATE, as_signal
from ser_core.encoders.mel import HOP_LENGTH, log_mel, slaney_mel_filters
from ser_core.errors import AudioInputError

__all__ = ["WhisperFrontEnd", "whisper_log_mel"]


@lru_cache(maxsize=8)
def _mel_filters(n_mels: int) -> torch.Tensor:
    """Slaney-style mel filterbank ``(n_mels, n_fft // 2 + 1)``, as OpenAI's Whisper uses."""
    return torch.from_numpy(slaney_mel_filters(n_mels))


def whisper_log_mel(
    signal: np.ndarray | torch.Tensor,
    n_mels: int = 80,
    mel_filters: torch.Tensor | np.ndarray | None = None,
    max_frames: int | None = 2 * 1500,
) -> torch.Tensor:
    """Whisper's normalised log-mel ``(n_mels, len(signal) // 160)`` of a 16 kHz clip, unpadded
    (:func:`ser_core.encoders.mel.log_mel`, as a tensor).

    Args:
        signal: mono 16 kHz samples.
        n_mels: number of mel bins (80, or 128 for large-v3).
        mel_filters: ``(n_mels, 201)`` filterbank to use instead of librosa's Slaney filters.
        max_frames: the extractor's frame count (3000 for 30 s).
    """
    x = as_signal(signal, min_samples=HOP_LENGTH)
    filters = (
        slaney_mel_filters(n_mels)
        if mel_filters is None
        else torch.as_tensor(mel_filters, dtype=torch.float32).numpy()
    )
    return torch.from_numpy(log_mel(x.numpy(), filters, max_frames=max_frames))


def _silence_value(log_mel: torch.Tensor) -> float:
    """What the 30 s padded extractor puts in frames of pure padding for this clip.

    Zeros give ``log10(1e-10) = -10``, floored at ``peak - 8``, then ``(x + 4) / 4``: in
    normalised units ``max(peak - 2, -1.5)``.
    """
    return max(float(log_mel.max()) - 2.0, -1.5)


class WhisperFrontEnd:
    """Whisper's input side, shared by the torch encoder and its ONNX Runtime export.

    Needs ``n_mels``, ``max_mel_frames`` and ``mel_filters`` on the instance.
    """

    n_mels: int
    max_mel_frames: int
    mel_filters: torch.Tensor
    min_samples = HOP_LENGTH
    frames_per_second = 50.0

    @staticmethod
    def output_lengths(mel_lengths: torch.Tensor) -> torch.Tensor:
        """Encoder frames for ``mel_lengths`` mel frames (conv2 has stride 2, padding 1)."""
        return (mel_lengths - 1) // 2 + 1

    def log_mel(self, signal: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Unpadded Whisper log-mel ``(n_mels, frames)`` of one clip (CPU)."""
        return whisper_log_mel(
            signal, self.n_mels, self.mel_filters.cpu(), max_frames=self.max_mel_frames
        )

    def prepare(
        self, signals: Sequence[np.ndarray | torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mels of ``signals`` padded to the longest: ``(batch, n_mels, frames)``, lengths.

        Padding frames hold the value the 30 s extractor would put there; the encoder masks them
        anyway.

        Raises:
            AudioInputError: a clip is longer than the encoder's window (30 s) or under 10 ms.
        """
        if not signals:
            raise AudioInputError("no signals to encode", reason="empty")
        mels = []
        for signal in signals:
            samples = as_signal(signal, self.min_samples)
            if samples.numel() // HOP_LENGTH > self.max_mel_frames:
                raise AudioInputError(
                    f"a clip of {samples.numel() / SAMPLE_RATE:.1f} s is longer than the encoder's "
                    f"{self.max_mel_frames / 100:.0f} s window: split it (encode() does so)",
                    reason="too_long",
                )
            mels.append(self.log_mel(samples))
        lengths = torch.tensor([m.shape[1] for m in mels], dtype=torch.long)
        batch = torch.empty(len(mels), self.n_mels, int(lengths.max()))
        for i, mel in enumerate(mels):
            batch[i].fill_(_silence_value(mel))
            batch[i, :, : mel.shape[1]] = mel
        return batch, lengths

    def mel_lengths(self, mel: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """Check a ``(batch, n_mels, frames)`` log-mel batch; valid frames per clip (default all).

        Raises:
            ValueError: wrong shape, or more frames than the 30 s window.
        """
        if mel.ndim != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(
                f"expected mel of shape (batch, {self.n_mels}, frames), got {tuple(mel.shape)}"
            )
        batch, _, frames = mel.shape
        if frames > self.max_mel_frames:
            raise ValueError(f"{frames} mel frames exceed the encoder's {self.max_mel_frames}")
        if lengths is None:
            return torch.full((batch,), frames, dtype=torch.long, device=mel.device)
        return lengths.to(device=mel.device, dtype=torch.long).clamp(max=frames)

    def windows(self, samples: torch.Tensor) -> list[torch.Tensor]:
        """A validated clip cut into consecutive 30 s windows (a last one under 10 ms dropped)."""
        window = self.max_mel_frames * HOP_LENGTH
        if samples.numel() <= window:
            return [samples]
        pieces = [samples[i : i + window] for i in range(0, samples.numel(), window)]
        return [p for p in pieces if p.numel() >= self.min_samples]
