"""The ``ser`` command line.

Subcommands::

    ser data summary|manifest ...          inspect corpora
    ser models [--json]                    the model registry
    ser train --model NAME --corpus C ... --protocol P --out DIR [hyperparameters | --config F]
    ser evaluate --checkpoint DIR [--corpus C ...] [--protocol P] [--out DIR]
    ser predict FILE ... [--model NAME_OR_PATH] [--format table|json|csv]
    ser predict --batch DIR_OR_MANIFEST --out OUT.parquet [--workers N] [--engine local|ray]
    ser bench [NAME ...] [--repeats N] [--threads N] [--json]   speed and memory per model
    ser report [--checkpoints DIR] [--results DIR] [--out F] [--readme F] [--check]

Every subcommand prints results on stdout; a problem the user can fix (bad audio, a missing
corpus folder, an unknown model) prints one clear line on stderr and exits with status 2, never
a traceback. Unexpected failures still show a traceback, because those are bugs to report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ser_core._version import __version__
from ser_core.cli import data, evaluate, models, predict, report, train
from ser_core.cli._common import Handler
from ser_core.cli.train import train_config_from_args
from ser_core.errors import SERError

__all__ = ["build_parser", "main", "train_config_from_args"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ser`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="ser", description="Speech emotion recognition: corpora, models, evaluation."
    )
    parser.add_argument("--version", action="version", version=f"ser_core {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in (data, models, train, evaluate, predict, report):
        command.add_parser(commands)
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
        detail = getattr(error, "detail", "")
        if detail:  # a terminal user may file a bug report with it
            print(f"ser: details: {detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ser: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        sys.stderr.close()
        return 0
