"""Fuzzing the audio reader (issue 7) for a fixed budget: arbitrary bytes, and valid WAV files
with corrupted bytes, must decode or raise AudioInputError, never anything else. Seeds of
failures found are kept below as explicit examples."""

from __future__ import annotations

import io
import warnings

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ser_core.audio import read_audio
from ser_core.errors import AudioInputError


def _wav(seconds: float = 0.5, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.5 * np.sin(2 * np.pi * 220 * t), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


VALID = _wav()
BUDGET = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def _read_or_clear_error(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # clipping warnings are fine
        try:
            clip = read_audio(data, target_rate=16000)
        except AudioInputError as error:
            failure = error
        else:
            failure = None
    if failure is not None:
        assert str(failure) and failure.reason  # a message for people, a code for programs
        return
    assert clip.signal.dtype == np.float32 and np.isfinite(clip.signal).all()
    assert clip.sample_rate == 16000 and clip.signal.ndim == 1


@BUDGET
@given(st.binary(max_size=2048))
@example(b"RIFF")
@example(b"RIFF\x00\x00\x00\x00WAVEfmt ")
@example(b"fLaC" + b"\x00" * 40)
@example(b"OggS" + b"\xff" * 60)
@example(b"ID3" + b"\x00" * 100)
def test_arbitrary_bytes(data: bytes) -> None:
    _read_or_clear_error(data)


@BUDGET
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=12
    ),
    st.integers(0, len(VALID)),
)
@example([(22, 0)], len(VALID))  # channels = 0
@example([(24, 0), (25, 0), (26, 0), (27, 0)], len(VALID))  # sample rate = 0
@example([(34, 3)], len(VALID))  # 3 bits per sample
@example([(40, 255), (41, 255), (42, 255), (43, 127)], len(VALID))  # huge data chunk size
def test_corrupted_wav(edits: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(VALID[:keep] if keep > 44 else VALID)
    for offset, value in edits:
        if offset < len(data):
            data[offset] = value
    _read_or_clear_error(bytes(data))
