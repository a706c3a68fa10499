"""The ``README.md`` model card written into every checkpoint folder.

Facts only, all from the run itself (``model.card()`` and the checkpoint's ``config.json``):
architecture and reference, data and its licence, split protocol, hyperparameters, training time
and metrics. Nothing here is typed by hand, so the card never disagrees with the weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ser_core.training.config import TrainConfig

__all__ = ["model_card", "write_model_card"]

_HYPERPARAMETERS = (
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "scheduler",
    "step_size",
    "gamma",
    "batch_size",
    "epochs",
    "patience",
    "seed",
    "balance",
    "augment",
    "spec_augment",
    "max_train_seconds",
    "grad_clip",
    "labels",
    "max_files",
    "max_speakers",
)


def _pct(value: Any) -> str:
    return f"{100 * float(value):.1f} %" if isinstance(value, int | float) else "–"


def _licences(corpora: list[str]) -> list[str]:
    from ser_core.data import get_corpus_info
    from ser_core.errors import CorpusError

    lines = []
    for name in corpora:
        try:
            info = get_corpus_info(name)
        except CorpusError:
            lines.append(f"- {name}: a user-supplied collection (its own licence applies)")
            continue
        lines.append(f"- {info.display_name} ({info.name}): {info.licence}")
    return lines


def model_card(model: Any, config: TrainConfig, extra: Mapping[str, Any]) -> str:
    """The model card as Markdown."""
    card = model.card()
    data = extra.get("data", {})
    metrics = extra.get("metrics", {})
    lines = [
        f"# {card['name']} — speech emotion recognition",
        "",
        f"Trained with `ser_core` {extra.get('versions', {}).get('ser_core', '')} "
        f"on {', '.join(data.get('corpora', []))} "
        f"({data.get('split', {}).get('label', data.get('protocol', ''))}).",
        "",
        "## Architecture",
        "",
        f"- class `{card['class']}`, {card['parameters']:,} parameters; "
        f"input {card['input']['kind']} {card['input']['layout']} from "
        f"`{extra.get('feature_config', {}).get('kind', '')}` features",
        f"- explanation: {card.get('explanation', '')}",
        f"- reference: {card.get('reference', '')}",
        f"- labels (output order): {', '.join(card.get('labels') or [])}",
        "",
        "## Data",
        "",
        f"- split: {data.get('split', {}).get('description', '')}",
        f"- rows: {data.get('n_train', 0)} train, {data.get('n_val', 0)} validation, "
        f"{data.get('n_test', 0)} test",
        f"- test speakers: {', '.join(data.get('test_speakers', [])) or '–'}",
    ]
    lines += [f"- note: {note}" for note in data.get("notes", [])]
    lines += [
        "",
        "Licences: the emotional speech corpora are published for research and mostly for "
        "non-commercial use only; weights trained on them inherit those terms. Check each "
        "licence before any other use:",
        "",
        *_licences(list(data.get("corpora", []))),
        "",
        "## Hyperparameters",
        "",
        "| setting | value |",
        "| --- | --- |",
    ]
    settings = config.to_dict()
    # The values actually used: the model may supply them when the setting is None.
    settings.update(extra.get("effective", {}))
    lines += [f"| {k} | `{settings[k]}` |" for k in _HYPERPARAMETERS]
    if config.model_config:
        lines.append(f"| model_config | `{config.model_config}` |")
    if config.feature_config:
        lines.append(f"| feature_config | `{config.feature_config}` |")
    lines += [
        "",
        "## Results",
        "",
        f"Best epoch {metrics.get('best_epoch', '–')}; training took "
        f"{extra.get('training_seconds', 0):.0f} s on {config.device}.",
        "",
        "| set | n | UA | WA | macro F1 | weighted F1 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for part in ("val", "test"):
        m = metrics.get(part)
        if m:
            lines.append(
                f"| {part} | {int(m.get('n', 0))} | {_pct(m.get('ua'))} | {_pct(m.get('wa'))} | "
                f"{_pct(m.get('macro_f1'))} | {_pct(m.get('weighted_f1'))} |"
            )
    lines += [
        "",
        "UA: unweighted average recall (macro recall); WA: accuracy. Full breakdowns with "
        "bootstrap intervals: `ser evaluate --checkpoint <this folder>`.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in extra.get("versions", {}).items()) + ".",
        "",
    ]
    return "\n".join(lines)


def write_model_card(
    path: Path, *, model: Any, config: TrainConfig, extra: Mapping[str, Any]
) -> Path:
    """Write :func:`model_card` to ``path``."""
    path.write_text(model_card(model, config, extra), encoding="utf-8")
    return path
