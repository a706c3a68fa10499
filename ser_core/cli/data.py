"""``ser data summary|manifest``: inspect corpora."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ser_core.cli._common import default_root, json_default
from ser_core.errors import SERError
from ser_core.paths import CORPORA_ENV


def _cmd_data_summary(args: argparse.Namespace) -> int:
    from ser_core.data import load_corpora, summarize

    root = args.root or default_root()
    if root is None:
        raise SERError(f"no corpus folder given: pass --root DIR or set {CORPORA_ENV}")
    manifest = load_corpora(Path(root), names=args.corpus or None)
    table = summarize(manifest)
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2, default=json_default))
    else:
        print(table.to_string(index=False))
    return 0


def _cmd_data_manifest(args: argparse.Namespace) -> int:
    from ser_core.data import load_corpora

    root = args.root or default_root()
    if root is None:
        raise SERError(f"no corpus folder given: pass --root DIR or set {CORPORA_ENV}")
    manifest = load_corpora(Path(root), names=args.corpus or None)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        manifest.to_parquet(out, index=False)
    elif out.suffix == ".csv":
        manifest.to_csv(out, index=False)
    else:
        raise SERError(f"cannot write {out.name}: use a .csv or .parquet file name")
    print(f"wrote {len(manifest)} rows to {out}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data = commands.add_parser("data", help="inspect emotional speech corpora")
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    root_help = f"folder holding the corpora (default: ${CORPORA_ENV})"

    summary = data_commands.add_parser("summary", help="one row per corpus found under --root")
    summary.add_argument("--root", type=Path, help=root_help)
    summary.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.set_defaults(handler=_cmd_data_summary)

    manifest = data_commands.add_parser("manifest", help="write the utterance manifest to a file")
    manifest.add_argument("--root", type=Path, help=root_help)
    manifest.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    manifest.add_argument("--out", required=True, help="output .csv or .parquet file")
    manifest.set_defaults(handler=_cmd_data_manifest)
