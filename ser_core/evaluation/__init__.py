"""Evaluation of speech emotion recognition models: checkpoints on corpora and the benchmark.

:mod:`~ser_core.evaluation.runner` evaluates a checkpoint on its recorded test set or on corpora
it never saw (``ser evaluate``); :mod:`~ser_core.evaluation.benchmark` builds the benchmark
pages from the committed predictions (``ser report``); :mod:`~ser_core.evaluation.cards`
rebuilds a model card with its leave-one-corpus-out run. The scoring of a predictions table
(metrics, intervals, breakdowns, reports) is :mod:`ser_core.scoring`, re-exported here::

    from ser_core.evaluation import evaluate_predictions, load_predictions
"""

from __future__ import annotations

from ser_core import scoring as _scoring
from ser_core.scoring import *  # noqa: F403  (the scoring API, under its historical name)

__all__ = list(_scoring.__all__)
