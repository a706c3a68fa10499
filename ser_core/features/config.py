"""Feature configurations: one frozen dataclass per feature, all parameters in it.

A config is plain data. ``to_dict()`` gives a JSON-safe dict (with the feature's ``kind``) that
can be saved next to model weights and turned back into the same config with
:func:`config_from_dict`; ``cache_key()`` is a short stable hash of that dict, used to name
on-disk caches, so two configs with equal parameters share a cache and any changed parameter
gets a new one.

Framing defaults follow the speech convention: 16 kHz, 25 ms windows (``win_length=400``) every
10 ms (``hop_length=160``), FFT size 512 (next power of two above the window), frames centred on
``t = i * hop_length / sample_rate`` (``center=True``, zero padding), so a signal of ``n``
samples gives ``1 + n // hop_length`` frames.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: Sampling rate every feature expects by default (what ``ser_core.audio`` resamples to).
DEFAULT_SAMPLE_RATE = 16000

#: ImageNet channel statistics (RGB), used to normalise spectrogram images for pretrained CNNs.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

_CONFIG_TYPES: dict[str, type[FeatureConfig]] = {}


@dataclass(frozen=True)
class FeatureConfig:
    """Base class of every feature configuration.

    Subclasses set the class attribute ``kind`` (a short unique name such as ``"logmel"``) and
    are registered automatically, so :func:`config_from_dict` can rebuild them.
    """

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            if cls.kind in _CONFIG_TYPES and _CONFIG_TYPES[cls.kind].__name__ != cls.__name__:
                raise ValueError(f"feature kind {cls.kind!r} is already registered")
            _CONFIG_TYPES[cls.kind] = cls

    @property
    def rate(self) -> int:
        """The sampling rate (Hz) the input signal must have."""
        return int(getattr(self, "sample_rate", DEFAULT_SAMPLE_RATE))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every parameter plus ``"kind"``; nested configs are dicts too."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            out[f.name] = _to_jsonable(getattr(self, f.name))
        return out

    def cache_key(self) -> str:
        """A 16-hex-digit hash of :meth:`to_dict`, stable across processes and machines."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    def replace(self, **changes: Any) -> FeatureConfig:
        """A copy with some parameters changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, FeatureConfig):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_to_jsonable(v) for v in value]
    return value


def config_from_dict(data: Mapping[str, Any]) -> FeatureConfig:
    """Rebuild a config from :meth:`FeatureConfig.to_dict` output (e.g. read from JSON).

    Raises:
        ValueError: the ``kind`` is missing or unknown, or a parameter is not accepted.
    """
    kind = data.get("kind")
    if kind not in _CONFIG_TYPES:
        raise ValueError(
            f"unknown feature kind {kind!r}; known kinds: {', '.join(sorted(_CONFIG_TYPES))}"
        )
    cls = _CONFIG_TYPES[kind]
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "kind":
            continue
        if key not in names:
            raise ValueError(f"{cls.__name__} has no parameter {key!r}")
        if isinstance(value, Mapping) and "kind" in value:
            value = config_from_dict(value)
        elif isinstance(value, list):
            value = tuple(value)  # JSON has no tuples; configs store sequences as tuples
        kwargs[key] = value
    return cls(**kwargs)


def feature_kinds() -> list[str]:
    """The names of every registered feature kind."""
    return sorted(_CONFIG_TYPES)


def config_type(kind: str) -> type[FeatureConfig] | None:
    """The config class registered under ``kind`` (None for an unknown kind)."""
    return _CONFIG_TYPES.get(kind)


def _check_framing(
    sample_rate: int, n_fft: int, win_length: int, hop_length: int, fmin: float, fmax: float | None
) -> None:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not 0 < win_length <= n_fft:
        raise ValueError(f"win_length must be in 1..n_fft={n_fft}, got {win_length}")
    if hop_length <= 0:
        raise ValueError(f"hop_length must be positive, got {hop_length}")
    top = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < top <= sample_rate / 2:
        raise ValueError(
            f"need 0 <= fmin < fmax <= sample_rate/2 = {sample_rate / 2}, got fmin={fmin}, "
            f"fmax={fmax}"
        )


@dataclass(frozen=True)
class LogMelConfig(FeatureConfig):
    """Log-mel spectrogram; output shape ``(n_mels, frames)``, row 0 = lowest band.

    Attributes:
        sample_rate: expected input rate (Hz); other rates raise instead of being resampled.
        n_fft: FFT size (512 at 16 kHz; the 400-sample window is zero-padded to it).
        win_length: analysis window in samples (400 = 25 ms, Hann).
        hop_length: frame step in samples (160 = 10 ms).
        n_mels: mel bands. 64 is the default here (enough resolution for speech up to 8 kHz and
            half the compute of 128); 128 is the other common choice (and the image default).
        fmin, fmax: mel filterbank range in Hz (``fmax=None`` means ``sample_rate / 2``).
        power: 2.0 for a power spectrogram, 1.0 for magnitude.
        log: ``"db"`` for ``10*log10(max(S, 1e-10))`` relative to 1.0 (absolute, so loudness
            differences between utterances are kept), clipped at ``top_db`` below the
            utterance maximum; ``"log"`` for ``ln(S + log_offset)``.
        top_db: dynamic range kept in ``"db"`` mode (``None`` = no clipping).
        log_offset: offset added before ``ln`` in ``"log"`` mode.
        normalize: ``"none"``; ``"utterance"`` = subtract the mean and divide by the standard
            deviation of the whole spectrogram; ``"band"`` = the same per mel band over time
            (CMVN; removes the channel but also the long-term spectral tilt).
    """

    kind: ClassVar[str] = "logmel"

    sample_rate: int = DEFAULT_SAMPLE_RATE
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float | None = 8000.0
    power: float = 2.0
    log: str = "db"
    top_db: float | None = 80.0
    log_offset: float = 1e-6
    normalize: str = "none"

    def __post_init__(self) -> None:
        _check_framing(
            self.sample_rate, self.n_fft, self.win_length, self.hop_length, self.fmin, self.fmax
        )
        if self.n_mels <= 0:
            raise ValueError(f"n_mels must be positive, got {self.n_mels}")
        if self.log not in ("db", "log"):
            raise ValueError(f"log must be 'db' or 'log', got {self.log!r}")
        if self.normalize not in ("none", "utterance", "band"):
            raise ValueError(
                f"normalize must be 'none', 'utterance' or 'band', got {self.normalize!r}"
            )
        if self.top_db is not None and self.top_db <= 0:
            raise ValueError(f"top_db must be positive or None, got {self.top_db}")


@dataclass(frozen=True)
class MFCCConfig(FeatureConfig):
    """MFCCs (DCT-II of the dB mel spectrogram), optionally with deltas.

    Output shape ``(rows, frames)`` with ``rows = n_mfcc`` without deltas and ``3 * n_mfcc`` with
    them: rows ``[0, n_mfcc)`` static, ``[n_mfcc, 2n)`` first-order delta, ``[2n, 3n)`` second
    order. Framing as :class:`LogMelConfig`.

    Attributes:
        n_mfcc: coefficients kept (40 here; 13 is the classic ASR choice). Includes c0.
        n_mels: mel bands the DCT is taken over (must be >= ``n_mfcc``).
        deltas: stack first- and second-order deltas (``librosa.feature.delta``).
        delta_width: frames in the delta regression window (odd, >= 3; shortened for clips
            with fewer frames).
        cmvn: per-row mean and variance normalisation over time (after stacking deltas).
    """

    kind: ClassVar[str] = "mfcc"

    sample_rate: int = DEFAULT_SAMPLE_RATE
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float | None = 8000.0
    n_mfcc: int = 40
    deltas: bool = True
    delta_width: int = 9
    cmvn: bool = False

    def __post_init__(self) -> None:
        _check_framing(
            self.sample_rate, self.n_fft, self.win_length, self.hop_length, self.fmin, self.fmax
        )
        if not 0 < self.n_mfcc <= self.n_mels:
            raise ValueError(f"need 0 < n_mfcc <= n_mels, got {self.n_mfcc}, {self.n_mels}")
        if self.delta_width < 3 or self.delta_width % 2 == 0:
            raise ValueError(f"delta_width must be odd and >= 3, got {self.delta_width}")

    @property
    def n_rows(self) -> int:
        """Rows of the output: ``n_mfcc`` or ``3 * n_mfcc`` with deltas."""
        return self.n_mfcc * (3 if self.deltas else 1)


@dataclass(frozen=True)
class SpectrogramImageConfig(FeatureConfig):
    """A log-mel spectrogram rendered as an ImageNet-style image; output ``(3, height, width)``.

    Steps: dB log-mel from ``logmel`` (128 bands by default) → scaled to [0, 1] over a fixed
    ``top_db`` range below the utterance maximum (loudness-invariant, silence = 0) → time axis
    fitted (``fit``) → both axes resized to ``height × width`` with bilinear interpolation
    (half-pixel centres, like ``torch.nn.functional.interpolate(..., align_corners=False)``;
    no anti-aliasing) → three channels → per-channel ImageNet mean/std normalisation. Row 0 is
    the lowest mel band (the same orientation as the log-mel array, not a picture's
    low-frequencies-at-the-bottom); a CNN does not care and the app can flip for display.

    Attributes:
        logmel: the underlying log-mel parameters (its ``log`` must be ``"db"``,
            ``normalize`` must be ``"none"``).
        height, width: image size (224 × 224 for ImageNet CNNs).
        fit: ``"resize"`` stretches the whole utterance to ``width`` columns (any duration →
            one image; time scale differs between clips); ``"pad"`` first crops / zero-pads to
            ``duration`` seconds (from the start) so every column covers the same time.
        duration: seconds kept in ``"pad"`` mode.
        channels: ``"replicate"`` copies the image into R, G and B; ``"deltas"`` puts the
            log-mel, its first and its second delta (each scaled to [0, 1]) in R, G, B.
        imagenet_norm: apply ``(x - IMAGENET_MEAN) / IMAGENET_STD`` per channel.
    """

    kind: ClassVar[str] = "spectrogram_image"

    logmel: LogMelConfig = field(default_factory=lambda: LogMelConfig(n_mels=128))
    height: int = 224
    width: int = 224
    fit: str = "resize"
    duration: float = 4.0
    channels: str = "replicate"
    imagenet_norm: bool = True

    def __post_init__(self) -> None:
        if self.logmel.log != "db" or self.logmel.normalize != "none":
            raise ValueError("SpectrogramImageConfig needs logmel.log='db', normalize='none'")
        if self.logmel.top_db is None:
            raise ValueError("SpectrogramImageConfig needs logmel.top_db to scale to [0, 1]")
        if self.height <= 0 or self.width <= 0:
            raise ValueError(f"height and width must be positive, got {self.height}x{self.width}")
        if self.fit not in ("resize", "pad"):
            raise ValueError(f"fit must be 'resize' or 'pad', got {self.fit!r}")
        if self.fit == "pad" and self.duration <= 0:
            raise ValueError(f"duration must be positive, got {self.duration}")
        if self.channels not in ("replicate", "deltas"):
            raise ValueError(f"channels must be 'replicate' or 'deltas', got {self.channels!r}")

    @property
    def sample_rate(self) -> int:
        """The input sampling rate (from ``logmel``)."""
        return self.logmel.sample_rate


@dataclass(frozen=True)
class EGeMAPSConfig(FeatureConfig):
    """openSMILE features, by default the eGeMAPS v02 functionals (88 values per utterance).

    Output: ``(n_features,)`` for ``feature_level="functionals"``; ``(n_lld, frames)`` for
    ``"lld"`` (25 eGeMAPS low-level descriptors, 10 ms hop, 20 ms frames) and ``"lld_deltas"``.
    Clips too short for a functional give NaN (openSMILE's behaviour, kept so the caller
    decides how to impute).

    Attributes:
        sample_rate: expected input rate (openSMILE itself handles any rate; we still refuse a
            mismatch so that every feature sees the same audio).
        feature_set: an ``opensmile.FeatureSet`` member name (``"eGeMAPSv02"``,
            ``"ComParE_2016"``, ...).
        feature_level: ``"functionals"``, ``"lld"`` or ``"lld_deltas"``.
    """

    kind: ClassVar[str] = "egemaps"

    sample_rate: int = DEFAULT_SAMPLE_RATE
    feature_set: str = "eGeMAPSv02"
    feature_level: str = "functionals"

    def __post_init__(self) -> None:
        if self.feature_level not in ("functionals", "lld", "lld_deltas"):
            raise ValueError(
                "feature_level must be 'functionals', 'lld' or 'lld_deltas', got "
                f"{self.feature_level!r}"
            )


#: Statistics :class:`MFCCStatsConfig` may compute over time.
MFCC_STATS = ("mean", "std", "min", "max", "median")


@dataclass(frozen=True)
class MFCCStatsConfig(FeatureConfig):
    """Fixed-length statistics of MFCC (+ deltas) over time; output ``(rows * len(stats),)``.

    A cheap utterance-level baseline for SVM / MLP classifiers: 120 rows × 4 statistics = 480
    values with the defaults. The vector is statistic-major: all means, then all standard
    deviations, ... (see :func:`~ser_core.features.feature_names`).

    Attributes:
        mfcc: the MFCC parameters (``cmvn`` must be off: it would make means 0 and stds 1).
        stats: statistics from ``MFCC_STATS`` in output order.
    """

    kind: ClassVar[str] = "mfcc_stats"

    mfcc: MFCCConfig = field(default_factory=MFCCConfig)
    stats: tuple[str, ...] = ("mean", "std", "min", "max")

    def __post_init__(self) -> None:
        if self.mfcc.cmvn:
            raise ValueError("MFCCStatsConfig needs mfcc.cmvn=False (CMVN fixes mean 0, std 1)")
        if not self.stats or any(s not in MFCC_STATS for s in self.stats):
            raise ValueError(f"stats must be a non-empty subset of {MFCC_STATS}, got {self.stats}")
        # Lists from JSON or callers would make the frozen config unhashable.
        object.__setattr__(self, "stats", tuple(self.stats))

    @property
    def sample_rate(self) -> int:
        """The input sampling rate (from ``mfcc``)."""
        return self.mfcc.sample_rate

    @property
    def dim(self) -> int:
        """Length of the output vector."""
        return self.mfcc.n_rows * len(self.stats)


@dataclass(frozen=True)
class WaveformConfig(FeatureConfig):
    """The raw waveform, so models on raw audio use the same API; output ``(samples,)``.

    Attributes:
        sample_rate: expected input rate.
        duration: if set, crop (from the start) or zero-pad (at the end) to this many seconds.
        normalize: zero-mean / unit-variance per utterance (what wav2vec2-style encoders
            expect); off by default so the identity is the default.
    """

    kind: ClassVar[str] = "waveform"

    sample_rate: int = DEFAULT_SAMPLE_RATE
    duration: float | None = None
    normalize: bool = False

    def __post_init__(self) -> None:
        if self.duration is not None and self.duration <= 0:
            raise ValueError(f"duration must be positive or None, got {self.duration}")
