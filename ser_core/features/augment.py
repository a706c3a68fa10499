"""Training-time augmentation: seeded waveform transforms (audiomentations) and SpecAugment.

Never use these at evaluation or inference time.

Seeding audiomentations
    audiomentations 0.43 draws every random decision from Python's global :mod:`random`
    (whether to apply, SNR, rate, semitones, shift) and the noise itself from the global
    ``np.random``; its transforms take no seed or generator. :class:`WaveformAugmenter`
    therefore owns a private state for both generators and, for the duration of each call,
    swaps it into the globals under a process-wide lock and swaps the caller's global states
    back afterwards. Consequences: the k-th call of two augmenters built with the same seed
    gives the same output; other code's use of the global generators neither disturbs nor is
    disturbed by augmentation (except code in *other threads* drawing from ``random`` /
    ``np.random`` during a call, which would interleave with it). In a ``torch`` DataLoader
    each worker process starts with a copy of the same state: call :meth:`WaveformAugmenter.reseed`
    with ``base_seed + worker_id`` in ``worker_init_fn`` so workers do not repeat each other.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

# One lock for every augmenter: the global generators they borrow are shared by the process.
_GLOBAL_RNG_LOCK = threading.Lock()


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the waveform augmentations (applied in this order).

    Defaults are mild on purpose: emotion lives partly in pitch and tempo, so large pitch shifts
    or time stretches could change the label they are meant to preserve.

    Attributes:
        time_stretch_p, min_rate, max_rate: ``TimeStretch`` (tempo ×rate, pitch kept; output
            cropped / zero-padded to the input length).
        pitch_shift_p, min_semitones, max_semitones: ``PitchShift`` (tempo kept).
        shift_p, max_shift, shift_rollover: ``Shift`` by up to ±``max_shift`` of the length;
            without rollover the vacated part is zeros (silence) instead of wrapped audio.
        noise_p, min_snr_db, max_snr_db: ``AddGaussianSNR``, SNR drawn uniformly in dB; last,
            so the noise is not itself stretched or shifted.
        method: ``"signalsmith_stretch"`` (fast, good quality; audiomentations' default) or
            ``"librosa_phase_vocoder"`` for stretching and pitch shifting.
    """

    time_stretch_p: float = 0.3
    min_rate: float = 0.9
    max_rate: float = 1.1
    pitch_shift_p: float = 0.3
    min_semitones: float = -2.0
    max_semitones: float = 2.0
    shift_p: float = 0.5
    max_shift: float = 0.1
    shift_rollover: bool = False
    noise_p: float = 0.5
    min_snr_db: float = 10.0
    max_snr_db: float = 40.0
    method: str = "signalsmith_stretch"

    def __post_init__(self) -> None:
        for name in ("time_stretch_p", "pitch_shift_p", "shift_p", "noise_p"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        if not 0.0 <= self.max_shift <= 1.0:
            raise ValueError(f"max_shift must be a fraction in [0, 1], got {self.max_shift}")

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-safe dict (to save beside an experiment)."""
        return dataclasses.asdict(self)

    def build(self) -> Any:
        """The ``audiomentations.Compose`` pipeline for this config (unseeded)."""
        from audiomentations import AddGaussianSNR, Compose, PitchShift, Shift, TimeStretch

        return Compose(
            [
                TimeStretch(
                    min_rate=self.min_rate,
                    max_rate=self.max_rate,
                    leave_length_unchanged=True,
                    method=self.method,  # type: ignore[arg-type]
                    p=self.time_stretch_p,
                ),
                PitchShift(
                    min_semitones=self.min_semitones,
                    max_semitones=self.max_semitones,
                    method=self.method,  # type: ignore[arg-type]
                    p=self.pitch_shift_p,
                ),
                Shift(
                    min_shift=-self.max_shift,
                    max_shift=self.max_shift,
                    shift_unit="fraction",
                    rollover=self.shift_rollover,
                    p=self.shift_p,
                ),
                AddGaussianSNR(
                    min_snr_db=self.min_snr_db, max_snr_db=self.max_snr_db, p=self.noise_p
                ),
            ]
        )


class WaveformAugmenter:
    """Seeded, length-preserving waveform augmentation with audiomentations.

    Args:
        config: what to apply and how strongly.
        seed: makes the sequence of outputs reproducible; ``None`` seeds from OS entropy.

    Example:
        >>> aug = WaveformAugmenter(AugmentConfig(), seed=0)         # doctest: +SKIP
        >>> noisy = aug(clip.signal, 16000)                           # doctest: +SKIP
    """

    def __init__(self, config: AugmentConfig | None = None, seed: int | None = None) -> None:
        self.config = config if config is not None else AugmentConfig()
        self.transform = self.config.build()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the random sequence from ``seed`` (e.g. per DataLoader worker)."""
        # Two independent streams from one seed, so Python's and numpy's draws are unrelated.
        words = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint32)
        py = random.Random(int(words[0]) << 32 | int(words[1]))
        self._py_state = py.getstate()
        self._np_state = np.random.RandomState(words[2:]).get_state()

    def __call__(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        """Augment a mono float signal; returns a new float32 array of the same length."""
        x = np.ascontiguousarray(signal, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"expected a mono 1-D signal, got shape {x.shape}")
        # The legacy global numpy state is what audiomentations draws from (see module doc).
        with _GLOBAL_RNG_LOCK:
            saved_py, saved_np = random.getstate(), np.random.get_state()  # noqa: NPY002
            try:
                random.setstate(self._py_state)
                np.random.set_state(self._np_state)  # noqa: NPY002
                # Copy: Shift and friends may write into the array they are given.
                out = self.transform(samples=x.copy(), sample_rate=int(sample_rate))
                self._py_state = random.getstate()
                self._np_state = np.random.get_state()  # noqa: NPY002
            finally:
                random.setstate(saved_py)
                np.random.set_state(saved_np)  # noqa: NPY002
        out = np.asarray(out, dtype=np.float32)
        # audiomentations 0.43 keeps the length; this guards the contract against other versions.
        if out.shape[0] != x.shape[0]:
            out = (
                out[: x.shape[0]]
                if out.shape[0] > x.shape[0]
                else np.pad(out, (0, x.shape[0] - out.shape[0]))
            )
        return out


def speed_perturb(signal: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Play ``signal`` ``factor`` times faster (tempo and pitch together, Kaldi-style).

    Speed perturbation (Ko et al., Interspeech 2015): resample as if the clip had been recorded
    at ``factor × sample_rate``, so ``factor=1.1`` gives a clip 1/1.1 as long and about 1.65
    semitones higher. Deterministic, so a perturbed copy can be featurised once and cached.

    Raises:
        ValueError: ``factor`` outside (0.5, 2).
    """
    if not 0.5 < factor < 2.0:
        raise ValueError(f"speed factor must be in (0.5, 2), got {factor}")
    if factor == 1.0:
        return np.asarray(signal, dtype=np.float32)
    import librosa

    source_rate = round(sample_rate * factor)
    out = librosa.resample(
        np.asarray(signal, dtype=np.float32), orig_sr=source_rate, target_sr=sample_rate
    )
    return np.ascontiguousarray(out, dtype=np.float32)


#: Bump when :func:`channel_copy` changes, so cached copies made the old way are not reused.
CHANNEL_COPY_VERSION = 1


def channel_copy(signal: np.ndarray, sample_rate: int, seed: int) -> np.ndarray:
    """The clip as another microphone, room and network might deliver it (deterministic).

    What real use adds to a studio recording, each drawn from ``seed`` alone, so a copy can be
    featurised once and cached (like :func:`speed_perturb`):

    * a room: reverberation from a synthetic shoebox impulse response (audiomentations'
      ``RoomSimulator`` on pyroomacoustics; RT60 0.15-0.8 s), half of the copies;
    * noise: coloured noise (white to brown) at 5-20 dB SNR, four copies in five;
    * a codec: an Opus (12-32 kbit/s, what WebRTC sends) or MP3 (32-96 kbit/s) round trip
      through FFmpeg (PyAV), half of the copies;
    * gain: -9 to +3 dB, clipped at full scale as a converter would.

    Training data only; never at evaluation or inference.
    """
    import random

    from audiomentations import AddColorNoise, Compose, Gain, RoomSimulator

    def _rms(a: np.ndarray) -> float:
        return float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))

    x = np.asarray(signal, dtype=np.float32).reshape(-1)
    rng = np.random.default_rng(seed)
    room = RoomSimulator(leave_length_unchanged=True, use_ray_tracing=False, max_order=3, p=1.0)
    rest = Compose(
        [
            AddColorNoise(min_snr_db=5.0, max_snr_db=20.0, p=0.8),
            Gain(min_gain_db=-9.0, max_gain_db=3.0, p=1.0),
        ]
    )
    with _GLOBAL_RNG_LOCK:  # audiomentations draws from the global generators (module docstring)
        saved = random.getstate(), np.random.get_state()  # noqa: NPY002
        try:
            random.seed(int(rng.integers(2**31)))
            np.random.seed(int(rng.integers(2**31)))  # noqa: NPY002
            out = x
            if rng.random() < 0.5:
                # The simulated room scales the level arbitrarily; a recorder's gain would not.
                wet = room(samples=x, sample_rate=sample_rate)
                out = wet * (_rms(x) / max(_rms(wet), 1e-9))
            out = rest(samples=out.astype(np.float32), sample_rate=sample_rate)
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])  # noqa: NPY002
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            out = codec_round_trip(out, sample_rate, "libopus", int(rng.integers(12, 33)) * 1000)
        else:
            out = codec_round_trip(out, sample_rate, "libmp3lame", int(rng.integers(32, 97)) * 1000)
    return np.ascontiguousarray(np.clip(out, -1.0, 1.0), dtype=np.float32)


def codec_round_trip(signal: np.ndarray, sample_rate: int, codec: str, bit_rate: int) -> np.ndarray:
    """Encode a mono signal with ``codec`` (``"libopus"``, ``"libmp3lame"``) at ``bit_rate`` in
    memory and decode it back to ``sample_rate``, as long as the input (trimmed or zero-padded:
    codecs add a delay and pad the last frame)."""
    import io

    import av

    x = np.asarray(signal, dtype=np.float32).reshape(-1)
    container = "ogg" if codec == "libopus" else "mp3"
    rate = 48_000 if codec == "libopus" else sample_rate  # Opus runs at 48 kHz
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = sample_rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for piece in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buffer.seek(0)
    back = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks = []
    with av.open(buffer, "r") as decoded:
        for frame in decoded.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in back.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in back.resample(None)]
    y = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    y = y[: len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))
    return y.astype(np.float32, copy=False)


def _draw_width(rng: np.random.Generator, width: int | tuple[int, int], size: int) -> int:
    lo, hi = (0, width) if isinstance(width, int) else width
    if not 0 <= lo <= hi:
        raise ValueError(f"mask width range must satisfy 0 <= low <= high, got {width}")
    return min(int(rng.integers(lo, hi + 1)), size)


def spec_augment(
    spec: np.ndarray,
    rng: np.random.Generator,
    n_freq_masks: int = 2,
    freq_width: int | tuple[int, int] = 8,
    n_time_masks: int = 2,
    time_width: int | tuple[int, int] = 20,
    *,
    max_time_fraction: float = 1.0,
    fill: str | float = "mean",
) -> np.ndarray:
    """SpecAugment frequency and time masking (no time warping) on a ``(..., freq, time)`` array.

    Each mask has a width drawn uniformly from ``0..width`` (an ``int``) or ``low..high`` (a
    tuple, inclusive), clipped to the axis, and a uniform start; masks may overlap. Leading
    axes (channels) share the masks.

    Args:
        spec: features with frequency on axis -2 and time on axis -1.
        rng: the generator all draws come from (seed it for reproducible masks).
        n_freq_masks, freq_width: number and width (bands) of frequency masks.
        n_time_masks, time_width: number and width (frames) of time masks.
        max_time_fraction: a time mask is at most this fraction of the frames (SpecAugment's
            ``p``), which protects short clips.
        fill: ``"mean"`` (the mean of ``spec``: right for dB log-mels, where 0 would be the
            loudest possible value), ``"zero"`` (right for mean-normalised features) or a number.

    Returns:
        A masked copy; ``spec`` is not modified.
    """
    if spec.ndim < 2:
        raise ValueError(f"spec must have frequency and time axes, got shape {spec.shape}")
    out = np.array(spec, copy=True)
    value = _fill_value(fill, float(spec.mean()))
    n_freq, n_time = out.shape[-2], out.shape[-1]
    for _ in range(n_freq_masks):
        w = _draw_width(rng, freq_width, n_freq)
        f0 = int(rng.integers(0, n_freq - w + 1))
        out[..., f0 : f0 + w, :] = value
    t_cap = int(max_time_fraction * n_time)
    for _ in range(n_time_masks):
        w = min(_draw_width(rng, time_width, n_time), t_cap)
        t0 = int(rng.integers(0, n_time - w + 1))
        out[..., t0 : t0 + w] = value
    return out


def _fill_value(fill: str | float, mean: float) -> float:
    if fill == "mean":
        return mean
    if fill == "zero":
        return 0.0
    if isinstance(fill, str):
        raise ValueError(f"fill must be 'mean', 'zero' or a number, got {fill!r}")
    return float(fill)


def spec_augment_torch(
    spec: torch.Tensor,
    n_freq_masks: int = 2,
    freq_width: int | tuple[int, int] = 8,
    n_time_masks: int = 2,
    time_width: int | tuple[int, int] = 20,
    *,
    max_time_fraction: float = 1.0,
    fill: str | float = "mean",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Batched SpecAugment on a ``(batch, ..., freq, time)`` tensor, masks drawn per item.

    Same parameters as :func:`spec_augment`; ``"mean"`` fills with each item's own mean. Runs on
    the tensor's device; pass a seeded ``generator`` (on that device) for reproducible masks.
    """
    import torch

    if spec.ndim < 3:
        raise ValueError(f"spec must be (batch, ..., freq, time), got shape {tuple(spec.shape)}")
    batch, n_freq, n_time = spec.shape[0], spec.shape[-2], spec.shape[-1]
    device = spec.device
    view = (batch,) + (1,) * (spec.ndim - 1)
    if fill == "mean":
        value = spec.reshape(batch, -1).mean(dim=1).reshape(view)
    else:
        value = torch.full(view, _fill_value(fill, 0.0), dtype=spec.dtype, device=device)

    def masks(count: int, width: int | tuple[int, int], size: int, cap: int) -> torch.Tensor:
        lo, hi = (0, width) if isinstance(width, int) else width
        hi, lo = min(hi, size, cap), min(lo, size, cap)
        pos = torch.arange(size, device=device)
        hit = torch.zeros(batch, size, dtype=torch.bool, device=device)
        for _ in range(count):
            w = torch.randint(lo, hi + 1, (batch,), generator=generator, device=device)
            u = torch.rand(batch, generator=generator, device=device)
            start = (u * (size - w + 1).to(u.dtype)).long()
            hit |= (pos[None, :] >= start[:, None]) & (pos[None, :] < (start + w)[:, None])
        return hit

    cap = int(max_time_fraction * n_time)
    freq_hit = masks(n_freq_masks, freq_width, n_freq, n_freq)
    time_hit = masks(n_time_masks, time_width, n_time, cap)
    lead = (1,) * (spec.ndim - 3)
    mask = freq_hit.reshape(batch, *lead, n_freq, 1) | time_hit.reshape(batch, *lead, 1, n_time)
    return torch.where(mask, value.to(spec.dtype), spec)
