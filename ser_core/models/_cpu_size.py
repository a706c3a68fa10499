"""Model-card facts of the CPU-sized raw-waveform seed models (issue 21).

A shipped ``cnn1d_lstm`` or ``serct`` may be a CPU-sized variant of its paper's network: the same
topology with fewer channels, a narrower Transformer or fewer layers. :func:`cpu_size_card` lists
what was reduced against the full-size configuration (which stays available for a GPU), and the
test-UA target the model card checks (``ua_targets``, see :mod:`ser_core.training.card`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._config import ModelConfig
from ._image import UA_TARGETS

__all__ = ["cpu_size_card"]


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
    notes = ["weights: trained from scratch on the raw waveform (no pretraining)"]
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
    return {
        "notes": notes,
        "ua_targets": dict(UA_TARGETS),
        "ua_target_source": "issue 21: every from-scratch seed model, speaker-independent",
        "shortfall_reasons": reasons,
    }
