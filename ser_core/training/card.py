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


def _failure_modes(report: Any) -> list[str]:
    """Plain sentences from the test confusion matrix: where this model goes wrong."""
    lines = []
    recall = report.per_class["recall"].dropna().sort_values()
    if len(recall):
        weakest = ", ".join(f"{label} ({100 * value:.0f} %)" for label, value in recall[:2].items())
        lines.append(f"- weakest classes (test recall): {weakest}")
    confusions = report.top_confusions.head(3)
    if len(confusions):
        pairs = ", ".join(
            f"{row['true']} heard as {row['predicted']} ({100 * row['share']:.0f} % of "
            f"{row['true']})"
            for _, row in confusions.iterrows()
        )
        lines.append(f"- most frequent confusions: {pairs}")
    for column in ("gender", "intensity"):
        group = report.breakdowns.get(column)
        if group is None:
            continue
        ua = group.by_group["ua"].dropna() if "ua" in group.by_group.columns else None
        if ua is not None and len(ua) >= 2:
            lines.append(
                f"- UA by {column}: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in ua.items())
            )
    return lines


def _evaluation_section(predictions: Any) -> list[str]:
    """Test metrics with 95 % bootstrap intervals and the failure modes, from the predictions."""
    from ser_core.scoring import evaluate_predictions

    report = evaluate_predictions(predictions, n_boot=1000, seed=0)
    body = report.to_markdown(max_group_rows=12).splitlines()
    if body and body[0].startswith("# "):
        body = body[1:]
    body = ["#" + line if line.startswith("#") else line for line in body]
    return [
        "## Known failure modes",
        "",
        *_failure_modes(report),
        "",
        "## Test set in detail",
        *body,
        "",
    ]


def _target_lines(
    card: Mapping[str, Any], data: Mapping[str, Any], metrics: Mapping[str, Any]
) -> list[str]:
    """The test-UA target a model declares for its corpus (``card["ua_targets"]``), met or
    missed by how much, with the facts of the run that explain a shortfall."""
    targets = card.get("ua_targets") or {}
    corpora = list(data.get("corpora", []))
    ua = metrics.get("test", {}).get("ua")
    if len(corpora) != 1 or corpora[0] not in targets or ua is None:
        return []
    target = float(targets[corpora[0]])
    line = (
        f"Target: test UA ≥ {_pct(target)} on {corpora[0]} "
        f"({card.get('ua_target_source', 'speaker-independent')})"
    )
    if ua >= target:
        return [f"{line}: met ({_pct(ua)}).", ""]
    n_val_speakers = len(data.get("val_speakers", []))
    reasons = [
        f"{data.get('n_train', 0)} training clips from {len(data.get('train_speakers', []))} "
        f"speakers (data size)",
        f"the epoch kept on {data.get('n_val', 0)} validation clips of {n_val_speakers} "
        f"speaker(s), so selection is noisy; the test speakers are unseen (split)",
        *card.get("shortfall_reasons", []),
    ]
    return [
        f"{line}: **missed by {100 * (target - ua):.1f} points** ({_pct(ua)} measured). "
        f"Why: {'; '.join(reasons)}.",
        "",
    ]


def model_card(
    model: Any, config: TrainConfig, extra: Mapping[str, Any], predictions: Any = None
) -> str:
    """The model card as Markdown (with ``predictions``: intervals and failure modes too)."""
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
        # what the model itself says about its weights and size (e.g. a CPU-sized variant)
        *(f"- {note}" for note in card.get("notes", [])),
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
        *_licences(sorted({*data.get("corpora", []), *data.get("pretrained_on", [])})),
        "",
        "## Hyperparameters",
        "",
        "| setting | value |",
        "| --- | --- |",
    ]
    settings = config.hyperparameters()
    # The values actually used: the model may supply them when the setting is None.
    settings.update({k: v for k, v in extra.get("effective", {}).items() if k in settings})
    lines += [f"| {k} | `{v}` |" for k, v in settings.items()]
    if config.model_config:
        lines.append(f"| model_config | `{config.model_config}` |")
    if config.feature_config:
        lines.append(f"| feature_config | `{config.feature_config}` |")
    lines += [
        "",
        "## Results",
        "",
        f"Best epoch {metrics.get('best_epoch', '–')}; training took "
        f"{extra.get('training_seconds', 0):.0f} s on {config.device} "
        f"({extra.get('versions', {}).get('cpu', 'this machine')}, "
        f"{config.num_threads or 'default'} torch threads).",
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
        *_target_lines(card, data, metrics),
    ]
    if predictions is not None and len(predictions):
        lines += _evaluation_section(predictions)
    lines += [
        "Versions: " + ", ".join(f"{k} {v}" for k, v in extra.get("versions", {}).items()) + ".",
        "",
    ]
    return "\n".join(lines)


def write_model_card(
    path: Path,
    *,
    model: Any,
    config: TrainConfig,
    extra: Mapping[str, Any],
    predictions: Any = None,
) -> Path:
    """Write :func:`model_card` to ``path``."""
    path.write_text(model_card(model, config, extra, predictions), encoding="utf-8")
    return path
