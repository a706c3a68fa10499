"""Train / validation / test splits of a manifest, with a guard against speaker leakage.

Acted-emotion corpora have few speakers, and a model that has heard a speaker in training scores
far better on that speaker's other recordings; a random split therefore measures speaker
memorisation as much as emotion recognition. The protocols here make that explicit:

=================== ==================================================== ======================
protocol            what is held out                                     speaker-independent
=================== ==================================================== ======================
``loso``            one speaker per fold (leave-one-speaker-out)         yes
``speaker-holdout`` a gender-balanced set of speakers per corpus         yes
``kfold-speaker``   speaker-grouped k folds, balanced by corpus + gender yes
``text-holdout``    sentences / words (e.g. TESS's 200 words)            no (speaker-dependent)
``random``          random utterances, stratified by emotion             no (speaker-dependent)
``per-corpus``      each corpus its own way: speakers where it has at    per corpus (stated)
                    least four (EMO-DB, RAVDESS), texts otherwise (TESS)
=================== ==================================================== ======================

A :class:`Split` holds row *positions* (``manifest.iloc``) of the manifest it was made from.
Every generator checks its output with :func:`check_no_leakage` before handing it out: no
speaker (or, for text-holdout, no text) of the test set may appear in training or validation.
Speaker ids are corpus-prefixed, so multi-corpus manifests are split by speaker globally; the

Modules: :mod:`~ser_core.data.splits.base` (:class:`Split`, :data:`PROTOCOLS`, the leakage
guard), :mod:`~ser_core.data.splits.speaker` (speaker-independent protocols),
:mod:`~ser_core.data.splits.dependent` (text hold-out, random), :mod:`~ser_core.data.splits.corpus`
(per-corpus, leave-one-corpus-out) and :mod:`~ser_core.data.splits.protocols` (by name).
"""

from __future__ import annotations

from ser_core.data.splits.base import (
    MIN_HOLDOUT_SPEAKERS,
    PROTOCOLS,
    Split,
    check_no_leakage,
)
from ser_core.data.splits.corpus import leave_one_corpus_out, per_corpus_holdout
from ser_core.data.splits.dependent import random_split, text_holdout
from ser_core.data.splits.protocols import get_split, get_splits
from ser_core.data.splits.speaker import leave_one_speaker_out, speaker_holdout, speaker_kfold

__all__ = [
    "MIN_HOLDOUT_SPEAKERS",
    "PROTOCOLS",
    "Split",
    "check_no_leakage",
    "get_split",
    "get_splits",
    "leave_one_corpus_out",
    "leave_one_speaker_out",
    "per_corpus_holdout",
    "random_split",
    "speaker_holdout",
    "speaker_kfold",
    "text_holdout",
]
