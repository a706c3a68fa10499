"""``ser predict``: label audio files, or score a folder / manifest in batch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ser_core.errors import SERError


def _cmd_predict(args: argparse.Namespace) -> int:
    from ser_core.errors import AudioInputError
    from ser_core.inference import load_predictor

    if args.batch is not None:
        return _cmd_predict_batch(args)
    if not args.files:
        raise SERError("give audio FILE(s), or --batch DIR_OR_MANIFEST --out OUT.parquet")
    predictor = load_predictor(args.model or "default")
    results = []
    failed = 0
    for path in args.files:
        try:
            prediction = predictor.predict_file(path)
        except AudioInputError as error:
            # One bad file out of many: say which and why, score the rest, exit non-zero.
            print(f"ser: error: {error}", file=sys.stderr)
            failed += 1
            continue
        results.append(
            {
                "file": path,
                "label": prediction.label,
                "probabilities": prediction.probabilities,
                "model": predictor.name,
            }
        )
    status = 2 if failed else 0
    if not results:
        return status
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return status
    import pandas as pd

    table = pd.DataFrame(
        [{"file": r["file"], "label": r["label"], **r["probabilities"]} for r in results]
    )
    if args.format == "csv":
        print(table.to_csv(index=False), end="")
        return status
    for label in predictor.labels:
        table[label] = table[label].map(lambda p: f"{p:.3f}")
    print(table.to_string(index=False))
    return status


def _cmd_predict_batch(args: argparse.Namespace) -> int:
    from ser_core.inference import load_predictor
    from ser_core.inference.batch import batch_inputs, score_batch, score_batch_ray

    if args.files:
        raise SERError("give either FILE(s) or --batch, not both")
    if args.out is None or Path(args.out).suffix.lower() != ".parquet":
        raise SERError("--batch needs --out OUT.parquet (the table of predictions)")
    files = batch_inputs(args.batch)
    predictor = load_predictor(args.model or "default")
    if predictor.speaker_adapted:
        raise SERError(
            f"{predictor.name} is speaker-adapted: batch scoring has no enrolled speaker; "
            "choose a plain model"
        )
    if args.engine == "ray":
        summary = score_batch_ray(
            predictor,
            files,
            args.out,
            actors=args.workers,
            restart=args.restart,
            address=args.ray_address,
        )
    else:
        summary = score_batch(
            predictor,
            files,
            args.out,
            workers=args.workers,
            restart=args.restart,
            progress=not args.quiet,
        )
    print(
        f"scored {summary.scored} file(s) ({summary.errors} unusable, listed in the 'error' "
        f"column), skipped {summary.skipped} already scored; {summary.rows} row(s) in "
        f"{summary.out} ({summary.seconds:.1f} s)"
    )
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    predict = commands.add_parser("predict", help="predict the emotion of audio files")
    predict.add_argument("files", nargs="*", metavar="FILE", help="audio file(s)")
    predict.add_argument(
        "--model",
        help="checkpoint folder or name in checkpoints/ (default: the 'default' checkpoint)",
    )
    predict.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="output format"
    )
    batch = predict.add_argument_group(
        "batch scoring",
        "score a folder or manifest into a parquet table: one row per file (per window for "
        "long files), an 'error' column for unusable files; run it again to resume",
    )
    batch.add_argument(
        "--batch", metavar="DIR_OR_MANIFEST", help="folder of audio, or a .csv/.parquet manifest"
    )
    batch.add_argument("--out", metavar="OUT.parquet", help="the table to write (--batch)")
    batch.add_argument(
        "--workers",
        type=int,
        default=2,
        help="decoding threads (local engine) or model replicas (ray); default 2",
    )
    batch.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local threads, or Ray Data (pip install 'ray[data]')",
    )
    batch.add_argument(
        "--ray-address",
        help="Ray cluster to join (e.g. ray://head:10001; default: $RAY_ADDRESS or a local one)",
    )
    batch.add_argument(
        "--restart", action="store_true", help="score everything again, ignoring earlier runs"
    )
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(handler=_cmd_predict)
