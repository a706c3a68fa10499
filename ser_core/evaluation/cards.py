"""Rebuilding a checkpoint's model card after training, with what only evaluation knows: the
leave-one-corpus-out run of its recipe (the card itself is :mod:`ser_core.training.card`)."""

from __future__ import annotations

import json
from pathlib import Path

from ser_core.evaluation.benchmark import (
    benchmark_rows,
    find_sources,
    render_generalisation_table,
)
from ser_core.models import load_model
from ser_core.scoring import load_predictions
from ser_core.training.card import write_model_card
from ser_core.training.config import TrainConfig

__all__ = ["generalisation_section", "rewrite_model_card"]


def generalisation_section(loco_folder: str | Path) -> list[str]:
    """The card section of a leave-one-corpus-out run of the same recipe (its folder in
    ``benchmarks/results``): UA per held-out corpus with intervals, chance and the mean."""
    folder = Path(loco_folder)
    sources = [s for s in find_sources(None, folder.parent) if s.name == folder.name]
    if not sources:
        return []
    table = render_generalisation_table(benchmark_rows(sources, n_boot=1000))
    return [
        "## Generalisation to unseen corpora (leave one corpus out)",
        "",
        f"The same recipe trained on six corpora and tested on the seventh (`{folder.name}`, "
        "`--protocol loco --all-folds`): how it holds up on speakers, studios and languages it "
        "never heard.",
        "",
        table,
        "",
    ]


def rewrite_model_card(folder: str | Path, generalisation: str | Path | None = None) -> Path:
    """Rebuild a checkpoint folder's ``README.md`` from its own files (after editing them, or
    with a newer card layout): ``config.json``, ``train_config.json``, ``predictions.parquet``;
    with ``generalisation``, the leave-one-corpus-out run of its recipe is added
    (:func:`generalisation_section`).

    Raises:
        CheckpointError: the folder is not a checkpoint.
    """
    folder = Path(folder)
    model = load_model(folder)
    extra = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config = TrainConfig.load(folder / "train_config.json")
    predictions_path = folder / "predictions.parquet"
    predictions = load_predictions(predictions_path) if predictions_path.exists() else None
    path = write_model_card(
        folder / "README.md", model=model, config=config, extra=extra, predictions=predictions
    )
    if generalisation is not None:
        text = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
        versions = text.pop()  # the versions line stays last
        text += ["", *generalisation_section(generalisation), versions, ""]
        path.write_text("\n".join(text), encoding="utf-8")
    return path
