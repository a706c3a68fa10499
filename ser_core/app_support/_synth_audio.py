"""Synthetic audio for sample clips and tests: a numpy "vowel", espeak-ng speech, WAV bytes.

Pure sound making, no notion of a sample; :mod:`ser_core.app_support.samples` builds the app's
synthetic samples from these and re-exports them.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ser_core.audio import TARGET_SAMPLE_RATE

_SENTENCE = "The weather report said it would rain tomorrow, but I left my umbrella at home."


def to_wav_bytes(signal: np.ndarray, sample_rate: int = TARGET_SAMPLE_RATE) -> bytes:
    """Encode a float signal as 16-bit PCM WAV bytes."""
    buffer = io.BytesIO()
    sf.write(
        buffer, np.asarray(signal, dtype=np.float32), sample_rate, format="WAV", subtype="PCM_16"
    )
    return buffer.getvalue()


def synthetic_vowel(
    duration: float = 2.0,
    f0_start: float = 140.0,
    f0_end: float = 110.0,
    *,
    sample_rate: int = TARGET_SAMPLE_RATE,
    vibrato_hz: float = 5.0,
    vibrato_depth: float = 0.02,
    level: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """A voiced, vowel-like sound: harmonics shaped by /a/ formants, with a pitch glide.

    Not speech, but it has a pitch contour, harmonics and an amplitude envelope, which is what
    prosody-driven models react to. Deterministic for a given ``seed``.

    Args:
        duration: length in seconds.
        f0_start, f0_end: fundamental frequency at the start and end, in Hz (linear glide).
        sample_rate: output rate in Hz.
        vibrato_hz, vibrato_depth: pitch modulation rate (Hz) and depth (fraction of f0).
        level: peak amplitude.
        seed: seeds the breath noise.

    Returns:
        float32 mono signal.
    """
    n = round(duration * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = np.linspace(f0_start, f0_end, n) * (1 + vibrato_depth * np.sin(2 * np.pi * vibrato_hz * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    formants = ((730.0, 90.0), (1090.0, 110.0), (2440.0, 170.0))  # /a/
    out = np.zeros(n)
    for k in range(1, 40):
        fk = k * f0
        gain = sum(np.exp(-0.5 * ((fk - fc) / bw) ** 2) for fc, bw in formants) + 0.02 / k
        out += np.where(fk < sample_rate / 2, gain, 0.0) * np.sin(k * phase)
    rng = np.random.default_rng(seed)
    out += 0.01 * rng.standard_normal(n)
    # Syllable-like amplitude envelope: 4 Hz modulation under a fade in/out.
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t) ** 2
    fade = np.minimum(1.0, np.minimum(t, duration - t) / 0.05)
    out *= envelope * np.clip(fade, 0.0, 1.0)
    peak = float(np.max(np.abs(out))) or 1.0
    return (level * out / peak).astype(np.float32)


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return shutil.which("espeak-ng") is not None


def espeak_wav(
    text: str = _SENTENCE,
    *,
    speed: int = 170,
    pitch: int = 50,
    amplitude: int = 100,
    voice: str = "en-us",
    timeout: float = 30.0,
) -> bytes:
    """Speech synthesised by espeak-ng, as WAV bytes (22.05 kHz mono).

    Args:
        text: what to say.
        speed: words per minute (80-450).
        pitch: 0-99 (50 is the voice's normal pitch).
        amplitude: 0-200 (100 is normal).
        voice: an espeak-ng voice name.
        timeout: seconds before giving up.

    Raises:
        RuntimeError: espeak-ng is missing or failed.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "speech.wav")
        cmd = [
            exe,
            "-v",
            voice,
            "-s",
            str(speed),
            "-p",
            str(pitch),
            "-a",
            str(amplitude),
            "-w",
            out,
            text,
        ]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"espeak-ng failed: {done.stderr.decode(errors='replace')}")
        return Path(out).read_bytes()
