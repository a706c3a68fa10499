"""The multi-corpus protocols: per-corpus hold-out (each corpus its own way) and
leave-one-corpus-out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from ser_core.data.splits._common import (
    _balanced_pick,
    _check_fraction,
    _require,
    _round_half_up,
    _rows_of,
    _short,
    _speaker_table,
)
from ser_core.data.splits.base import _DISJOINT_ON, MIN_HOLDOUT_SPEAKERS, Split, _finish, _positions
from ser_core.data.splits.dependent import text_holdout
from ser_core.data.splits.speaker import speaker_holdout


def per_corpus_holdout(
    manifest: pd.DataFrame,
    test_speakers: Sequence[str] | None = None,
    val_speakers: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Split:
    """One split of a multi-corpus manifest in which each corpus is held out its own way.

    Corpora with at least :data:`MIN_HOLDOUT_SPEAKERS` speakers get :func:`speaker_holdout`
    (with the ``test_speakers`` / ``val_speakers`` of that corpus, when any are named); the
    others (TESS, two speakers) get :func:`text_holdout`. Every part is split and leakage-checked
    on the corpus alone, with the same seed, so a corpus gets exactly the test set it would get
    trained alone: a multi-corpus model is tested on the same files as the per-corpus ones.
    Which corpora are speaker-independent is said in the description (and can be read from the
    speaker lists a checkpoint stores).

    Raises:
        ValueError: as :func:`speaker_holdout` and :func:`text_holdout`, and for named speakers
            of no corpus in the manifest.
    """
    corpora = _require(manifest, "corpus", "per-corpus").astype(str)
    speakers = _require(manifest, "speaker", "per-corpus").astype(str)
    named = set(test_speakers or ()) | set(val_speakers or ())
    unknown = sorted(named - set(speakers))
    if unknown:
        raise ValueError(f"per-corpus: speakers not in the manifest: {', '.join(unknown)}")
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    test_groups: list[str] = []
    val_groups: list[str] = []
    descriptions: list[str] = []
    for corpus in sorted(corpora.unique()):
        positions = np.flatnonzero((corpora == corpus).to_numpy())
        sub = manifest.iloc[positions].reset_index(drop=True)
        own = set(sub["speaker"].astype(str))
        if len(own) >= MIN_HOLDOUT_SPEAKERS:
            tests = [x for x in test_speakers or () if x in own] or None
            vals = [x for x in val_speakers or () if x in own] or None
            part = speaker_holdout(sub, tests, vals, test_fraction, val_fraction, seed)
        else:
            part = text_holdout(sub, test_fraction, val_fraction, seed)
        for name in parts:
            parts[name].append(positions[getattr(part, name)])
        test_groups += [f"{corpus}/{g}" if part.protocol == "text-holdout" else g
                        for g in part.test_groups]  # fmt: skip
        val_groups += [f"{corpus}/{g}" if part.protocol == "text-holdout" else g
                       for g in part.val_groups]  # fmt: skip
        kind = "speaker-independent" if part.speaker_independent else "speaker-dependent"
        descriptions.append(f"{corpus} [{kind}]: {part.description}")
    return _finish(
        manifest,
        Split(
            protocol="per-corpus",
            train=_positions(np.concatenate(parts["train"])),
            val=_positions(np.concatenate(parts["val"])),
            test=_positions(np.concatenate(parts["test"])),
            description="per-corpus hold-out; " + "; ".join(descriptions),
            disjoint_on=_DISJOINT_ON["per-corpus"],
            test_groups=tuple(test_groups),
            val_groups=tuple(val_groups),
            n_rows=len(manifest),
        ),
    )


def leave_one_corpus_out(
    manifest: pd.DataFrame, val_fraction: float = 0.1, seed: int = 0
) -> Iterator[Split]:
    """Leave one corpus out: one fold per corpus (sorted), tested on every row of that corpus.

    The other corpora train the fold. Validation (early stopping, model choice) takes speakers
    of the training corpora, never of the held-out one: in each training corpus with at least
    :data:`MIN_HOLDOUT_SPEAKERS` speakers, ``val_fraction`` of them (at least one), picked
    seeded and spread over genders; corpora with fewer speakers (TESS) only train. So the test
    corpus's speakers, studio and (often) language are all new to the model: the honest measure
    of how it generalises to voices and recordings it never heard.

    Args:
        manifest: a manifest of two or more corpora.
        val_fraction: share of each training corpus's speakers held out for validation.
        seed: seeds the validation speakers.

    Raises:
        ValueError: fewer than two corpora, or a bad fraction.
    """
    _check_fraction("val_fraction", val_fraction)
    corpora = _require(manifest, "corpus", "loco").astype(str)
    speakers = _speaker_table(manifest, "loco")
    names = sorted(manifest["corpus"].astype(str).unique())
    if len(names) < 2:
        raise ValueError(f"loco: leave-one-corpus-out needs two or more corpora, got {len(names)}")
    rng = np.random.default_rng(seed)
    val_by_corpus: dict[str, list[str]] = {}
    for name in names:  # drawn once, so a corpus validates with the same speakers in every fold
        own = speakers[speakers["corpus"].astype(str) == name]
        if len(own) < MIN_HOLDOUT_SPEAKERS or val_fraction == 0:
            val_by_corpus[name] = []
            continue
        k = max(1, _round_half_up(val_fraction * len(own)))
        val_by_corpus[name] = _balanced_pick(own, k, rng)
    keys = manifest["speaker"].astype(str)
    for fold, held in enumerate(names):
        test = np.flatnonzero((corpora == f"{held}:{held}").to_numpy())
        val_groups = sorted(g for name in names if name != held for g in val_by_corpus[name])
        val = _rows_of(keys, set(val_groups))
        train = np.setdiff1d(np.arange(len(manifest)), np.union1d(test, val))
        yield _finish(
            manifest,
            Split(
                protocol="loco",
                train=_positions(train),
                val=_positions(val),
                test=_positions(test),
                fold=fold,
                description=(
                    f"leave one corpus out (fold {fold}): test on all of {held} "
                    f"({len(test)} rows); train on {', '.join(n for n in names if n != held)}; "
                    f"validation speakers {_short(val_groups)}"
                ),
                disjoint_on=_DISJOINT_ON["loco"],
                test_groups=(held,),
                val_groups=tuple(val_groups),
                n_rows=len(manifest),
            ),
        )
