"""The ``ser`` command line.

Every subcommand prints results on stdout; a problem the user can fix (bad audio, a missing
corpus folder, an unknown model) prints one clear line on stderr and exits with status 2, never
a traceback. Unexpected failures still show a traceback, because those are bugs to report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ser_core import __version__
from ser_core.errors import SERError
from ser_core.paths import CORPORA_ENV, corpora_root

Handler = Callable[[argparse.Namespace], int]


def _default_root() -> Path | None:
    return corpora_root()


def _cmd_data_summary(args: argparse.Namespace) -> int:
    from ser_core.data import load_corpora, summarize

    root = args.root or _default_root()
    if root is None:
        raise SERError(f"no corpus folder given: pass --root DIR or set {CORPORA_ENV}")
    manifest = load_corpora(Path(root), names=args.corpus or None)
    table = summarize(manifest)
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2, default=_json_default))
    else:
        print(table.to_string(index=False))
    return 0


def _cmd_data_manifest(args: argparse.Namespace) -> int:
    from ser_core.data import load_corpora

    root = args.root or _default_root()
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


def _json_default(value: object) -> object:
    # numpy scalars and pandas NA are not JSON-serialisable as they are.
    if hasattr(value, "item"):
        return value.item()  # type: ignore[no-any-return]
    return None if value is None or str(value) in {"<NA>", "nan"} else str(value)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ser`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="ser", description="Speech emotion recognition: corpora, models, evaluation."
    )
    parser.add_argument("--version", action="version", version=f"ser_core {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ser`` with ``argv`` (default: the process arguments); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SERError as error:
        print(f"ser: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ser: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        sys.stderr.close()
        return 0
