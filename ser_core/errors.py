"""Exceptions that ``ser_core`` raises for problems a user can fix.

Every message says what is wrong and what to do about it, so the CLI and the app can show
``str(error)`` to a person as it is, without a traceback.
"""

from __future__ import annotations


class SERError(Exception):
    """Base class of every error ``ser_core`` raises on purpose."""


class AudioInputError(SERError, ValueError):
    """The audio given cannot be used: not audio, corrupt, empty, too short, silent, too long, ...

    Attributes:
        reason: a short machine-readable code (``"not_audio"``, ``"empty"``, ``"too_short"``,
            ``"silent"``, ``"non_finite"``, ``"too_long"``, ``"bad_sample_rate"``,
            ``"bad_shape"``, ``"not_found"``), so callers can react without parsing messages.
        detail: the decoders' own words (for logs and bug reports, not for the person who
            chose the file: they may hold object representations and library internals), or
            ``""``.
    """

    def __init__(self, message: str, reason: str = "invalid", detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class CorpusError(SERError, ValueError):
    """A corpus folder is missing, empty or laid out differently from what its loader expects."""


class SplitLeakageError(SERError, AssertionError):
    """A speaker (or, for text-held-out splits, a text) appears in both training and test data."""


class CheckpointError(SERError, ValueError):
    """A checkpoint folder is missing files, has an invalid config or tensors of the wrong shape."""
