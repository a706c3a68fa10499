"""Features for speech emotion recognition: one config per feature, one ``extract`` for all.

Example:
    >>> import numpy as np
    >>> from ser_core.features import LogMelConfig, MFCCConfig, extract
    >>> signal = np.zeros(16000, dtype=np.float32)           # 1 s at 16 kHz
    >>> extract(LogMelConfig(), signal).shape                # (n_mels, 1 + len // hop)
    (64, 101)
    >>> extract(MFCCConfig(), signal).shape                  # 40 MFCCs + deltas + delta-deltas
    (120, 101)

Files go through :class:`FeatureCache` / :func:`extract_files`, which cache by file content.
Training-only augmentation lives in :mod:`ser_core.features.augment`.
"""

from ser_core.features.augment import (
    AugmentConfig,
    WaveformAugmenter,
    spec_augment,
    spec_augment_torch,
)
from ser_core.features.cache import FEATURE_VERSION, FeatureCache, extract_files, file_digest
from ser_core.features.config import (
    DEFAULT_SAMPLE_RATE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    EGeMAPSConfig,
    FeatureConfig,
    LogMelConfig,
    MFCCConfig,
    MFCCStatsConfig,
    SpectrogramImageConfig,
    WaveformConfig,
    config_from_dict,
    feature_kinds,
)
from ser_core.features.egemaps import get_smile
from ser_core.features.encoder_states import (
    EncoderSpec,
    EncoderStatesConfig,
    cached_encoder,
    encoder_spec,
    encoder_states,
)
from ser_core.features.extract import (
    extract,
    extract_batch,
    feature_names,
    frame_times,
    frames_to_seconds,
    num_frames,
    pad_batch,
    register_extractor,
    validate_signal,
)
from ser_core.features.recent import RECENT_FEATURES, RecentFeatures, clear_recent_features

register_extractor(EncoderStatesConfig, encoder_states)

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "FEATURE_VERSION",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "RECENT_FEATURES",
    "AugmentConfig",
    "EGeMAPSConfig",
    "EncoderSpec",
    "EncoderStatesConfig",
    "FeatureCache",
    "FeatureConfig",
    "LogMelConfig",
    "MFCCConfig",
    "MFCCStatsConfig",
    "RecentFeatures",
    "SpectrogramImageConfig",
    "WaveformAugmenter",
    "WaveformConfig",
    "cached_encoder",
    "clear_recent_features",
    "config_from_dict",
    "encoder_spec",
    "extract",
    "extract_batch",
    "extract_files",
    "feature_kinds",
    "feature_names",
    "file_digest",
    "frame_times",
    "frames_to_seconds",
    "get_smile",
    "num_frames",
    "pad_batch",
    "register_extractor",
    "spec_augment",
    "spec_augment_torch",
    "validate_signal",
]
