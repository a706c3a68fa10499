"""Prediction results: what every predictor returns (torch-free, shared by the torch
:class:`~ser_core.inference.predictor.Predictor` and the exported pipeline).

Tables of predictions share one shape, as audinterface's ``process_files`` /
``process_signal`` (``audformat.segmented_index``): :meth:`Predictor.predict_files
<ser_core.inference.predictor.Predictor.predict_files>` (one row per file, over the whole
file), :meth:`Predictor.predict_windows
<ser_core.inference.predictor.Predictor.predict_windows>` and ``Analysis.windows`` (one row per
window) and :func:`~ser_core.inference.batch.score_clips` /
:func:`~ser_core.inference.batch.read_scores` are indexed by :func:`segment_index`:

* levels :data:`SEGMENT_LEVELS` = ``("file", "start", "end")``;
* ``file``: pandas ``"string"`` dtype: the path as given, an upload's name, or ``""`` for a signal
  given as an array (or bytes / a file object without a name, see :func:`segment_file`);
* ``start``, ``end``: ``float64`` seconds. audinterface uses ``timedelta64``; float seconds plot
  directly, round-trip through parquet / CSV / JSON unchanged and make ``end - start`` a weight;
* columns: one probability per label (model order), then ``label`` (batch scoring adds its own
  columns after these).

pandas is imported on first use: the exported (torch-free) pipeline imports this module and no
pandas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LONG_AUDIO_SECONDS",
    "SEGMENT_LEVELS",
    "Prediction",
    "segment_bounds",
    "segment_file",
    "segment_index",
]

#: Index levels of every prediction table: file, start and end (seconds).
SEGMENT_LEVELS = ("file", "start", "end")

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


def segment_file(source: str) -> str:
    """The ``file`` level value of a clip's source: ``""`` for read_audio's placeholders
    (``"<array>"``, ``"<bytes>"``, ``"<file>"``), else the source (a path, an upload's name)."""
    return "" if source.startswith("<") and source.endswith(">") else source


def segment_index(
    files: str | Iterable[str], starts: Iterable[float] | Any, ends: Iterable[float] | Any
) -> pd.MultiIndex:
    """The index of a prediction table (see the module doc): levels :data:`SEGMENT_LEVELS`.

    Args:
        files: one file name per row, or one name for every row (the windows of one signal).
        starts, ends: seconds (NaN allowed: a batch row of an unusable file).
    """
    import numpy as np
    import pandas as pd

    start = np.asarray(starts, dtype=np.float64).reshape(-1)
    end = np.asarray(ends, dtype=np.float64).reshape(-1)
    names = [files] * len(start) if isinstance(files, str) else [str(f) for f in files]
    if not len(names) == len(start) == len(end):
        raise ValueError(f"segment_index: {len(names)} files, {len(start)} starts, {len(end)} ends")
    return pd.MultiIndex.from_arrays(
        [
            pd.Index(names, dtype="string"),
            pd.Index(start, dtype="float64"),
            pd.Index(end, dtype="float64"),
        ],
        names=list(SEGMENT_LEVELS),
    )


def segment_bounds(frame: pd.DataFrame) -> tuple[Any, Any]:
    """``(starts, ends)`` in seconds (float arrays) of a prediction table's rows."""
    index = frame.index
    return (
        index.get_level_values("start").to_numpy(dtype="float64"),
        index.get_level_values("end").to_numpy(dtype="float64"),
    )
