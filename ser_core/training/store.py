"""The features and signals of a training run, computed once and shared by its folds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ser_core.audio import read_audio
from ser_core.features import FeatureCache
from ser_core.pipeline import InputPipeline
from ser_core.training.config import TrainConfig
from ser_core.training.data import (
    load_training_manifest,
)


@dataclass
class _Data:
    """The manifest and the features / signals computed so far (reused across folds).

    Rows index the manifest; with ``speed_perturb`` or ``channel_copies`` a row
    ``r + k * len(manifest)`` (k ≥ 1) is the k-th copy of clip ``r`` (:meth:`copy_specs`: the
    speed factors, then the channel copies; a *virtual row*, labelled like its clip).
    """

    config: TrainConfig
    manifest: pd.DataFrame
    notes: list[str]
    cache: FeatureCache
    features: dict[int, np.ndarray] = field(default_factory=dict)
    signals: dict[int, np.ndarray] = field(default_factory=dict)
    #: fixed summaries of features (:meth:`SERModel.fixed_summary`), for models that have one
    summaries: dict[int, np.ndarray] = field(default_factory=dict)

    def copy_specs(self) -> list[tuple[float, int]]:
        """``(speed, channel)`` of each extra training copy, in virtual-row order: the speed
        factors, then the channel copies 1..``channel_copies``."""
        speeds = [(float(f), 0) for f in self.config.speed_perturb]
        return speeds + [(1.0, k) for k in range(1, self.config.channel_copies + 1)]

    def copy_rows(self, rows: np.ndarray) -> np.ndarray:
        """The virtual rows of every extra copy (speed, channel) of ``rows``."""
        n = len(self.manifest)
        copies = [rows.astype(np.int64) + k * n for k in range(1, len(self.copy_specs()) + 1)]
        return np.concatenate(copies) if copies else np.empty(0, dtype=np.int64)

    def _featurize(
        self, pipe: InputPipeline, rows: Sequence[int], progress: bool
    ) -> list[np.ndarray]:
        """Features of (virtual) rows through the disk cache, in the order of ``rows``."""
        n = len(self.manifest)
        by_copy: dict[int, list[int]] = {}
        for r in rows:
            by_copy.setdefault(r // n, []).append(r)
        specs = [(1.0, 0), *self.copy_specs()]
        out: dict[int, np.ndarray] = {}
        for k, group in sorted(by_copy.items()):
            speed, channel = specs[k]
            paths = [str(p) for p in self.manifest["path"].iloc[[r % n for r in group]]]
            values = pipe.featurize_files(
                paths, cache=self.cache, progress=progress, speed=speed, channel=channel
            )
            out.update(zip(group, values, strict=True))
        return [out[r] for r in rows]

    def ensure_features(self, pipe: InputPipeline, rows: Sequence[int]) -> None:
        """Compute (or read from the disk cache) the features of ``rows`` once."""
        todo = sorted({int(r) for r in rows} - set(self.features))
        if todo:
            values = self._featurize(pipe, todo, self.config.progress)
            self.features.update(zip(todo, values, strict=True))

    def ensure_summaries(
        self, model: Any, pipe: InputPipeline, rows: Sequence[int], device: Any
    ) -> None:
        """The fixed summary of every row, once; full features are read in chunks and not kept
        (encoder states of thousands of clips would not fit in memory)."""
        import torch

        todo = sorted({int(r) for r in rows} - set(self.summaries))
        chunks: Any = range(0, len(todo), 128)
        if self.config.progress and todo:
            from tqdm.auto import tqdm

            chunks = tqdm(chunks, desc="summarising features", unit="chunk")
        model.eval()
        for start in chunks:
            chunk = todo[start : start + 128]
            missing = [r for r in chunk if r not in self.features]
            loaded = dict(zip(missing, self._featurize(pipe, missing, False), strict=True))
            features = [self.features[r] if r in self.features else loaded[r] for r in chunk]
            with torch.inference_mode():
                for i in range(0, len(chunk), 32):
                    x, lengths = pipe.collate(features[i : i + 32], device)
                    summary = model.fixed_summary(x, lengths).float().cpu().numpy()
                    self.summaries.update(zip(chunk[i : i + 32], summary, strict=True))

    def corpora_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The corpus of each (virtual) row."""
        n = len(self.manifest)
        corpus = self.manifest["corpus"].astype(str).to_numpy()
        return corpus[np.asarray(rows, dtype=np.int64) % n]

    def summary_batch(self, rows: Sequence[int], device: Any) -> Any:
        """The stacked summaries of ``rows`` as a float tensor on ``device``."""
        import torch

        stacked = np.stack([self.summaries[int(r)] for r in rows])
        return torch.from_numpy(stacked).to(device)

    def ensure_signals(self, rows: Sequence[int], sample_rate: int) -> None:
        """Decode the waveforms of ``rows`` once (augmentation featurises them each epoch)."""
        todo = [int(r) for r in rows if int(r) not in self.signals]
        items: Any = todo
        if self.config.progress and todo:
            from tqdm.auto import tqdm

            items = tqdm(todo, desc="decoding audio", unit="file")
        for r in items:
            path = self.manifest["path"].iloc[r]
            self.signals[r] = read_audio(path, target_rate=sample_rate).signal


def _prepare(config: TrainConfig, manifest: pd.DataFrame | None) -> _Data:
    frame, notes = load_training_manifest(config, manifest)
    return _Data(config=config, manifest=frame, notes=notes, cache=FeatureCache())
