"""openSMILE features (eGeMAPS by default) through the ``opensmile`` Python package.

``opensmile.Smile`` objects parse their config on creation (about 0.2 s), so one object per
(feature set, level) is created per process and reused. ``opensmile`` is imported lazily: it
pulls in pandas and audinterface, which the spectral features do not need.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from ser_core.features.config import EGeMAPSConfig

if TYPE_CHECKING:
    import opensmile

_LEVELS = {"functionals": "func", "lld": "lld", "lld_deltas": "lld_de"}

#: Hop between openSMILE low-level-descriptor frames, and their (energy/spectral) frame length.
LLD_HOP_SECONDS = 0.01
LLD_FRAME_SECONDS = 0.02


def get_smile(
    feature_set: str = "eGeMAPSv02", feature_level: str = "functionals"
) -> opensmile.Smile:
    """The process-wide ``opensmile.Smile`` for a feature set and level (created on first use).

    Raises:
        ValueError: unknown feature set, or a level the set does not provide.
    """
    # functools.cache keys on how arguments are passed (positional vs keyword vs default);
    # normalising here means one object per (set, level) however callers spell it.
    return _smile(str(feature_set), str(feature_level))


@functools.cache
def _smile(feature_set: str, feature_level: str) -> opensmile.Smile:
    import opensmile

    try:
        fset = opensmile.FeatureSet[feature_set]
    except KeyError:
        known = ", ".join(m.name for m in opensmile.FeatureSet)
        raise ValueError(
            f"unknown openSMILE feature set {feature_set!r}; use one of {known}"
        ) from None
    if feature_level not in _LEVELS:
        raise ValueError(f"feature_level must be one of {sorted(_LEVELS)}, got {feature_level!r}")
    level = opensmile.FeatureLevel(_LEVELS[feature_level])
    # Smile raises ValueError itself for a level the set lacks (e.g. eGeMAPS has no LLD deltas).
    return opensmile.Smile(feature_set=fset, feature_level=level)


def egemaps(config: EGeMAPSConfig, signal: np.ndarray) -> np.ndarray:
    """openSMILE features: ``(n_features,)`` functionals or ``(n_lld, frames)`` descriptors."""
    smile = get_smile(config.feature_set, config.feature_level)
    frame = smile.process_signal(signal, config.sample_rate)
    values = frame.to_numpy(dtype=np.float32)
    if config.feature_level == "functionals":
        return np.ascontiguousarray(values[0])
    # openSMILE gives (frames, descriptors); every other feature here puts time last.
    return np.ascontiguousarray(values.T)


def egemaps_names(config: EGeMAPSConfig) -> list[str]:
    """openSMILE's feature (or descriptor) names, in output order."""
    return list(get_smile(config.feature_set, config.feature_level).feature_names)
