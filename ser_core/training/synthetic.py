"""A tiny synthetic "corpus" of tones for tests, demos and smoke runs (no real speech).

Each emotion is a tone in its own frequency band with a little noise, so every model in the zoo
can learn it in a few epochs. Files are laid out for the ``folder`` corpus recipe with the
speaker in the file name::

    root/<emotion>/spk<k>_<n>.wav      →  load_corpus("folder", root, speaker_from=SPEAKER_PATTERN)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SPEAKER_PATTERN", "synthetic_manifest", "write_synthetic_corpus"]

#: ``speaker_from`` pattern of the folder recipe for these files.
SPEAKER_PATTERN = r"(?P<speaker>spk\d+)_"

_BASE_HZ = (220.0, 880.0, 2600.0, 5000.0, 440.0, 1500.0, 3600.0)


def write_synthetic_corpus(
    root: str | Path,
    emotions: Sequence[str] = ("angry", "happy", "sad"),
    speakers: int = 4,
    per_speaker: int = 4,
    seconds: float | tuple[float, float] = (0.8, 1.4),
    sample_rate: int = 16000,
    seed: int = 0,
) -> Path:
    """Write ``len(emotions) × speakers × per_speaker`` WAV files under ``root``.

    Args:
        root: folder to create.
        emotions: canonical emotion names (one folder each).
        speakers: number of fake speakers (each gets a slightly different pitch).
        per_speaker: files per speaker and emotion.
        seconds: clip length, or a (low, high) range drawn per file.
        sample_rate: sampling rate of the files.
        seed: seeds lengths, phases and noise.

    Returns:
        ``root`` as a Path.
    """
    import soundfile as sf

    root = Path(root)
    rng = np.random.default_rng(seed)
    for e, emotion in enumerate(emotions):
        folder = root / emotion
        folder.mkdir(parents=True, exist_ok=True)
        for s in range(speakers):
            for n in range(per_speaker):
                low, high = (seconds, seconds) if isinstance(seconds, int | float) else seconds
                length = int(rng.uniform(low, high) * sample_rate)
                t = np.arange(length) / sample_rate
                freq = _BASE_HZ[e % len(_BASE_HZ)] * (1.0 + 0.03 * s)
                tone = 0.4 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
                envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.05)  # 50 ms fades
                signal = tone * envelope + 0.02 * rng.standard_normal(length)
                sf.write(folder / f"spk{s}_{n}.wav", signal.astype(np.float32), sample_rate)
    return root


def synthetic_manifest(root: str | Path, name: str = "synth") -> pd.DataFrame:
    """The manifest of a corpus written by :func:`write_synthetic_corpus`."""
    from ser_core.data.corpora.folder import prepare_folder

    return prepare_folder(root, name=name, speaker_from=SPEAKER_PATTERN)
