"""From a :class:`TrainConfig` to the rows a run trains, validates and tests on.

Order of operations (each recorded in the checkpoint's ``data`` section):

1. the manifest: ``corpora`` under ``data_root`` (or ``$SER_CORPORA``), or a manifest file;
2. the label policy: an explicit list or ``shared7`` drops rows with other labels (``auto``
   keeps every row; labels missing from training are dropped from validation and test later);
3. quick-run caps: ``max_speakers`` per corpus, then ``max_files`` per speaker and emotion;
4. the split (``get_split``), with a validation set carved out of training (10 %, stratified
   by emotion, speaker-dependent) only when the protocol gives none, so early stopping never
   looks at test data.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.data import (
    Split,
    check_no_leakage,
    get_corpus_info,
    get_splits,
    load_corpora,
    sort_emotions,
)
from ser_core.errors import CorpusError, SERError
from ser_core.paths import CORPORA_ENV, corpora_root
from ser_core.training.config import TrainConfig, TrainConfigError

__all__ = [
    "corpus_key",
    "file_ids",
    "load_training_manifest",
    "make_splits",
    "read_manifest_file",
    "resolve_data_root",
]

#: Share of training rows moved to validation when a protocol holds out no validation set.
CARVED_VAL_FRACTION = 0.1


def resolve_data_root(data_root: str | os.PathLike[str] | None) -> Path | None:
    """``data_root`` as a path, else ``$SER_CORPORA``, else None."""
    if data_root:
        return Path(data_root).expanduser()
    return corpora_root()


def read_manifest_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a manifest written by ``ser data manifest`` (``.csv`` or ``.parquet``).

    Raises:
        CorpusError: missing file, unknown extension, or no ``path`` / ``emotion`` columns.
    """
    source = Path(path)
    if not source.is_file():
        raise CorpusError(f"no manifest file at {source}; write one with `ser data manifest`")
    if source.suffix == ".parquet":
        manifest = pd.read_parquet(source)
    elif source.suffix == ".csv":
        manifest = pd.read_csv(source)
    else:
        raise CorpusError(f"cannot read manifest {source.name}: use a .csv or .parquet file")
    missing = [c for c in ("path", "corpus", "emotion") if c not in manifest.columns]
    if missing:
        raise CorpusError(f"manifest {source} lacks the column(s) {', '.join(missing)}")
    return manifest


def corpus_key(name: str) -> str:
    """The canonical name of a corpus as a user may type it (``EMO-DB`` → ``emodb``); a folder
    corpus unknown to the registry keeps its own name."""
    try:
        return get_corpus_info(name).name
    except CorpusError:
        return name  # a folder corpus named by the user


def load_training_manifest(
    config: TrainConfig, manifest: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The manifest a run uses, after label policy and quick-run caps.

    Args:
        config: the run's settings.
        manifest: use this manifest instead of loading ``config.corpora`` / ``config.manifest``
            (``config.corpora`` still filters it when given).

    Returns:
        ``(manifest with a fresh 0..n-1 index, notes)``: notes say what was dropped and why.

    Raises:
        CorpusError: no corpus folder, unknown corpora, or nothing left after filtering.
    """
    notes: list[str] = []
    if manifest is None and config.manifest:
        manifest = read_manifest_file(config.manifest)
    if manifest is None:
        root = resolve_data_root(config.data_root)
        if root is None:
            raise CorpusError(f"no corpus folder given: pass --data-root DIR or set {CORPORA_ENV}")
        names = [*config.corpora, *config.train_also] if config.corpora else config.corpora
        manifest = load_corpora(root, names=names)
    elif config.corpora:
        wanted = {corpus_key(c) for c in [*config.corpora, *config.train_also]}
        present = set(map(str, manifest["corpus"].unique()))
        missing = sorted(wanted - present)
        if missing:
            raise CorpusError(
                f"corpus {', '.join(missing)} not in the manifest "
                f"(it has {', '.join(sorted(present))})"
            )
        manifest = manifest[manifest["corpus"].isin(wanted)]
    manifest = manifest.reset_index(drop=True)

    fixed = config.label_list
    if fixed is not None:
        keep = manifest["emotion"].isin(fixed)
        if not keep.all():
            dropped = manifest.loc[~keep, "emotion"].value_counts().sort_index()
            notes.append(
                "dropped rows outside the label list: "
                + ", ".join(f"{label} ({n})" for label, n in dropped.items())
            )
        manifest = manifest[keep].reset_index(drop=True)

    if config.max_speakers is not None:
        manifest, note = _cap_speakers(manifest, config.max_speakers, config.seed)
        if note:
            notes.append(note)
    if config.max_files is not None:
        before = len(manifest)
        manifest = _cap_files(manifest, config.max_files, config.seed)
        notes.append(
            f"quick run: at most {config.max_files} file(s) per speaker and emotion "
            f"({len(manifest)} of {before} rows kept)"
        )
    if manifest.empty:
        raise CorpusError("no rows left to train on after the label policy and quick-run caps")
    return manifest.reset_index(drop=True), notes


def _cap_speakers(manifest: pd.DataFrame, k: int, seed: int) -> tuple[pd.DataFrame, str]:
    if manifest["speaker"].isna().any():
        return manifest, "max_speakers ignored: some rows have no speaker"
    rng = np.random.default_rng(seed)
    keep: list[str] = []
    for _corpus, sub in manifest.groupby("corpus", sort=True):
        table = sub.groupby("speaker", sort=True)["gender"].first().fillna("?")
        pools = {
            g: list(rng.permutation(sorted(map(str, s.index)))) for g, s in table.groupby(table)
        }
        picked: list[str] = []
        while len(picked) < min(k, len(table)):  # alternate genders, as speaker-holdout does
            for pool in pools.values():
                if pool and len(picked) < k:
                    picked.append(pool.pop())
        keep += picked
    kept = manifest[manifest["speaker"].isin(keep)]
    return kept, f"quick run: at most {k} speaker(s) per corpus ({len(sorted(keep))} kept)"


def _cap_files(manifest: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    speakers = manifest["speaker"].astype(object).where(manifest["speaker"].notna(), "?")
    keys = speakers.astype(str) + "\x00" + manifest["emotion"].astype(str)
    rng = np.random.default_rng(seed)
    picked = [
        rng.permutation(np.asarray(group.index))[:k]
        for _, group in manifest.groupby(keys, sort=True)
    ]
    return manifest.loc[np.sort(np.concatenate(picked))]


def make_splits(config: TrainConfig, manifest: pd.DataFrame) -> list[Split]:
    """Every split of the configured protocol (one for hold-out protocols, one per fold).

    A split without validation rows gets :data:`CARVED_VAL_FRACTION` of its training rows as
    validation (stratified by emotion, seeded; speaker-dependent, which the description says).

    Raises:
        TrainConfigError: the protocol cannot split this manifest (too few speakers, no texts,
            bad split options).
    """
    if config.train_also:
        return _with_training_corpora(config, manifest)
    try:
        splits = get_splits(config.protocol, manifest, **config.split_kwargs())
    except TypeError as exc:  # a split option the protocol does not take
        raise TrainConfigError(f"{config.protocol}: bad split option: {exc}") from exc
    except ValueError as exc:
        if isinstance(exc, SERError):
            raise
        raise TrainConfigError(f"cannot split the data: {exc}") from exc
    return [_with_validation(manifest, s, config.seed) for s in splits]


def _with_training_corpora(config: TrainConfig, manifest: pd.DataFrame) -> list[Split]:
    """The protocol's splits of ``config.corpora``, every clip of ``config.train_also`` added to
    each training set (positions in the whole manifest)."""
    extra = {corpus_key(c) for c in config.train_also}
    overlap = sorted(extra & {corpus_key(c) for c in config.corpora})
    if overlap:
        raise TrainConfigError(f"train_also: {', '.join(overlap)} is also split (corpora)")
    is_extra = manifest["corpus"].astype(str).isin(extra).to_numpy()
    if not is_extra.any() or is_extra.all():
        raise TrainConfigError("train_also needs rows of both the split and the added corpora")
    own = np.flatnonzero(~is_extra)
    added = np.flatnonzero(is_extra)
    inner = make_splits(config.replace(train_also=[]), manifest.iloc[own].reset_index(drop=True))
    note = f"; every clip of {', '.join(sorted(extra))} also in training"
    splits = [
        dataclasses.replace(
            s,
            train=np.sort(np.concatenate([own[s.train], added])),
            val=own[s.val],
            test=own[s.test],
            description=s.description + note,
            n_rows=len(manifest),
        )
        for s in inner
    ]
    for split in splits:
        check_no_leakage(manifest, split)
    return splits


def _with_validation(manifest: pd.DataFrame, split: Split, seed: int) -> Split:
    if len(split.val) or len(split.train) < 10:
        return split
    from sklearn.model_selection import train_test_split

    labels = manifest["emotion"].to_numpy(dtype=object)[split.train]
    try:
        train, val = train_test_split(
            split.train, test_size=CARVED_VAL_FRACTION, random_state=seed, stratify=labels
        )
    except ValueError:  # a class too small to stratify
        train, val = train_test_split(split.train, test_size=CARVED_VAL_FRACTION, random_state=seed)
    carved = dataclasses.replace(
        split,
        train=np.sort(np.asarray(train, dtype=np.int64)),
        val=np.sort(np.asarray(val, dtype=np.int64)),
        description=split.description
        + f"; validation: {CARVED_VAL_FRACTION:.0%} of the training utterances "
        "(speaker-dependent: the protocol left no validation speakers)",
    )
    check_no_leakage(manifest, carved)
    return carved


def auto_labels(manifest: pd.DataFrame, split: Split) -> list[str]:
    """Labels present in the training rows, in canonical order."""
    return sort_emotions(map(str, manifest["emotion"].iloc[split.train]))


def file_ids(paths: Any, root: Path | None) -> list[str]:
    """Machine-independent ids of files: the path relative to ``root`` when under it.

    Checkpoints record their test files this way, so ``ser evaluate`` finds the same test set on
    a machine whose corpora live elsewhere.
    """
    out = []
    base = root.resolve() if root is not None else None
    for path in paths:
        p = Path(str(path))
        if base is not None:
            try:
                out.append(p.resolve().relative_to(base).as_posix())
                continue
            except ValueError:
                pass
        out.append(p.as_posix())
    return out
