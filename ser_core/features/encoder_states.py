"""Hidden states of a pretrained speech encoder as a cacheable feature (frozen-encoder training).

:class:`EncoderStatesConfig` names an encoder (``whisper_base``, ``whisper_tiny`` or
``hf:<name-or-path>``, see :func:`ser_core.encoders.load_encoder`); ``extract(config, signal)``
returns every hidden layer of the clip, **time last** like every other time-series feature here::

    (layers, dim, frames)      layers = num_layers + 1 for layers="all", frames at 50 per second

so ``pad_batch`` (time on the last axis), ``FeatureCache`` and the models' ``lengths`` work on it
as on a log-mel. The array is float16 by default, which halves the cache: a 3 s clip of
``whisper_base`` (7 × 512 × 150) takes ~1.1 MB on disk instead of 2.2 MB (``whisper_tiny``: 5 ×
384 × 150, ~0.6 MB; a 12-layer base-size wav2vec2: 13 × 768 × 150, ~3 MB). Emotion corpora of a
few thousand clips therefore need a few GB of cache; ``layers=`` keeps fewer layers when that
matters (a subset is cut from an existing all-layer cache entry of the same clip, dtype and
encoder, without running the encoder: :meth:`EncoderStatesConfig.derived_from`). float16 keeps
~3 significant digits, far below the variation the heads learn from.

The encoder is loaded once per process (:func:`cached_encoder`) and reused by every extraction and
by the models' ``explain_signal``. Nothing is downloaded unless an ``hf:`` encoder was loaded with
``allow_download=True`` first (``cached_encoder(name, allow_download=True)``, or a model built
with ``allow_download=True``).

Example:
    >>> import numpy as np                                             # doctest: +SKIP
    >>> from ser_core.features import EncoderStatesConfig, extract     # doctest: +SKIP
    >>> extract(EncoderStatesConfig("whisper_base"), np.zeros(48000, np.float32)).shape  # +SKIP
    (7, 512, 150)
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ser_core.features.config import DEFAULT_SAMPLE_RATE, FeatureConfig
from ser_core.features.recent import clear_recent_features

if TYPE_CHECKING:  # torch and transformers are imported only when an encoder is needed
    import torch

    from ser_core.encoders import SpeechEncoder

__all__ = [
    "KNOWN_ENCODERS",
    "STATE_DTYPES",
    "EncoderSpec",
    "EncoderStatesConfig",
    "cached_encoder",
    "clear_encoder_cache",
    "encoder_spec",
    "encoder_states",
    "select_states",
]

#: Storage dtypes an :class:`EncoderStatesConfig` accepts.
STATE_DTYPES = ("float16", "float32")

_ENCODERS: dict[str, SpeechEncoder] = {}
_LOCK = threading.Lock()


#: Whisper's window: clips longer than this are encoded in consecutive windows.
_WHISPER_WINDOW = 30 * DEFAULT_SAMPLE_RATE
_WHISPER_HOP = 160


@dataclass(frozen=True)
class EncoderSpec:
    """Shape facts of an encoder, known without loading its weights.

    Attributes:
        name: encoder name (``whisper_base``, ``hf:<path>``).
        family: ``"whisper"`` (log-mel input, conv stride 2) or ``"waveform"`` (wav2vec2-style
            convolutional front end on raw samples).
        num_layers: transformer layers (the encoder gives ``num_layers + 1`` hidden states).
        hidden_size: dimension of every hidden state.
        num_heads: attention heads per layer.
        conv_kernel, conv_stride: the waveform front end's kernels and strides (empty for
            Whisper).
    """

    name: str
    family: str
    num_layers: int
    hidden_size: int
    num_heads: int
    conv_kernel: tuple[int, ...] = ()
    conv_stride: tuple[int, ...] = ()

    @property
    def num_hidden_states(self) -> int:
        """``num_layers + 1``: the embedding output and every layer's output."""
        return self.num_layers + 1

    @property
    def hop_samples(self) -> int:
        """Input samples between consecutive output frames (320 for all supported encoders)."""
        if self.family == "whisper":
            return 2 * _WHISPER_HOP
        return int(np.prod(self.conv_stride))

    @property
    def receptive_samples(self) -> int:
        """Samples one output frame sees through the front end (400 for wav2vec2)."""
        if self.family == "whisper":
            return 2 * _WHISPER_HOP
        receptive = 1
        for kernel, stride in reversed(list(zip(self.conv_kernel, self.conv_stride, strict=True))):
            receptive = (receptive - 1) * stride + kernel
        return receptive

    @property
    def frames_per_second(self) -> float:
        """Output frame rate (50 for Whisper and wav2vec2-style encoders)."""
        return DEFAULT_SAMPLE_RATE / self.hop_samples

    @property
    def frame_offset(self) -> float:
        """Time (s) of frame 0's centre: 0 for Whisper (centred STFT), 12.5 ms for wav2vec2."""
        if self.family == "whisper":
            return 0.0
        return self.receptive_samples / 2 / DEFAULT_SAMPLE_RATE

    def num_frames(self, n_samples: int) -> int:
        """Frames the encoder outputs for a clip of ``n_samples`` samples (0 if too short)."""
        if self.family == "whisper":
            total = 0
            for start in range(0, max(int(n_samples), 0), _WHISPER_WINDOW):
                mel = min(_WHISPER_WINDOW, n_samples - start) // _WHISPER_HOP
                total += (mel - 1) // 2 + 1 if mel > 0 else 0
            return total
        length = int(n_samples)
        for kernel, stride in zip(self.conv_kernel, self.conv_stride, strict=True):
            length = (length - kernel) // stride + 1
            if length <= 0:
                return 0
        return length

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Centre time (s) of each of ``n_frames`` frames: the x axis of a frame-level map."""
        return np.arange(n_frames) / self.frames_per_second + self.frame_offset


#: Encoders whose shape is known without any file (packaged Whisper, the RAVDESS study's model).
KNOWN_ENCODERS: dict[str, EncoderSpec] = {
    "whisper_base": EncoderSpec("whisper_base", "whisper", 6, 512, 8),
    "whisper_tiny": EncoderSpec("whisper_tiny", "whisper", 4, 384, 6),
    "hf:facebook/wav2vec2-base": EncoderSpec(
        "hf:facebook/wav2vec2-base",
        "waveform",
        12,
        768,
        12,
        (10, 3, 3, 3, 3, 2, 2),
        (5, 2, 2, 2, 2, 2, 2),
    ),
}


def encoder_spec(name: str, allow_download: bool = False) -> EncoderSpec:
    """Shape facts of encoder ``name``, from :data:`KNOWN_ENCODERS` or the ``hf:`` config.

    Only ``config.json`` of an ``hf:`` checkpoint is read (from the folder or the local Hugging
    Face cache; downloaded only with ``allow_download``).

    Raises:
        CheckpointError: unknown packaged name, or an ``hf:`` config that is not available.
    """
    if name in KNOWN_ENCODERS:
        return KNOWN_ENCODERS[name]
    from ser_core.errors import CheckpointError

    if not name.startswith("hf:"):
        raise CheckpointError(
            f"unknown encoder {name!r}: use one of whisper_base, whisper_tiny or hf:<name-or-path>"
        )
    return _hf_spec(name, allow_download)


@lru_cache(maxsize=32)
def _hf_spec(name: str, allow_download: bool) -> EncoderSpec:
    from transformers import AutoConfig

    from ser_core.errors import CheckpointError

    source = name[len("hf:") :]
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=not allow_download)
    except (OSError, ValueError) as error:
        raise CheckpointError(
            f"cannot read the config of {name!r} from local files ({error}); give a folder "
            "holding config.json + weights, a hub id in the local Hugging Face cache, or "
            "allow_download=True"
        ) from error
    if getattr(config, "model_type", "") == "whisper":
        return EncoderSpec(
            name,
            "whisper",
            int(config.encoder_layers),
            int(config.d_model),
            int(config.encoder_attention_heads),
        )
    try:
        return EncoderSpec(
            name,
            "waveform",
            int(config.num_hidden_layers),
            int(config.hidden_size),
            int(config.num_attention_heads),
            tuple(int(k) for k in config.conv_kernel),
            tuple(int(s) for s in config.conv_stride),
        )
    except AttributeError as error:
        raise CheckpointError(
            f"{name!r} is a {getattr(config, 'model_type', '?')!r} model without a speech "
            f"encoder's config ({error})"
        ) from error


@dataclass(frozen=True)
class EncoderStatesConfig(FeatureConfig):
    """Every hidden state of a pretrained encoder; output ``(layers, dim, frames)``, time last.

    Attributes:
        encoder: ``"whisper_base"``, ``"whisper_tiny"`` or ``"hf:<hub-id-or-folder>"``.
        dtype: storage dtype, ``"float16"`` (default, half the cache) or ``"float32"``.
        layers: ``"all"`` (embedding output + every layer, ``num_layers + 1`` rows), ``"last"``
            (the final output only) or a tuple of hidden-state indices (0 = embedding output,
            negative indices count from the end).
        trim_db: when set, the encoder sees the clip without its leading and trailing silence
            (frames more than ``trim_db`` dB below the loudest, :func:`~ser_core.audio.
            speech_bounds`); ``None`` encodes the whole clip. Why: pooled statistics otherwise
            count the silence around the speech, which differs by corpus (at 40 dB, 44 % of a
            RAVDESS clip and 1.5 % of a TESS clip on average: ``benchmarks/silence_share.py``)
            and by how a user records.
    """

    kind: ClassVar[str] = "encoder_states"

    encoder: str = "whisper_base"
    dtype: str = "float16"
    layers: str | tuple[int, ...] = "all"
    trim_db: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.encoder, str) or not self.encoder:
            raise ValueError(f"encoder must be a non-empty name, got {self.encoder!r}")
        if self.dtype not in STATE_DTYPES:
            raise ValueError(f"dtype must be one of {STATE_DTYPES}, got {self.dtype!r}")
        layers = self.layers
        if isinstance(layers, list):
            layers = tuple(layers)
            object.__setattr__(self, "layers", layers)  # lists would make the config unhashable
        if isinstance(layers, str):
            if layers not in ("all", "last"):
                raise ValueError(f"layers must be 'all', 'last' or indices, got {layers!r}")
        elif not layers or not all(isinstance(i, int) and not isinstance(i, bool) for i in layers):
            raise ValueError(f"layers must be 'all', 'last' or a tuple of ints, got {layers!r}")
        if self.trim_db is not None and not self.trim_db > 0:
            raise ValueError(f"trim_db must be positive or None, got {self.trim_db!r}")

    def to_dict(self) -> dict[str, Any]:
        """As the base class, without ``trim_db`` when it is unset, so the caches and
        checkpoints written before the option existed keep their keys."""
        out = super().to_dict()
        if self.trim_db is None:
            del out["trim_db"]
        elif float(self.trim_db).is_integer():  # 40 and 40.0 name the same cache entries
            out["trim_db"] = int(self.trim_db)
        return out

    def encoder_span(self, signal: np.ndarray) -> tuple[int, int]:
        """``(start, stop)``: the samples of ``signal`` the encoder sees (every one unless
        ``trim_db`` is set; never fewer than one encoder frame needs)."""
        n = int(np.asarray(signal).shape[-1])
        if self.trim_db is None:
            return 0, n
        from ser_core.audio import speech_bounds  # lazy, as in cache.py: features alone

        start, stop = speech_bounds(np.asarray(signal), self.sample_rate, self.trim_db)
        if stop - start < encoder_spec(self.encoder).receptive_samples:
            return 0, n
        return start, stop

    @property
    def storage_dtype(self) -> np.dtype:
        """The dtype :func:`~ser_core.features.extract` returns (and the cache stores)."""
        return np.dtype(self.dtype)

    @property
    def sample_rate(self) -> int:
        """Every encoder takes 16 kHz input."""
        return DEFAULT_SAMPLE_RATE

    def layer_indices(self, num_hidden_states: int) -> list[int]:
        """Which of an encoder's ``num_hidden_states`` (= layers + 1) states are kept, in order.

        Raises:
            ValueError: an index outside the encoder's states.
        """
        if self.layers == "all":
            return list(range(num_hidden_states))
        if self.layers == "last":
            return [num_hidden_states - 1]
        out = []
        for index in self.layers:
            if not -num_hidden_states <= int(index) < num_hidden_states:
                raise ValueError(
                    f"layer index {index} is outside the {num_hidden_states} hidden states of "
                    f"{self.encoder}"
                )
            out.append(int(index) % num_hidden_states)
        return out

    def derived_from(self) -> tuple[EncoderStatesConfig, Callable[[np.ndarray], np.ndarray]] | None:
        """A config whose cached array holds this one's, and how to cut it out (or ``None``).

        A subset of the layers is a slice of the ``layers="all"`` array of the same encoder and
        dtype, so :class:`~ser_core.features.FeatureCache` serves it from an existing all-layer
        entry instead of running the encoder again.
        """
        if self.layers == "all":
            return None
        source = EncoderStatesConfig(
            encoder=self.encoder, dtype=self.dtype, layers="all", trim_db=self.trim_db
        )

        def cut(states: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(states[self.layer_indices(states.shape[0])])

        return source, cut

    def time_axis(self) -> tuple[float, float]:
        """(seconds between frames, time of frame 0's centre), for ``frame_times``."""
        spec = encoder_spec(self.encoder)
        return 1.0 / spec.frames_per_second, spec.frame_offset

    def num_frames(self, n_samples: int) -> int:
        """Frames the encoder gives for ``n_samples`` samples (without running it)."""
        return encoder_spec(self.encoder).num_frames(n_samples)


def cached_encoder(name: str, allow_download: bool = False) -> SpeechEncoder:
    """The encoder ``name`` loaded once per process (CPU, eval mode, no gradients).

    Shared by :func:`encoder_states` and the models' explanations; do not train it (fine-tuned
    models load their own copy). Packaged Whisper encoders run on ONNX Runtime when it is
    installed (no ``transformers`` import, so a head loads about three times faster;
    ``SER_ENCODER_RUNTIME=torch`` opts out); if the one-off export fails they run on torch,
    with a warning.

    Args:
        name: ``"whisper_base"``, ``"whisper_tiny"`` or ``"hf:<name-or-path>"``.
        allow_download: let an ``hf:`` encoder that is not available locally be downloaded.

    Raises:
        CheckpointError: unknown name or weights that are not available.
    """
    with _LOCK:
        encoder = _ENCODERS.get(name)
        if encoder is None:
            from ser_core.encoders import WHISPER_SOURCES, load_encoder
            from ser_core.encoders.onnx_whisper import preferred_runtime
            from ser_core.errors import CheckpointError

            encoder = None
            if name in WHISPER_SOURCES and preferred_runtime() == "onnx":
                try:
                    encoder = load_encoder(name, runtime="onnx")
                except CheckpointError:
                    raise  # weights missing: the torch encoder would fail the same way
                except Exception as error:  # an exporter or runtime problem: torch still works
                    warnings.warn(
                        f"running {name} on torch: its ONNX export failed ({error})",
                        RuntimeWarning,
                        stacklevel=2,
                    )
            if encoder is None:
                encoder = load_encoder(name, allow_download=allow_download)
            encoder.requires_grad_(False)
            _ENCODERS[name] = encoder
        return encoder


def clear_encoder_cache() -> None:
    """Forget every encoder loaded by :func:`cached_encoder` (frees their memory), and the
    features recent signals had (another runtime may compute them slightly differently)."""
    with _LOCK:
        _ENCODERS.clear()
    clear_recent_features()


def select_states(config: EncoderStatesConfig, states: torch.Tensor | np.ndarray) -> np.ndarray:
    """Turn one clip's ``(layers + 1, frames, dim)`` encoder output into the feature array.

    Keeps ``config.layers``, moves time last and casts to ``config.dtype``: what
    :func:`encoder_states` returns, so other code (explanations) can reproduce the cached feature
    from an encoder run of its own.
    """
    if not isinstance(states, np.ndarray):  # a torch tensor
        states = states.detach().float().cpu().numpy()
    kept = np.asarray(states, dtype=np.float32)[config.layer_indices(states.shape[0])]
    return np.ascontiguousarray(kept.transpose(0, 2, 1).astype(config.storage_dtype))


def encoder_states(config: EncoderStatesConfig, signal: np.ndarray) -> np.ndarray:
    """Extractor registered for :class:`EncoderStatesConfig`: ``(layers, dim, frames)``.

    Raises:
        AudioInputError: the clip is shorter than the encoder's receptive field.
        CheckpointError: the encoder's weights are not available.
    """
    encoder = cached_encoder(config.encoder)
    start, stop = config.encoder_span(signal)
    return select_states(config, encoder.encode(signal[..., start:stop]))
