"""The floor a pretrained-encoder head must beat: a linear probe on frozen encoder states.

Every hidden layer of the encoder, mean-pooled (and optionally std-pooled) over time and
concatenated, standardised, then logistic regression. Speaker-independent folds: leave one
speaker out for corpora of up to 10 speakers (EMO-DB), else 6 actor-grouped folds (RAVDESS).
Not a test: a measurement (minutes of CPU, states cached on disk by ``ser_core.features``).

    python benchmarks/linear_probe.py --corpus emodb --data-root ../shared/corpora
    python benchmarks/linear_probe.py --corpus ravdess --data-root ../shared/corpora
    python benchmarks/linear_probe.py --corpus emodb --data-root ../shared/corpora --nested

The fixed-C rows show every C on the test folds, so the best of them is chosen on test results:
an optimistic floor. ``--nested`` adds the honest one: in every outer fold C is chosen by a
3-fold speaker-grouped cross-validation of the training speakers alone, then refitted on all of
them (mean+std pooling).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, recall_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ser_core.data import load_corpora
from ser_core.features import EncoderStatesConfig
from ser_core.features.cache import extract_files


def pooled_states(paths: list[str], encoder: str) -> np.ndarray:
    """(N, 2 * layers * dim): per-layer mean then std over time of each clip's states."""
    rows = []
    for states in extract_files(paths, EncoderStatesConfig(encoder), progress=True):
        s = states.astype(np.float32)
        rows.append(np.concatenate([s.mean(-1).ravel(), s.std(-1).ravel()]))
    return np.stack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--encoder", default="whisper_base")
    parser.add_argument("--nested", action="store_true", help="also choose C by inner CV")
    args = parser.parse_args()
    manifest = load_corpora(args.data_root, names=[args.corpus]).reset_index(drop=True)
    x = pooled_states([str(p) for p in manifest.path], args.encoder)
    y = manifest.emotion.astype(str).to_numpy()
    speakers = manifest.speaker.astype(str).to_numpy()
    if len(set(speakers)) > 10:
        folds = list(GroupKFold(n_splits=6).split(x, y, speakers))
        protocol = "6 speaker-grouped folds"
    else:
        folds = [(np.flatnonzero(speakers != s), np.flatnonzero(speakers == s))
                 for s in sorted(set(speakers))]  # fmt: skip
        protocol = "leave one speaker out"
    half = x.shape[1] // 2
    name = f"{args.corpus} [{protocol}] {args.encoder}"
    for pooling, features in (("mean", x[:, :half]), ("mean+std", x)):
        for c in GRID:
            ua, wa = _out_of_fold(features, y, folds, lambda train_rows, c=c: c)
            print(f"{name} {pooling} C={c}: UA {ua:.1f} WA {wa:.1f}")
    if args.nested:
        chosen: list[float] = []

        def inner(train_rows: np.ndarray) -> float:
            chosen.append(_inner_choice(x[train_rows], y[train_rows], speakers[train_rows]))
            return chosen[-1]

        ua, wa = _out_of_fold(x, y, folds, inner)
        picks = ", ".join(f"{c:g}" for c in chosen)
        print(f"{name} mean+std, C nested (chosen {picks}): UA {ua:.1f} WA {wa:.1f}")


GRID = (0.01, 0.1)


def _probe(c: float) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))


def _out_of_fold(
    x: np.ndarray, y: np.ndarray, folds: list, choose_c: Callable[[np.ndarray], float]
) -> tuple[float, float]:
    """UA and WA (%) of out-of-fold predictions, C chosen per fold from its training rows."""
    predicted = np.empty(len(y), dtype=object)
    for train_rows, test_rows in folds:
        probe = _probe(choose_c(train_rows)).fit(x[train_rows], y[train_rows])
        predicted[test_rows] = probe.predict(x[test_rows])
    return 100 * recall_score(y, predicted, average="macro"), 100 * accuracy_score(y, predicted)


def _inner_choice(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """The C of :data:`GRID` with the best UA over 3 speaker-grouped folds of training data."""
    inner = list(GroupKFold(n_splits=3).split(x, y, groups))
    scores = [_out_of_fold(x, y, inner, lambda rows, c=c: c)[0] for c in GRID]
    return GRID[int(np.argmax(scores))]


if __name__ == "__main__":
    main()
