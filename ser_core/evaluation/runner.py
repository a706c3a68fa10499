"""Evaluate a checkpoint on a corpus: predictions for every test utterance, then the full report.

>>> from ser_core.evaluation.runner import evaluate
>>> predictions, report = evaluate("runs/cnn_lstm")               # doctest: +SKIP
>>> report.metrics["ua"], report.breakdowns["gender"].difference() # doctest: +SKIP

Which rows are tested:

* default (no ``corpora``, ``manifest`` or ``protocol``): the test set recorded in the
  checkpoint — the same files, found again by their path relative to the corpus root, so the
  numbers are those of the training run's held-out speakers;
* ``corpora`` / ``manifest`` given, no ``protocol``: rows of corpora the model was trained on are
  limited to the recorded test files, and every row of a corpus the model never saw is test data
  (cross-corpus evaluation);
* ``protocol`` given: a fresh split of the given data with that protocol (``fold`` and
  ``split_options`` as for training). A note warns when test speakers were heard in training.

Rows whose label the model does not have (``calm`` for a 7-class model) are dropped with a note;
notes are kept in ``report.settings["notes"]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ser_core.errors import CheckpointError, CorpusError
from ser_core.scoring.predictions import save_predictions
from ser_core.scoring.report import EvaluationReport, evaluate_predictions

__all__ = ["evaluate", "write_evaluation"]


def _predictor(checkpoint_or_predictor: Any) -> Any:
    from ser_core.inference import Predictor, load_predictor

    if isinstance(checkpoint_or_predictor, Predictor):
        return checkpoint_or_predictor
    return load_predictor(checkpoint_or_predictor)


def _load_manifest(
    data: Mapping[str, Any],
    manifest: pd.DataFrame | None,
    data_root: str | os.PathLike[str] | None,
    corpora: Sequence[str] | None,
) -> tuple[pd.DataFrame, Path | None]:
    from ser_core.data import load_corpora
    from ser_core.training.data import corpus_key, read_manifest_file, resolve_data_root

    recorded = data.get("data_root")
    if data_root is None and recorded and Path(recorded).is_dir():
        data_root = recorded  # the training machine's folder, when this machine has it too
    root = resolve_data_root(data_root)
    if manifest is not None:
        frame = manifest
    elif corpora is None and data.get("manifest"):
        frame = read_manifest_file(data["manifest"])
    else:
        names = list(corpora) if corpora else list(data.get("corpora") or [])
        if not names:
            raise CorpusError("name the corpora to evaluate on (--corpus NAME)")
        if root is None or not root.is_dir():
            raise CorpusError(
                "no corpus folder: pass --data-root DIR or set SER_CORPORA "
                f"(the checkpoint was trained with data_root={data.get('data_root')!r})"
            )
        frame = load_corpora(root, names=names)
    if corpora and manifest is not None:
        wanted = {corpus_key(c) for c in corpora}
        frame = frame[frame["corpus"].isin(wanted)]
    return frame.reset_index(drop=True), root


def evaluate(
    checkpoint_or_predictor: Any,
    manifest: pd.DataFrame | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
    corpora: Sequence[str] | None = None,
    protocol: str | None = None,
    fold: int = 0,
    split_options: Mapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    cache: bool = True,
    progress: bool = False,
) -> tuple[pd.DataFrame, EvaluationReport]:
    """Predict the test utterances and evaluate them.

    Args:
        checkpoint_or_predictor: a checkpoint folder / name, or a loaded ``Predictor``.
        manifest: evaluate on these rows (a manifest frame) instead of loading corpora.
        data_root: folder holding the corpora (default: the checkpoint's, then
            ``$SER_CORPORA``).
        corpora: corpora to evaluate on (default: those the model was trained on).
        protocol: make a fresh split with this protocol instead of using the recorded test set.
        fold, split_options: for ``protocol`` (as in training).
        n_boot: bootstrap resamples for the intervals.
        seed: bootstrap seed.
        cache: cache features on disk by file content (re-evaluations are then fast).
        progress: show a progress bar.

    Returns:
        ``(predictions, report)``: the predictions frame (manifest columns + ``true``,
        ``predicted``, ``prob_<label>``, ``model``, ``protocol``, ``fold``) and its
        :class:`~ser_core.scoring.report.EvaluationReport`.

    Raises:
        CheckpointError: a bad checkpoint, or a recorded test set that cannot be found.
        CorpusError: missing corpora, or no test rows left.
    """
    from ser_core.data import get_split
    from ser_core.training.data import file_ids

    predictor = _predictor(checkpoint_or_predictor)
    data = dict(predictor.config.get("data") or {})
    frame, root = _load_manifest(data, manifest, data_root, corpora)
    notes: list[str] = []
    trained_on = set(data.get("corpora") or [])
    fold_value: int | None = data.get("fold")
    if protocol is not None:
        options = dict(split_options or {})
        try:
            split = get_split(protocol, frame, fold=fold, **options)
        except (TypeError, ValueError) as exc:
            raise CorpusError(f"cannot split the evaluation data with {protocol}: {exc}") from exc
        test = frame.iloc[split.test]
        used_protocol, fold_value = split.protocol, split.fold
        heard = set(map(str, test["speaker"].dropna())) & set(data.get("train_speakers") or [])
        if heard:
            notes.append(
                f"{len(heard)} test speaker(s) were heard in training "
                f"({', '.join(sorted(heard)[:5])}): scores are optimistic"
            )
        notes.append(f"split: {split.description}")
    else:
        used_protocol = str(data.get("protocol") or "")
        recorded = set(data.get("test_files") or [])
        seen = frame["corpus"].isin(trained_on).to_numpy()
        ids = pd.Series(file_ids(frame["path"], root), index=frame.index)
        keep = ~seen | ids.isin(recorded).to_numpy()
        if seen.any() and not (seen & keep).any():
            raise CheckpointError(
                "none of the test files recorded in the checkpoint were found under "
                f"{root}; pass --data-root with the corpus folder used for training, or "
                "--protocol to make a fresh split"
            )
        if seen.any() and (seen & keep).sum() < len(recorded):
            notes.append(
                f"{len(recorded) - int((seen & keep).sum())} recorded test file(s) were not found"
            )
        unseen = sorted(set(map(str, frame.loc[~seen, "corpus"])))
        if unseen:
            notes.append(f"cross-corpus: every row of {', '.join(unseen)} is test data")
            if seen.any():
                used_protocol = f"{used_protocol} + cross-corpus"
            else:
                used_protocol, fold_value = "cross-corpus", None
        test = frame[keep]

    labels = predictor.labels
    known = test["emotion"].isin(labels)
    if not known.all():
        dropped = test.loc[~known, "emotion"].value_counts().sort_index()
        notes.append(
            "dropped rows whose label the model does not have: "
            + ", ".join(f"{k} ({v})" for k, v in dropped.items())
        )
        test = test[known]
    if test.empty:
        raise CorpusError("no test rows to evaluate (check --corpus, --protocol and the labels)")

    from ser_core.training import predictions_frame

    probabilities = predictor.predict_files(
        [str(p) for p in test["path"]], progress=progress, cache=cache
    )
    predictions = predictions_frame(
        test,
        probabilities[labels].to_numpy(),
        labels,
        predictor.model_name,
        protocol=used_protocol,
    )
    if fold_value is not None:
        predictions["fold"] = int(fold_value)
    report = evaluate_predictions(predictions, labels=labels, n_boot=n_boot, seed=seed)
    report.settings["notes"] = notes
    report.settings["checkpoint"] = str(predictor.folder) if predictor.folder else None
    return predictions, report


def write_evaluation(
    predictions: pd.DataFrame, report: EvaluationReport, out_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write ``predictions.parquet``, ``metrics.json`` and ``report.md`` into ``out_dir``.

    Returns:
        Kind → path written.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "predictions": save_predictions(predictions, folder / "predictions.parquet"),
        "metrics": folder / "metrics.json",
        "report": folder / "report.md",
    }
    paths["metrics"].write_text(
        json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    notes = report.settings.get("notes") or []
    text = report.to_markdown()
    if notes:
        text += "\n\n## Notes\n\n" + "\n".join(f"- {n}" for n in notes)
    paths["report"].write_text(text + "\n", encoding="utf-8")
    return paths
