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
speaker-holdout protocol picks test speakers corpus by corpus so each corpus is represented.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ser_core.errors import SplitLeakageError

#: Protocol names accepted by :func:`get_split` / :func:`get_splits` (and ``ser train --protocol``).
PROTOCOLS: tuple[str, ...] = (
    "speaker-holdout",
    "loso",
    "kfold-speaker",
    "text-holdout",
    "random",
    "per-corpus",
    "loco",
)

# Which manifest column each protocol keeps disjoint between test and the other parts.
_DISJOINT_ON: dict[str, tuple[str, ...]] = {
    "loso": ("speaker",),
    "speaker-holdout": ("speaker",),
    "kfold-speaker": ("speaker",),
    "text-holdout": ("text",),
    "random": (),
    "per-corpus": (),  # each corpus's part is checked on its own column before merging
    "loco": ("corpus", "speaker"),
}

#: Fewest speakers for which ``per-corpus`` holds out speakers rather than texts.
MIN_HOLDOUT_SPEAKERS = 4


@dataclass(frozen=True, eq=False)
class Split:
    """One train / validation / test partition of a manifest.

    Attributes:
        protocol: one of :data:`PROTOCOLS`.
        train, val, test: sorted row positions (``manifest.iloc``); ``val`` may be empty.
        fold: fold number for multi-fold protocols (``loso``, ``kfold-speaker``), else None.
        description: one human sentence saying what was held out and how.
        disjoint_on: manifest columns whose values never cross from test into train or val
            (``("speaker",)``, ``("text",)`` or ``()`` for random splits).
        test_groups, val_groups: the held-out speakers (or texts) of test and validation.
        n_rows: length of the manifest the split was made for (checked by the leakage guard).
    """

    protocol: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    fold: int | None = None
    description: str = ""
    disjoint_on: tuple[str, ...] = ()
    test_groups: tuple[str, ...] = ()
    val_groups: tuple[str, ...] = ()
    n_rows: int | None = field(default=None)

    @property
    def speaker_independent(self) -> bool:
        """True when no test speaker is heard in training or validation."""
        return "speaker" in self.disjoint_on

    @property
    def label(self) -> str:
        """``"<protocol> (speaker-independent)"`` or ``"... (speaker-dependent)"``."""
        kind = "speaker-independent" if self.speaker_independent else "speaker-dependent"
        return f"{self.protocol} ({kind})"

    def select(self, manifest: pd.DataFrame, part: str) -> pd.DataFrame:
        """The rows of ``manifest`` in ``part`` (``"train"``, ``"val"`` or ``"test"``)."""
        if part not in ("train", "val", "test"):
            raise ValueError(f"part must be 'train', 'val' or 'test', not {part!r}")
        positions: np.ndarray = getattr(self, part)
        return manifest.iloc[positions]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the split (to save next to trained weights)."""
        return {
            "protocol": self.protocol,
            "label": self.label,
            "fold": self.fold,
            "description": self.description,
            "disjoint_on": list(self.disjoint_on),
            "test_groups": list(self.test_groups),
            "val_groups": list(self.val_groups),
            "n_rows": self.n_rows,
            "train": self.train.tolist(),
            "val": self.val.tolist(),
            "test": self.test.tolist(),
        }

    def __repr__(self) -> str:
        fold = f", fold={self.fold}" if self.fold is not None else ""
        return (
            f"Split({self.label}{fold}, train={len(self.train)}, val={len(self.val)}, "
            f"test={len(self.test)})"
        )


def _positions(values: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(values, dtype=np.int64))


def _group_keys(manifest: pd.DataFrame, column: str) -> pd.Series:
    """Values of ``column`` made globally unique: texts are ids local to their corpus."""
    values = manifest[column]
    if column == "speaker":  # already corpus-prefixed
        return values
    corpora = manifest["corpus"].to_numpy(dtype=object)
    keys = [
        pd.NA if pd.isna(v) else f"{c}:{v}"
        for c, v in zip(corpora, values.to_numpy(dtype=object), strict=True)
    ]
    return pd.Series(keys, index=manifest.index, dtype=object, name=column)


def check_no_leakage(manifest: pd.DataFrame, split: Split) -> None:
    """Refuse a split that leaks speakers (or texts) into its test set.

    Checks that the split fits the manifest (same length, positions in range), that no row is in
    two parts, and that for every column in ``split.disjoint_on`` no value of the test set
    appears in training or validation. Rows whose speaker (text) is unknown cannot be checked
    and are refused in a speaker- (text-) disjoint split.

    Raises:
        SplitLeakageError: naming the leaked speakers / texts (up to five).
    """
    n = len(manifest)
    if split.n_rows is not None and split.n_rows != n:
        raise SplitLeakageError(
            f"{split!r} was made for a manifest of {split.n_rows} rows, not {n}; "
            "make the split from this manifest"
        )
    parts = {"train": split.train, "val": split.val, "test": split.test}
    for name, idx in parts.items():
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise SplitLeakageError(f"{split!r}: {name} positions fall outside the manifest")
        if len(np.unique(idx)) != len(idx):
            raise SplitLeakageError(f"{split!r}: {name} lists a row more than once")
    for a, b in (("train", "test"), ("val", "test"), ("train", "val")):
        shared = np.intersect1d(parts[a], parts[b])
        if len(shared):
            raise SplitLeakageError(f"{split!r}: {len(shared)} row(s) are in both {a} and {b}")
    for column in split.disjoint_on:
        keys = _group_keys(manifest, column).to_numpy()
        unknown = [name for name, idx in parts.items() if pd.isna(keys[idx]).any()]
        if unknown:
            raise SplitLeakageError(
                f"{split!r}: rows with unknown {column} in {', '.join(unknown)}; "
                f"a {column}-disjoint split cannot be verified"
            )
        test_keys = set(keys[split.test])
        for other in ("train", "val"):
            leaked = sorted(test_keys & set(keys[parts[other]]))
            if leaked:
                shown = ", ".join(map(str, leaked[:5])) + (" ..." if len(leaked) > 5 else "")
                raise SplitLeakageError(
                    f"{split!r}: {len(leaked)} {column}(s) in both {other} and test: {shown}"
                )


def _finish(manifest: pd.DataFrame, split: Split) -> Split:
    check_no_leakage(manifest, split)
    return split


def _require(manifest: pd.DataFrame, column: str, protocol: str) -> pd.Series:
    """The group keys of ``column``; ValueError when some are unknown or the manifest is empty."""
    if len(manifest) == 0:
        raise ValueError(f"{protocol}: the manifest is empty")
    keys = _group_keys(manifest, column)
    if keys.isna().any():
        hint = (
            "give prepare_folder a speaker_from pattern, or use the text-holdout or random protocol"
            if column == "speaker"
            else "use a speaker protocol or the random protocol"
        )
        raise ValueError(f"{protocol}: {int(keys.isna().sum())} row(s) have no {column}; {hint}")
    return keys


def _speaker_table(manifest: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """One row per speaker: speaker, corpus, gender (``"?"`` when unknown), rows."""
    speakers = _require(manifest, "speaker", protocol)
    table = pd.DataFrame(
        {
            "speaker": speakers.to_numpy(dtype=object),
            "corpus": manifest["corpus"].to_numpy(dtype=object),
            "gender": manifest["gender"]
            .astype(object)
            .where(manifest["gender"].notna(), "?")
            .to_numpy(dtype=object),
        }
    )
    return (
        table.groupby("speaker", sort=True)
        .agg(corpus=("corpus", "first"), gender=("gender", "first"), rows=("corpus", "size"))
        .reset_index()
    )


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def _counts(n: int, test_fraction: float, val_fraction: float) -> tuple[int, int]:
    """How many of ``n`` groups go to test and to validation (at least one group stays in train)."""
    if n < 2:
        return 0, 0
    n_test = min(max(_round_half_up(test_fraction * n), 1 if test_fraction > 0 else 0), n - 1)
    room = n - n_test - 1
    n_val = min(max(_round_half_up(val_fraction * n), 1 if val_fraction > 0 else 0), room)
    return n_test, max(n_val, 0)


def _balanced_pick(
    groups: pd.DataFrame, k: int, rng: np.random.Generator, by: str = "gender"
) -> list[str]:
    """Pick ``k`` speakers spread over the values of ``by`` as evenly as the pool allows.

    Speakers are shuffled within each value, then taken round-robin (values in an order shuffled
    by the same generator, so which gender gets the odd pick depends on the seed, not on the
    alphabet).
    """
    k = min(k, len(groups))  # never ask for more speakers than the pool holds
    if k <= 0:
        return []
    pools = {
        str(value): list(rng.permutation(sorted(map(str, sub["speaker"]))))
        for value, sub in groups.groupby(by, sort=True)
    }
    order = list(rng.permutation(sorted(pools)))
    picked: list[str] = []
    while len(picked) < k:
        for value in order:
            if pools[value] and len(picked) < k:
                picked.append(str(pools[value].pop()))
    return sorted(picked)


def _rows_of(keys: pd.Series, chosen: set[str]) -> np.ndarray:
    return np.flatnonzero(keys.isin(chosen).to_numpy())


def _make(
    manifest: pd.DataFrame,
    keys: pd.Series,
    protocol: str,
    test_groups: Sequence[str],
    val_groups: Sequence[str],
    description: str,
    fold: int | None = None,
) -> Split:
    test = _rows_of(keys, set(test_groups))
    val = _rows_of(keys, set(val_groups))
    train = np.setdiff1d(np.arange(len(manifest)), np.union1d(test, val))
    return _finish(
        manifest,
        Split(
            protocol=protocol,
            train=_positions(train),
            val=_positions(val),
            test=_positions(test),
            fold=fold,
            description=description,
            disjoint_on=_DISJOINT_ON[protocol],
            test_groups=tuple(sorted(test_groups)),
            val_groups=tuple(sorted(val_groups)),
            n_rows=len(manifest),
        ),
    )


def _short(groups: Sequence[str], limit: int = 8) -> str:
    groups = list(groups)
    if not groups:
        return "none"
    return ", ".join(groups[:limit]) + (
        f" and {len(groups) - limit} more" if len(groups) > limit else ""
    )


def leave_one_speaker_out(
    manifest: pd.DataFrame, validation: bool = False, seed: int = 0
) -> Iterator[Split]:
    """Leave-one-speaker-out: one fold per speaker, in sorted speaker order.

    Args:
        manifest: the manifest (one or several corpora).
        validation: also hold out a validation speaker per fold: the next speaker of the same
            corpus in sorted order (wrapping around), or the next speaker overall when the
            corpus has a single speaker. Deterministic, so folds are reproducible.
        seed: unused (LOSO has no randomness); accepted so every protocol takes the same call.

    Yields:
        One :class:`Split` per speaker (``fold`` = position in sorted order).
    """
    del seed
    table = _speaker_table(manifest, "loso")
    if len(table) < 2:
        raise ValueError("loso: needs at least two speakers")
    if validation and len(table) < 3:
        raise ValueError("loso with validation needs at least three speakers")
    keys = manifest["speaker"]
    speakers = [str(s) for s in table["speaker"]]
    corpus_of = dict(zip(speakers, map(str, table["corpus"]), strict=True))
    by_corpus: dict[str, list[str]] = {}
    for speaker in speakers:  # sorted order, so the "next speaker" rule is deterministic
        by_corpus.setdefault(corpus_of[speaker], []).append(speaker)
    for fold, speaker in enumerate(speakers):
        val: list[str] = []
        if validation:
            same = by_corpus[corpus_of[speaker]]
            pool = same if len(same) > 1 else speakers
            val = [pool[(pool.index(speaker) + 1) % len(pool)]]
        yield _make(
            manifest,
            keys,
            "loso",
            [speaker],
            val,
            f"leave-one-speaker-out fold {fold + 1}/{len(speakers)}: test speaker {speaker}"
            + (f", validation speaker {val[0]}" if val else ""),
            fold=fold,
        )


def speaker_holdout(
    manifest: pd.DataFrame,
    test_speakers: Sequence[str] | None = None,
    val_speakers: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Split:
    """Hold out whole speakers for test (and validation), gender-balanced where possible.

    Without explicit lists, each corpus contributes ``round(test_fraction * n)`` test and
    ``round(val_fraction * n)`` validation speakers of its ``n`` (at least one test speaker when
    the fraction is positive, and always at least one training speaker), taken alternately from
    its male and female speakers. EMO-DB (5 m, 5 f) with the defaults: 1 m + 1 f test speakers,
    1 validation speaker. A corpus with one speaker stays entirely in training.

    Args:
        manifest: the manifest.
        test_speakers: explicit test speakers (full ids like ``"emodb:03"``); overrides the draw.
        val_speakers: explicit validation speakers; when None and ``val_fraction`` > 0 they are
            drawn from the remaining speakers as above.
        test_fraction, val_fraction: shares of each corpus's speakers.
        seed: seeds the draw.

    Raises:
        ValueError: unknown speakers in the lists, overlapping lists, bad fractions, or a
            manifest without speaker ids.
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0:
        raise ValueError("test_fraction + val_fraction must be below 1")
    table = _speaker_table(manifest, "speaker-holdout")
    known = set(table["speaker"])
    for name, given in (("test_speakers", test_speakers), ("val_speakers", val_speakers)):
        unknown = sorted(set(given or ()) - known)
        if unknown:
            raise ValueError(
                f"speaker-holdout: {name} not in the manifest: {', '.join(unknown)} "
                f"(speaker ids look like {next(iter(sorted(known)))!r})"
            )
    if test_speakers is not None and val_speakers is not None:
        both = sorted(set(test_speakers) & set(val_speakers))
        if both:
            raise ValueError(f"speaker-holdout: in both test and val speakers: {', '.join(both)}")
    rng = np.random.default_rng(seed)
    test: list[str] = list(test_speakers) if test_speakers is not None else []
    val: list[str] = list(val_speakers) if val_speakers is not None else []
    for _corpus, sub in table.groupby("corpus", sort=True):
        n_test, n_val = _counts(len(sub), test_fraction, val_fraction)
        if test_speakers is None:
            # Explicit validation speakers are not eligible for test.
            pool = sub[~sub["speaker"].isin(val)]
            test += _balanced_pick(pool, min(n_test, len(pool) - 1), rng)
        if val_speakers is None:
            rest = sub[~sub["speaker"].isin(test)]
            n_val = min(n_val, len(rest) - 1)
            val += _balanced_pick(rest, n_val, rng)
    if not test:
        raise ValueError(
            "speaker-holdout: no test speaker (each corpus needs at least two speakers)"
        )
    explicit = (
        "explicit" if test_speakers is not None else f"seed {seed}, gender-balanced per corpus"
    )
    return _make(
        manifest,
        manifest["speaker"],
        "speaker-holdout",
        test,
        val,
        f"speaker hold-out ({explicit}): test speakers {_short(sorted(test))}; "
        f"validation speakers {_short(sorted(val))}",
    )


def speaker_kfold(
    manifest: pd.DataFrame, k: int = 5, seed: int = 0, validation: bool = False
) -> Iterator[Split]:
    """Speaker-grouped k-fold cross-validation, balanced by corpus and gender.

    Speakers are grouped by corpus and gender; each group is shuffled (``seed``) and dealt
    round-robin into the folds, the dealing continuing from group to group, so every fold gets
    a near-equal share of each corpus's men and women (EMO-DB, k=5: one man and one woman per
    fold). scikit-learn's ``StratifiedGroupKFold`` was the first choice, but it orders groups
    by size before its (seeded) shuffle matters, so on corpora whose speakers have different
    numbers of files (EMO-DB) every seed gave the same folds.

    Args:
        manifest: the manifest.
        k: number of folds (2 <= k <= number of speakers).
        seed: seeds the assignment of speakers to folds.
        validation: use the next fold's speakers (fold ``(i + 1) % k``) as validation set.

    Yields:
        ``k`` splits whose test sets cover every row exactly once.
    """
    table = _speaker_table(manifest, "kfold-speaker")
    if not 2 <= k <= len(table):
        raise ValueError(
            f"kfold-speaker: k must be between 2 and the {len(table)} speakers, got {k}"
        )
    if validation and k < 3:
        raise ValueError("kfold-speaker with validation needs k >= 3")
    keys = manifest["speaker"]
    rng = np.random.default_rng(seed)
    fold_speakers: list[list[str]] = [[] for _ in range(k)]
    position = int(rng.integers(k))  # which fold gets the first (and any odd) speaker
    for _stratum, sub in table.groupby(["corpus", "gender"], sort=True):
        for speaker in rng.permutation(sorted(map(str, sub["speaker"]))):
            fold_speakers[position].append(str(speaker))
            position = (position + 1) % k
    fold_speakers = [sorted(f) for f in fold_speakers]
    for i in range(k):
        val = fold_speakers[(i + 1) % k] if validation else []
        yield _make(
            manifest,
            keys,
            "kfold-speaker",
            fold_speakers[i],
            val,
            f"speaker-grouped {k}-fold, fold {i + 1}/{k} (seed {seed}): test speakers "
            f"{_short(fold_speakers[i])}" + (f"; validation speakers {_short(val)}" if val else ""),
            fold=i,
        )


def text_holdout(
    manifest: pd.DataFrame, test_fraction: float = 0.2, val_fraction: float = 0.1, seed: int = 0
) -> Split:
    """Hold out whole texts (sentences, TESS words): speaker-DEPENDENT, text-independent.

    For corpora with too few speakers for a speaker-independent test (TESS has two), this at
    least keeps the same word or sentence out of training. Each corpus contributes
    ``round(test_fraction * n)`` test and ``round(val_fraction * n)`` validation texts of its
    ``n`` (at least one test text, always one training text). The test speakers *are* heard in
    training: results say nothing about unseen voices, which the description states.

    Raises:
        ValueError: rows without a text, or bad fractions.
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0:
        raise ValueError("test_fraction + val_fraction must be below 1")
    keys = _require(manifest, "text", "text-holdout")
    rng = np.random.default_rng(seed)
    test: list[str] = []
    val: list[str] = []
    for _corpus, sub in keys.groupby(manifest["corpus"], sort=True):
        texts = sorted(set(sub))
        n_test, n_val = _counts(len(texts), test_fraction, val_fraction)
        order = [str(t) for t in rng.permutation(texts)]
        test += order[:n_test]
        val += order[n_test : n_test + n_val]
    if not test:
        raise ValueError("text-holdout: no test text (each corpus needs at least two texts)")
    return _make(
        manifest,
        keys,
        "text-holdout",
        test,
        val,
        f"text-holdout (speaker-dependent; seed {seed}): {len(test)} test texts "
        f"({_short(sorted(test), 5)}), {len(val)} validation texts; the same speakers are in "
        "train and test",
    )


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


def random_split(
    manifest: pd.DataFrame,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
) -> Split:
    """Random utterance-level split, stratified on emotion: speaker-DEPENDENT.

    Kept for comparison with the many papers that report it; it overestimates accuracy on new
    speakers, and its description says so.

    Args:
        manifest: the manifest.
        test_fraction, val_fraction: shares of all rows.
        seed: seeds the draw.
        stratify: keep the emotion distribution equal across parts (falls back to an
            unstratified draw when a class is too small to be split).
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    if test_fraction + val_fraction >= 1.0 or test_fraction <= 0:
        raise ValueError("need 0 < test_fraction and test_fraction + val_fraction < 1")
    if len(manifest) < 3:
        raise ValueError("random: the manifest needs at least three rows")
    positions = np.arange(len(manifest))
    labels = manifest["emotion"].to_numpy(dtype=object)

    def draw(pool: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
        strata = labels[pool] if stratify else None
        try:
            keep, held = train_test_split(pool, test_size=size, random_state=seed, stratify=strata)
        except ValueError:  # a class with a single member cannot be stratified
            keep, held = train_test_split(pool, test_size=size, random_state=seed)
        return np.asarray(keep), np.asarray(held)

    rest, test = draw(positions, test_fraction)
    val = np.array([], dtype=np.int64)
    if val_fraction > 0:
        rest, val = draw(rest, val_fraction / (1.0 - test_fraction))
    return _finish(
        manifest,
        Split(
            protocol="random",
            train=_positions(rest),
            val=_positions(val),
            test=_positions(test),
            description=(
                f"random (speaker-dependent; seed {seed}"
                + (", stratified on emotion" if stratify else "")
                + "): the same speakers and texts are in train and test"
            ),
            disjoint_on=(),
            n_rows=len(manifest),
        ),
    )


def _canonical_protocol(protocol: str) -> str:
    key = protocol.strip().lower().replace("_", "-")
    aliases = {
        "holdout": "speaker-holdout",
        "speaker-holdout": "speaker-holdout",
        "loso": "loso",
        "leave-one-speaker-out": "loso",
        "kfold": "kfold-speaker",
        "kfold-speaker": "kfold-speaker",
        "speaker-kfold": "kfold-speaker",
        "text-holdout": "text-holdout",
        "random": "random",
        "per-corpus": "per-corpus",
        "loco": "loco",
        "leave-one-corpus-out": "loco",
    }
    if key not in aliases:
        raise ValueError(
            f"unknown split protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}"
        )
    return aliases[key]


def get_splits(protocol: str, manifest: pd.DataFrame, **kwargs: Any) -> list[Split]:
    """All splits of a protocol: one for the hold-out protocols, one per fold otherwise.

    Args:
        protocol: one of :data:`PROTOCOLS` (``-``/``_`` and case are ignored).
        manifest: the manifest to split.
        **kwargs: passed to the generator (``seed``, ``test_fraction``, ``k``, ``validation``,
            ``test_speakers``, ...).

    Raises:
        ValueError: unknown protocol or arguments the protocol does not take.
    """
    name = _canonical_protocol(protocol)
    if name == "loso":
        return list(leave_one_speaker_out(manifest, **kwargs))
    if name == "kfold-speaker":
        return list(speaker_kfold(manifest, **kwargs))
    if name == "speaker-holdout":
        return [speaker_holdout(manifest, **kwargs)]
    if name == "text-holdout":
        return [text_holdout(manifest, **kwargs)]
    if name == "per-corpus":
        return [per_corpus_holdout(manifest, **kwargs)]
    if name == "loco":
        return list(leave_one_corpus_out(manifest, **kwargs))
    return [random_split(manifest, **kwargs)]


def get_split(protocol: str, manifest: pd.DataFrame, fold: int = 0, **kwargs: Any) -> Split:
    """One split of a protocol (fold ``fold`` for ``loso`` / ``kfold-speaker``).

    Example:
        >>> split = get_split("speaker-holdout", manifest, seed=0)  # doctest: +SKIP
        >>> manifest.iloc[split.test].speaker.unique()              # doctest: +SKIP

    Args:
        protocol: one of :data:`PROTOCOLS`.
        manifest: the manifest to split.
        fold: which fold of a multi-fold protocol (must be 0 for single-split protocols).
        **kwargs: passed to the generator (see :func:`get_splits`).

    Raises:
        ValueError: unknown protocol, or ``fold`` out of range.
    """
    splits = get_splits(protocol, manifest, **kwargs)
    if not 0 <= fold < len(splits):
        raise ValueError(f"{protocol}: fold {fold} out of range (0..{len(splits) - 1})")
    return splits[fold]
