"""Pure numpy helpers on 1-D float signals: trimming, peak / loudness normalisation, padding or
cropping to a length, and cutting into analysis windows."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from ser_core.audio.base import Window, _dbfs

_MAX_LOUDNESS_GAIN_DB = 40.0


def speech_bounds(
    signal: np.ndarray, sample_rate: int, top_db: float = 40.0, frame_dur: float = 0.025
) -> tuple[int, int]:
    """``(start, stop)`` samples of ``signal`` without its leading and trailing silence.

    Frames (``frame_dur`` long, hop a quarter of that, centred like librosa's) whose RMS is
    more than ``top_db`` below the loudest frame are silence. The cut is made at the centre
    of the first and one hop after the last loud frame, which keeps a few milliseconds of
    margin around the speech.

    Args:
        signal: 1-D float signal.
        sample_rate: its sample rate in Hz.
        top_db: how far below the loudest frame counts as silence, in dB.
        frame_dur: frame length in seconds.

    Returns:
        ``(start, stop)`` with ``start < stop``; ``(0, len(signal))`` when the signal is all
        silence or shorter than one frame.
    """
    signal = np.asarray(signal)
    n = signal.shape[0]
    frame = max(1, round(frame_dur * sample_rate))
    hop = max(1, frame // 4)
    if n <= frame:
        return 0, n
    padded = np.pad(signal.astype(np.float64), (frame // 2, frame // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop]
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    loudest = float(rms.max())
    if loudest <= 0.0:
        return 0, n
    loud = np.flatnonzero(rms > loudest * 10.0 ** (-top_db / 20.0))
    start = int(loud[0]) * hop
    end = min(n, (int(loud[-1]) + 1) * hop)
    return (start, end) if end > start else (0, n)


def trim_silence(
    signal: np.ndarray, sample_rate: int, top_db: float = 40.0, frame_dur: float = 0.025
) -> np.ndarray:
    """Remove leading and trailing silence (:func:`speech_bounds`).

    Returns:
        The trimmed signal (a view), or ``signal`` itself when it is all silence or shorter
        than one frame: the result is never empty.
    """
    signal = np.asarray(signal)
    start, stop = speech_bounds(signal, sample_rate, top_db, frame_dur)
    return signal if (start, stop) == (0, len(signal)) else signal[start:stop]


def normalize_peak(
    signal: np.ndarray, peak_dbfs: float = -1.0, *, max_gain_db: float | None = None
) -> np.ndarray:
    """Scale so the largest absolute sample is at ``peak_dbfs``.

    Args:
        signal: float signal.
        peak_dbfs: wanted peak level in dBFS (-1 dBFS leaves headroom for later processing).
        max_gain_db: if given, never amplify by more than this many dB.

    Returns:
        A new float32 array (an unchanged copy when the signal is all zeros).
    """
    signal = np.asarray(signal, dtype=np.float32)
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    if peak == 0.0:
        return signal.copy()
    gain_db = peak_dbfs - _dbfs(peak)
    if max_gain_db is not None:
        gain_db = min(gain_db, max_gain_db)
    return (signal * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)


def normalize_loudness(
    signal: np.ndarray,
    sample_rate: int,
    target_dbfs: float = -23.0,
    *,
    max_gain_db: float = _MAX_LOUDNESS_GAIN_DB,
    peak_ceiling: float = 1.0,
) -> np.ndarray:
    """Scale to a target RMS level, ignoring pauses.

    The level is a gated RMS in dBFS (full-scale sine = -3 dBFS): the signal is cut into 100 ms
    blocks, blocks below -70 dBFS and then blocks more than 10 dB below the mean of the rest
    are ignored (the gating of EBU R128, but without its K-weighting, so this is not LUFS).
    Gain is capped at ``max_gain_db`` so near-silence is not blown up into loud noise, and
    lowered if needed so the peak stays within ``peak_ceiling`` (clipping distorts more than a
    slightly low level).

    Args:
        signal: 1-D float signal.
        sample_rate: its sample rate in Hz (sets the block length).
        target_dbfs: wanted gated RMS level in dBFS.
        max_gain_db: largest amplification, in dB.
        peak_ceiling: largest absolute sample allowed after scaling.

    Returns:
        A new float32 array (an unchanged copy when every block is below -70 dBFS).
    """
    signal = np.asarray(signal, dtype=np.float32)
    block = max(1, round(0.1 * sample_rate))
    values = signal.astype(np.float64)
    n_blocks = max(1, math.ceil(values.shape[0] / block))
    padded = np.pad(values, (0, n_blocks * block - values.shape[0]))
    power = np.mean(padded.reshape(n_blocks, block) ** 2, axis=1)
    kept = power[power > 10.0 ** (-70.0 / 10.0)]
    if kept.size == 0:
        return signal.copy()
    kept = kept[kept > np.mean(kept) * 10.0 ** (-10.0 / 10.0)]
    level_db = 10.0 * math.log10(float(np.mean(kept)))
    gain_db = min(target_dbfs - level_db, max_gain_db)
    gain = 10.0 ** (gain_db / 20.0)
    peak = float(np.max(np.abs(values)))
    if peak * gain > peak_ceiling:
        gain = peak_ceiling / peak
    return (values * gain).astype(np.float32)


def pad_or_crop(
    signal: np.ndarray,
    length: int,
    *,
    mode: Literal["center", "start", "end", "random"] = "center",
    rng: np.random.Generator | int | None = None,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Make a signal exactly ``length`` samples long.

    ``mode`` says which part is kept and where the signal sits:

    - ``"center"``: crop equally from both ends / pad equally on both sides (the odd sample
      goes to the end);
    - ``"start"``: keep the beginning (crop the end) / pad at the end;
    - ``"end"``: keep the end (crop the beginning) / pad at the beginning;
    - ``"random"``: a random crop offset / a random split of the padding (for training).

    Args:
        signal: 1-D signal.
        length: wanted number of samples (>= 0).
        mode: see above.
        rng: random generator or seed, used by ``"random"`` only.
        pad_mode: :func:`numpy.pad` mode (``"constant"`` pads with zeros; ``"reflect"``,
            ``"wrap"``, ``"edge"``, ... also work).

    Returns:
        The cropped signal (a view) or a new padded array; ``signal`` itself if it already
        has the length.

    Raises:
        ValueError: a negative length, an unknown mode, or non-constant padding of an empty
            signal.
    """
    signal = np.asarray(signal)
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    if mode not in ("center", "start", "end", "random"):
        raise ValueError(f"mode must be 'center', 'start', 'end' or 'random', got {mode!r}")
    n = signal.shape[0]
    extra = abs(n - length)
    if extra == 0:
        return signal
    if mode == "start":
        offset = 0
    elif mode == "end":
        offset = extra
    elif mode == "center":
        offset = extra // 2
    else:
        offset = int(np.random.default_rng(rng).integers(0, extra + 1))
    if n > length:
        return signal[offset : offset + length]
    if n == 0 and pad_mode != "constant":
        raise ValueError(f"cannot pad an empty signal with pad_mode={pad_mode!r}")
    return np.pad(signal, (offset, extra - offset), mode=pad_mode)  # type: ignore[call-overload]


def frame_windows(
    signal: np.ndarray,
    sample_rate: int,
    win_dur: float,
    hop_dur: float,
    *,
    pad_last: bool = True,
) -> list[Window]:
    """Cut a signal into (possibly overlapping) fixed-length windows.

    Windows start at 0, ``hop``, ``2 * hop``, ... With ``pad_last`` the last partial window is
    kept and zero-padded to the full length, so no audio is dropped; without it, trailing
    samples that do not fill a whole window are dropped. A signal shorter than one window
    always gives exactly one zero-padded window.

    Args:
        signal: 1-D signal.
        sample_rate: its sample rate in Hz.
        win_dur: window length in seconds.
        hop_dur: distance between window starts in seconds.
        pad_last: keep (zero-padded) the last partial window.

    Returns:
        The windows in time order. Full windows are read-only views into ``signal``.

    Raises:
        ValueError: an empty signal, or a window or hop shorter than one sample.
    """
    signal = np.asarray(signal)
    win = round(win_dur * sample_rate)
    hop = round(hop_dur * sample_rate)
    if win < 1 or hop < 1:
        raise ValueError(
            f"win_dur and hop_dur must each be at least one sample long at {sample_rate} Hz, "
            f"got {win_dur} s and {hop_dur} s"
        )
    n = signal.shape[0]
    if n == 0:
        raise ValueError("cannot cut windows from an empty signal")
    if n <= win:
        starts = [0]
    else:
        count = (n - win) // hop + 1  # full windows
        starts = [i * hop for i in range(count)]
        last_end = starts[-1] + win
        # With hop > win the gap after the last full window may reach the end: nothing to add.
        if pad_last and last_end < n and count * hop < n:
            starts.append(count * hop)
    windows = []
    for start in starts:
        stop = min(start + win, n)
        chunk = signal[start:stop]
        if chunk.shape[0] < win:
            chunk = np.pad(chunk, (0, win - chunk.shape[0]))
        else:
            chunk = chunk.view()
            chunk.flags.writeable = False
        windows.append(Window(start=start / sample_rate, end=stop / sample_rate, signal=chunk))
    return windows
