"""Corpora, manifests, splits and class balancing.

Typical use::

    from ser_core.data import load_corpus, get_split, summarize

    manifest = load_corpus("emodb", "/path/to/corpora/emodb")   # one row per file
    print(summarize(manifest))                                  # files, speakers, emotions, hours
    split = get_split("speaker-holdout", manifest, seed=0)      # no test speaker in training
    train = manifest.iloc[split.train]
"""

from __future__ import annotations

from ser_core.data.balance import class_weights, oversample, undersample
from ser_core.data.corpora import (
    CorpusInfo,
    find_corpora,
    get_corpus_info,
    list_corpora,
    load_corpora,
    load_corpus,
)
from ser_core.data.labels import (
    EMOTION_SYNONYMS,
    EMOTIONS,
    SHARED_EMOTIONS,
    check_emotion,
    normalize_emotion,
    sort_emotions,
)
from ser_core.data.manifest import (
    AUDIO_EXTENSIONS,
    MANIFEST_COLUMNS,
    CorpusWarning,
    make_manifest,
    validate_manifest,
)
from ser_core.data.splits import (
    PROTOCOLS,
    Split,
    check_no_leakage,
    get_split,
    get_splits,
    leave_one_corpus_out,
    leave_one_speaker_out,
    per_corpus_holdout,
    random_split,
    speaker_holdout,
    speaker_kfold,
    text_holdout,
)
from ser_core.data.summary import SUMMARY_COLUMNS, summarize

__all__ = [
    "AUDIO_EXTENSIONS",
    "EMOTIONS",
    "EMOTION_SYNONYMS",
    "MANIFEST_COLUMNS",
    "PROTOCOLS",
    "SHARED_EMOTIONS",
    "SUMMARY_COLUMNS",
    "CorpusInfo",
    "CorpusWarning",
    "Split",
    "check_emotion",
    "check_no_leakage",
    "class_weights",
    "find_corpora",
    "get_corpus_info",
    "get_split",
    "get_splits",
    "leave_one_corpus_out",
    "leave_one_speaker_out",
    "list_corpora",
    "load_corpora",
    "load_corpus",
    "make_manifest",
    "normalize_emotion",
    "oversample",
    "per_corpus_holdout",
    "random_split",
    "sort_emotions",
    "speaker_holdout",
    "speaker_kfold",
    "summarize",
    "text_holdout",
    "undersample",
    "validate_manifest",
]
