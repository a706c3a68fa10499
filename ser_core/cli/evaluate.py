"""``ser evaluate``: metrics, breakdowns and predictions of a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from ser_core.cli._common import fmt_metric, key_values
from ser_core.errors import SERError
from ser_core.paths import CORPORA_ENV


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ser_core.evaluation.runner import evaluate, write_evaluation
    from ser_core.inference import load_predictor

    predictor = load_predictor(args.checkpoint)
    manifest = None
    if args.manifest is not None:
        from ser_core.training.data import read_manifest_file

        manifest = read_manifest_file(args.manifest)
    split_options = key_values(args.split_option, "--split-option")
    predictions, report = evaluate(
        predictor,
        manifest,
        data_root=args.data_root,
        corpora=args.corpus or None,
        protocol=args.protocol,
        fold=args.fold or 0,
        split_options=split_options,
        n_boot=args.n_boot,
        progress=not args.no_progress,
    )
    if args.out:
        out = Path(args.out)
    elif predictor.folder is not None:
        # A subfolder, so the training run's own predictions.parquet is never overwritten.
        out = predictor.folder / "evaluation"
    else:
        raise SERError("pass --out DIR for the evaluation files")
    write_evaluation(predictions, report, out)
    m, ci = report.metrics, report.ci
    print(
        f"{predictor.name} ({predictor.model_name}) on {m['n']} utterances"
        f" [{report.settings.get('protocol', '')}]"
    )
    for key, title in (
        ("ua", "UA"),
        ("wa", "WA"),
        ("macro_f1", "macro F1"),
        ("weighted_f1", "weighted F1"),
    ):
        interval = ""
        if key in ci:
            interval = f"  (95% CI {fmt_metric(ci[key].low)}–{fmt_metric(ci[key].high)})"
        print(f"  {title:<12}{fmt_metric(m[key])}{interval}")
    if len(report.top_confusions):
        top = report.top_confusions.iloc[0]
        print(f"  most frequent confusion: {top.iloc[0]} → {top.iloc[1]} ({int(top.iloc[2])})")
    for note in report.settings.get("notes") or []:
        print(f"  note: {note}")
    print(f"wrote predictions.parquet, metrics.json and report.md to {out}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a checkpoint: metrics, breakdowns, per-utterance predictions",
        description="By default the test set recorded in the checkpoint; --corpus adds corpora "
        "the model never saw (all of their rows are test data); --protocol makes a fresh split.",
    )
    evaluate.add_argument("--checkpoint", required=True, help="checkpoint folder or name")
    evaluate.add_argument("--corpus", action="append", help="corpus to evaluate on (repeatable)")
    evaluate.add_argument(
        "--data-root",
        type=Path,
        help=f"folder holding the corpora (default: the checkpoint's, then ${CORPORA_ENV})",
    )
    evaluate.add_argument("--manifest", type=Path, help="a .csv/.parquet manifest to evaluate")
    evaluate.add_argument("--protocol", help="make a fresh split with this protocol")
    evaluate.add_argument("--fold", type=int, help="fold of --protocol")
    evaluate.add_argument(
        "--split-option",
        action="append",
        metavar="KEY=VALUE",
        help="split options for --protocol (repeatable)",
    )
    evaluate.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    evaluate.add_argument("--out", type=Path, help="output folder (default: CHECKPOINT/evaluation)")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluate.set_defaults(handler=_cmd_evaluate)
