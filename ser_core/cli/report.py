"""``ser report`` and ``ser bench``: the generated benchmark pages and speed figures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ser_core.cli._common import json_default
from ser_core.errors import SERError


def _cmd_bench(args: argparse.Namespace) -> int:
    from ser_core.inference import available_checkpoints
    from ser_core.inference.bench import bench_checkpoints, side_by_side_isolated

    names = list(args.names) or available_checkpoints()
    if not names:
        raise SERError("no checkpoints to measure (see checkpoints/README.md)")
    table = bench_checkpoints(
        names,
        isolate=not args.no_isolate,
        repeats=args.repeats,
        batch=args.batch,
        threads=args.threads,
        live_seconds=args.live_seconds,
    )
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2, default=json_default))
        return 0
    shown = table.copy()
    shown["latency_ms"] = (1000 * shown.pop("latency_median_s")).round(1)
    shown["p90_ms"] = (1000 * shown.pop("latency_p90_s")).round(1)
    print(shown.round({"load_s": 2, "batch_clips_per_s": 1, "peak_rss_mb": 0, "live_rtf": 3})
          .to_string(index=False))  # fmt: skip
    print(
        f"3 s clip end to end (features + model), median of {args.repeats} runs, "
        f"{args.threads} threads; live_rtf: processing time / audio time of the live path"
    )
    compare = side_by_side_isolated(
        names, isolate=not args.no_isolate, repeats=args.repeats, threads=args.threads
    )
    print(
        f"all {len(table)} side by side (one process, one after another, as the Compare page "
        f"runs them; models with the same features share them): {compare:.2f} s per 3 s clip "
        f"(median of {args.repeats} clips; the isolated latencies add up to "
        f"{table['latency_median_s'].sum():.2f} s)"
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from ser_core.evaluation.benchmark import write_report

    changed = write_report(
        checkpoints=args.checkpoints,
        results=args.results,
        out=args.out,
        readme=None if args.no_readme else args.readme,
        n_boot=args.n_boot,
        check=args.check,
    )
    if args.check:
        for path in changed:
            print(f"out of date: {path} (run `ser report`)")
        return 1 if changed else 0
    print("\n".join(f"wrote {path}" for path in changed) or "up to date")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser(
        "report",
        help="rebuild docs/benchmark.md and the README results table from committed predictions",
    )
    report.add_argument("--checkpoints", type=Path, default=Path("checkpoints"))
    report.add_argument(
        "--results",
        type=Path,
        default=Path("benchmarks/results"),
        help="cross-validation folders (ser train --all-folds)",
    )
    report.add_argument("--out", type=Path, default=Path("docs/benchmark.md"))
    report.add_argument("--readme", type=Path, default=Path("README.md"))
    report.add_argument("--no-readme", action="store_true", help="leave the README alone")
    report.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    report.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is out of date"
    )
    report.set_defaults(handler=_cmd_report)
    bench = commands.add_parser(
        "bench",
        help="latency, throughput, parameters, peak memory and live real-time factor per model",
    )
    bench.add_argument("names", nargs="*", help="checkpoints (default: every shipped one)")
    bench.add_argument("--repeats", type=int, default=20, help="runs of the 3 s clip")
    bench.add_argument("--batch", type=int, default=16, help="clips in the throughput batch")
    bench.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    bench.add_argument(
        "--live-seconds", type=float, default=20.0, help="audio fed to the live path"
    )
    bench.add_argument(
        "--no-isolate", action="store_true", help="measure every model in this one process"
    )
    bench.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench.set_defaults(handler=_cmd_bench)
