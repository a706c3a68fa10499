"""Speaker enrolment for speaker-adapted models: one speaker's feature statistics from a few
clips, and the normalisation the :class:`~ser_core.inference.predictor.Predictor` applies
with them before its model sees the features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ser_core.adaptation import SpeakerNormalizer
from ser_core.audio import AudioClip
from ser_core.errors import SERError
from ser_core.pipeline import InputPipeline

__all__ = ["ENROLLED_SPEAKER", "enrol", "normalize"]

#: The speaker key of an app / API enrolment (one speaker per enrolment).
ENROLLED_SPEAKER = "enrolled"


def enrol(
    pipeline: InputPipeline, clips: Sequence[AudioClip], min_seconds: float
) -> SpeakerNormalizer:
    """The statistics of the speaker of ``clips`` (decoded at the pipeline's rate).

    Raises:
        SERError: less than ``min_seconds`` of audio in all.
    """
    seconds = sum(c.duration for c in clips)
    if seconds < min_seconds:
        raise SERError(
            f"enrolment needs at least {min_seconds:g} s of the speaker's voice, got "
            f"{seconds:.1f} s in {len(clips)} clip(s)"
        )
    features = [pipeline.featurize(c.signal) for c in clips]
    return SpeakerNormalizer.for_feature(features[0]).enroll(ENROLLED_SPEAKER, features)


def normalize(
    speaker: SpeakerNormalizer | None, features: Sequence[np.ndarray], name: str
) -> list[np.ndarray]:
    """``features`` normalised with the enrolled speaker's statistics (``name``: the model's,
    for the messages).

    Raises:
        SERError: no enrolment yet, or one of another shape.
    """
    if speaker is None:
        raise SERError(
            f"{name} is speaker-adapted: enrol the speaker first (a few clips of their "
            "voice: Predictor.enrolment, then adapted_to)"
        )
    try:
        return [speaker.normalize(f, ENROLLED_SPEAKER) for f in features]
    except ValueError as exc:
        raise SERError(f"the enrolment does not fit this model: {exc}") from exc
