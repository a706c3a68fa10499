"""The :class:`Split` record, the protocol names, and the leakage guard every split passes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

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
