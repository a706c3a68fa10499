"""Speaker adaptation: normalise features with statistics of other clips of the same speaker.

A voice differs from speaker to speaker in pitch, timbre and loudness more than an emotion moves
it; removing each speaker's own mean (and scale) lets a classifier see the emotional *deviation*
from that speaker's habits (per-speaker feature normalisation, e.g. Busso, Lee & Narayanan,
"Iterative feature normalization scheme for automatic emotion detection from speech", IEEE
Trans. Affective Computing 4(4), 2013). It needs other recordings of the same speaker:

* **in the app**, a few enrolment clips the user records first (:meth:`SpeakerNormalizer.enroll`);
* **in evaluation**, the speaker's *other* utterances, leaving the clip being classified out
  (:meth:`SpeakerNormalizer.fit` then ``transform(..., leave_one_out=True)``); the labels are
  never used, only the audio.

A head trained on speaker-normalised features expects them at test time too, so training,
evaluation and the app all go through the same normaliser. Results obtained this way are
**speaker-adapted**: they use more than the clip itself, so they are reported apart and labelled
(:data:`SPEAKER_ADAPTED`, :func:`adapted_name`), never mixed into the plain numbers.

Statistics are taken per channel over every frame of the speaker's clips: for encoder states
``(layers, dim, frames)`` one mean and standard deviation per (layer, dim); for a log-mel per
band; for feature vectors (eGeMAPS, ``time_axis=None``) over the clips themselves.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> clips = [rng.normal(3.0, 2.0, size=(2, 4, 50)) for _ in range(4)]
    >>> norm = SpeakerNormalizer().fit(clips, ["s1"] * 4)
    >>> out = norm.transform(clips, ["s1"] * 4, leave_one_out=True)
    >>> bool(abs(float(np.concatenate(out, axis=-1).mean())) < 0.2)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SPEAKER_ADAPTED", "SpeakerNormalizer", "SpeakerStats", "adapted_name"]

#: The label every speaker-adapted result carries (model cards, reports, the app).
SPEAKER_ADAPTED = "speaker-adapted"


def adapted_name(name: str) -> str:
    """``"whisper_base"`` → ``"whisper_base (speaker-adapted)"``: how adapted results are named."""
    return f"{name} ({SPEAKER_ADAPTED})"


@dataclass
class SpeakerStats:
    """Sufficient statistics of one speaker (or one clip): per-channel sums over frames.

    Attributes:
        total: sum of the values per channel (float64).
        squares: sum of squared values per channel (float64).
        frames: number of frames summed (clips for vector features).
        clips: number of clips summed.
    """

    total: np.ndarray
    squares: np.ndarray
    frames: int
    clips: int

    def __add__(self, other: SpeakerStats) -> SpeakerStats:
        return SpeakerStats(
            self.total + other.total,
            self.squares + other.squares,
            self.frames + other.frames,
            self.clips + other.clips,
        )

    def __sub__(self, other: SpeakerStats) -> SpeakerStats:
        return SpeakerStats(
            self.total - other.total,
            self.squares - other.squares,
            self.frames - other.frames,
            self.clips - other.clips,
        )

    def mean_std(self, eps: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and standard deviation (at least ``sqrt(eps)``)."""
        mean = self.total / self.frames
        var = np.maximum(self.squares / self.frames - mean * mean, 0.0)
        return mean, np.sqrt(var + eps)


class SpeakerNormalizer:
    """Per-speaker mean / standard-deviation normalisation of features (speaker adaptation).

    Args:
        time_axis: axis of a clip's feature that runs over frames (``-1`` for encoder states and
            spectrograms); ``None`` for one vector per clip (each clip is one observation).
        scale: divide by the speaker's standard deviation too (else only subtract the mean).
        eps: variance floor.
        min_frames: fewest frames (clips, for vectors) a speaker's statistics may rest on.

    Attributes:
        label: ``"speaker-adapted"``, for whatever reports results obtained with it.
    """

    label = SPEAKER_ADAPTED

    def __init__(
        self,
        time_axis: int | None = -1,
        scale: bool = True,
        eps: float = 1e-5,
        min_frames: int = 1,
    ) -> None:
        self.time_axis = time_axis
        self.scale = scale
        self.eps = eps
        self.min_frames = min_frames
        self._stats: dict[str, SpeakerStats] = {}

    @classmethod
    def for_feature(cls, example: np.ndarray, **options: float | bool) -> SpeakerNormalizer:
        """A normaliser for features shaped like ``example``: statistics over its last (time)
        axis for 2-D and larger features (states, spectrograms), over clips for vectors."""
        return cls(time_axis=-1 if np.ndim(example) >= 2 else None, **options)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        clips = sum(s.clips for s in self._stats.values())
        return f"SpeakerNormalizer({len(self._stats)} speakers, {clips} clips, scale={self.scale})"

    # ------------------------------------------------------------------ statistics
    @property
    def speakers(self) -> list[str]:
        """Speakers with statistics, sorted."""
        return sorted(self._stats)

    def clip_stats(self, feature: np.ndarray) -> SpeakerStats:
        """The statistics one clip contributes."""
        x = np.asarray(feature, dtype=np.float64)
        if self.time_axis is None:
            return SpeakerStats(x.copy(), x * x, 1, 1)
        axis = self.time_axis % x.ndim
        return SpeakerStats(x.sum(axis=axis), (x * x).sum(axis=axis), x.shape[axis], 1)

    def enroll(self, speaker: str, features: Sequence[np.ndarray]) -> SpeakerNormalizer:
        """Add enrolment clips of ``speaker`` (the app: a few recordings made first).

        Raises:
            ValueError: no clips, or clips whose channels do not match the speaker's earlier ones.
        """
        if len(features) == 0:
            raise ValueError(f"no enrolment clips for speaker {speaker!r}")
        for feature in features:
            stats = self.clip_stats(feature)
            current = self._stats.get(speaker)
            if current is not None and current.total.shape != stats.total.shape:
                raise ValueError(
                    f"speaker {speaker!r}: a clip with channels {stats.total.shape} does not "
                    f"match the earlier {current.total.shape}"
                )
            self._stats[speaker] = stats if current is None else current + stats
        return self

    def fit(self, features: Sequence[np.ndarray], speakers: Sequence[str]) -> SpeakerNormalizer:
        """Statistics of every speaker from all their clips (replacing earlier ones).

        Raises:
            ValueError: ``features`` and ``speakers`` differ in length.
        """
        if len(features) != len(speakers):
            raise ValueError(f"{len(features)} features but {len(speakers)} speakers")
        self._stats = {}
        for feature, speaker in zip(features, speakers, strict=True):
            self.enroll(str(speaker), [feature])
        return self

    def mean_std(
        self, speaker: str, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The speaker's per-channel mean and standard deviation.

        Args:
            speaker: an enrolled / fitted speaker.
            exclude: a clip of this speaker whose frames are left out (leave-one-out).

        Raises:
            KeyError: unknown speaker (enrol them first).
            ValueError: fewer than ``min_frames`` frames left.
        """
        if speaker not in self._stats:
            raise KeyError(
                f"no statistics for speaker {speaker!r}: enrol some of their clips first "
                f"(known: {', '.join(self.speakers) or 'none'})"
            )
        stats = self._stats[speaker]
        if exclude is not None:
            stats = stats - self.clip_stats(exclude)
        if stats.frames < max(self.min_frames, 1) or stats.clips < 1:
            raise ValueError(
                f"speaker {speaker!r} has {stats.clips} other clip(s) ({stats.frames} frames); "
                f"speaker adaptation needs at least {max(self.min_frames, 1)} frames"
            )
        return stats.mean_std(self.eps)

    # ------------------------------------------------------------------ normalising
    def normalize(self, feature: np.ndarray, speaker: str, leave_out: bool = False) -> np.ndarray:
        """One clip normalised with its speaker's statistics (float32, same shape).

        Args:
            feature: the clip's feature.
            speaker: its speaker.
            leave_out: the clip is among the speaker's fitted clips and must not count towards
                its own statistics (evaluation: "the speaker's other utterances").
        """
        x = np.asarray(feature, dtype=np.float64)
        mean, std = self.mean_std(speaker, exclude=x if leave_out else None)
        if self.time_axis is not None:
            axis = self.time_axis % x.ndim
            mean = np.expand_dims(mean, axis)
            std = np.expand_dims(std, axis)
        out = x - mean
        if self.scale:
            out = out / std
        return out.astype(np.float32)

    def transform(
        self,
        features: Sequence[np.ndarray],
        speakers: Sequence[str],
        leave_one_out: bool = False,
    ) -> list[np.ndarray]:
        """Normalise clips with their speakers' statistics.

        Args:
            features: the clips' features.
            speakers: each clip's speaker.
            leave_one_out: each clip was part of :meth:`fit` and is left out of its own
                statistics (use for evaluation on the fitted clips).
        """
        if len(features) != len(speakers):
            raise ValueError(f"{len(features)} features but {len(speakers)} speakers")
        return [
            self.normalize(f, str(s), leave_out=leave_one_out)
            for f, s in zip(features, speakers, strict=True)
        ]

    def fit_transform(
        self,
        features: Sequence[np.ndarray],
        speakers: Sequence[str],
        leave_one_out: bool = True,
    ) -> list[np.ndarray]:
        """:meth:`fit` then :meth:`transform` (leaving each clip out of its own statistics)."""
        return self.fit(features, speakers).transform(features, speakers, leave_one_out)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the statistics to an ``.npz`` file (no pickle), e.g. the app's enrolment."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "speakers": np.array(self.speakers, dtype=str),
            "settings": np.array(
                [
                    np.nan if self.time_axis is None else self.time_axis,
                    float(self.scale),
                    self.eps,
                    self.min_frames,
                ]
            ),
        }
        for i, speaker in enumerate(self.speakers):
            stats = self._stats[speaker]
            arrays[f"total_{i}"] = stats.total
            arrays[f"squares_{i}"] = stats.squares
            arrays[f"counts_{i}"] = np.array([stats.frames, stats.clips], dtype=np.int64)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SpeakerNormalizer:
        """Read statistics written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as data:
            axis, scale, eps, min_frames = data["settings"].tolist()
            norm = cls(
                time_axis=None if np.isnan(axis) else int(axis),
                scale=bool(scale),
                eps=float(eps),
                min_frames=int(min_frames),
            )
            for i, speaker in enumerate(data["speakers"].tolist()):
                frames, clips = data[f"counts_{i}"].tolist()
                norm._stats[str(speaker)] = SpeakerStats(
                    data[f"total_{i}"], data[f"squares_{i}"], int(frames), int(clips)
                )
        return norm
