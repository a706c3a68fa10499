"""Model-card facts of the from-scratch seed models, CPU-sized ones included (issue 21).

A shipped ``cnn1d_lstm`` or ``serct`` may be a CPU-sized variant of its paper's network: the same
topology with fewer channels, a narrower Transformer or fewer layers. :func:`cpu_size_card` lists
what was reduced against the full-size configuration (which stays available for a GPU), and the
test-UA target the model card checks (``ua_targets``, see :mod:`ser_core.training.card`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ser_core.targets import SEED_UA_FLOOR

from ._config import ModelConfig

__all__ = ["cpu_size_card", "from_scratch_card"]

UA_TARGET_SOURCE = "issue 21: every from-scratch seed model, speaker-independent"


def from_scratch_card(*reasons: str) -> dict[str, Any]:
    """``ua_targets`` (issue 21's test-UA targets) and the ``shortfall_reasons`` a model card
    gives when a from-scratch seed model misses them (:mod:`ser_core.training.card`)."""
    return {
        "ua_targets": dict(SEED_UA_FLOOR),
        "ua_target_source": UA_TARGET_SOURCE,
        "shortfall_reasons": list(reasons),
    }


def _plain(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def cpu_size_card(config: ModelConfig, full_size: Mapping[str, Any]) -> dict[str, Any]:
    """``notes``, ``ua_targets`` and ``shortfall_reasons`` for ``SERModel.card()``.

    ``full_size`` maps config fields to their values in the paper-sized network; every field
    whose value differs is reported as a CPU-size reduction.
    """
    current = config.to_dict()
    reduced = [
        f"{key} {_plain(current[key])} (full size: {_plain(value)})"
        for key, value in full_size.items()
        if _plain(current[key]) != _plain(value)
    ]
    notes = ["weights: learnt here on the raw waveform (no external pretrained weights)"]
    reasons = []
    if reduced:
        full = json.dumps(
            {key: list(v) if isinstance(v, tuple) else v for key, v in full_size.items()}
        )
        notes.append(
            f"CPU-sized variant of the same topology: {'; '.join(reduced)}. The full-size "
            f"configuration stays available: --model-config '{full}' --device cuda"
        )
        reasons.append(f"the CPU budget: {'; '.join(reduced)}, one torch thread")
    return {"notes": notes, **from_scratch_card(*reasons)}
