"""Rebuilding a checkpoint's model card after training, with what only evaluation knows: the
leave-one-corpus-out run of its recipe (the card itself is :mod:`ser_core.training.card`)."""

from __future__ import annotations

import json
import re
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
    ``benchmarks/results``): UA per held-out corpus with intervals, chance and the mean; below
    it the same recipe's runs with other seeds (sibling folders ``<name>-seed<N>``), since a
    single run's mean moves with the seed."""
    folder = Path(loco_folder)
    found = {s.name: s for s in find_sources(None, folder.parent)}
    if folder.name not in found:
        return []
    seeds = sorted(n for n in found if re.fullmatch(rf"{re.escape(folder.name)}-seed\d+", n))
    names = [folder.name, *seeds]
    rows = benchmark_rows([found[n] for n in names], n_boot=1000)
    text = (
        f"The same recipe trained on six corpora and tested on the seventh (`{folder.name}`, "
        "`--protocol loco --all-folds`): how it holds up on speakers, studios and languages it "
        "never heard."
    )
    if seeds:
        text += (
            " Below it, the same recipe with other seeds ("
            + ", ".join(f"`{n}`" for n in seeds)
            + "): a single run's mean moves with the seed."
        )
    return [
        "## Generalisation to unseen corpora (leave one corpus out)",
        "",
        text,
        "",
        render_generalisation_table(rows, names),
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
