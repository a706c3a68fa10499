"""The model zoo's test-UA targets (issue 21), in one place and without a torch import.

Model cards judge each shipped checkpoint against :data:`SEED_UA_FLOOR` (see
:mod:`ser_core.training.card`); ``ser report`` judges the whole zoo against all three.
"""

from __future__ import annotations

__all__ = ["SEED_ARCHITECTURES", "SEED_UA_BEST", "SEED_UA_FLOOR", "TINY_UA_GAP"]

#: The seed architectures whose shipped ``<architecture>-<corpus>`` checkpoints the targets
#: below apply to.
SEED_ARCHITECTURES = (
    "cnn",
    "lstm",
    "cnn_lstm",
    "cnn1d_lstm",
    "cnn_bilstm",
    "cnn_bilstm_attn",
    "vit",
    "serct",
    "vgg19",
    "resnet50",
    "mobilenet_v3",
    "mlp",
    "svm",
)

#: Test UA (fraction) every seed architecture's ``<architecture>-<corpus>`` checkpoint aims at,
#: on the corpus's held-out speakers.
SEED_UA_FLOOR = {"emodb": 0.50, "ravdess": 0.35}
#: Test UA (fraction) the best seed architecture reaches on each corpus.
SEED_UA_BEST = {"emodb": 0.75, "ravdess": 0.60}
#: At most this many UA points (%) between ``whisper_tiny-<corpus>`` and ``whisper_base-<corpus>``.
TINY_UA_GAP = 3.0
