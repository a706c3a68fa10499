"""Prediction results: what every predictor returns (torch-free, shared by the torch
:class:`~ser_core.inference.predictor.Predictor` and the exported pipeline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LONG_AUDIO_SECONDS", "Prediction"]

#: Signals longer than this (seconds) are predicted window by window by default.
LONG_AUDIO_SECONDS = 20.0


@dataclass(frozen=True)
class Prediction:
    """The result for one clip.

    Attributes:
        label: the most probable class.
        probabilities: class → probability, in the model's label order.
        latency: seconds spent on features and the model (decoding excluded).
        duration: length of the audio in seconds.
        windows: number of windows averaged (1 for a clip predicted whole).
        source: where the audio came from (the path as given, ``"<array>"``, ...).
    """

    label: str
    probabilities: dict[str, float]
    latency: float
    duration: float
    windows: int = 1
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "label": self.label,
            "probabilities": dict(self.probabilities),
            "latency": self.latency,
            "duration": self.duration,
            "windows": self.windows,
            "source": self.source,
        }
