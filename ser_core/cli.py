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
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ser_core._version import __version__
from ser_core.errors import SERError
from ser_core.paths import CORPORA_ENV, corpora_root

if TYPE_CHECKING:
    from ser_core.training import TrainConfig

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


# ---------------------------------------------------------------------------------------------
# ser models
# ---------------------------------------------------------------------------------------------


def _count_parameters(name: str) -> int | None:
    """Parameters of a model built with its defaults and 7 classes (None when unknown)."""
    import torch

    from ser_core.models import count_parameters, create_model, model_info

    if not model_info(name).is_torch:
        return None  # the svm's size depends on its training data
    options: dict[str, object] = {}
    if "pretrained" in model_info(name).default_config:
        options["pretrained"] = None  # count the architecture; never look for weight files
    try:
        with torch.device("meta"):  # no memory, no initialisation: fast even for VGG-19
            return count_parameters(create_model(name, 7, **options))
    except Exception:
        try:
            return count_parameters(create_model(name, 7, **options))
        except Exception:
            return None


def _cmd_models(args: argparse.Namespace) -> int:
    from ser_core.models import list_models, model_info

    rows = []
    for name in list_models():
        info = model_info(name)
        rows.append(
            {
                "name": name,
                "input": info.input_kind,
                "features": info.features,
                "parameters": _count_parameters(name),
                "explanation": info.explanation,
                "reference": info.reference,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = 70  # references are long; the JSON output has them whole
    header = ("name", "input", "features", "parameters", "explanation", "reference")
    cells = [
        (
            r["name"],
            r["input"],
            r["features"],
            f"{r['parameters']:,}" if r["parameters"] is not None else "fitted",
            r["explanation"],
            r["reference"] if len(r["reference"]) <= width else r["reference"][: width - 1] + "…",
        )
        for r in rows
    ]
    sizes = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]
    for row in [header, *cells]:
        line = "  ".join(
            str(v).rjust(n) if i == 3 else str(v).ljust(n)
            for i, (v, n) in enumerate(zip(row, sizes, strict=True))
        )
        print(line.rstrip())
    return 0


# ---------------------------------------------------------------------------------------------
# ser train
# ---------------------------------------------------------------------------------------------

#: TrainConfig fields whose CLI option needs converting (handled one by one in
#: :func:`train_config_from_args`); every other field is copied from the same-named option.
_CONVERTED_TRAIN_FIELDS = frozenset(
    {"corpora", "data_root", "manifest", "labels", "model_config", "feature_config"}
    | {"split_options", "augment", "spec_augment", "progress"}
)


def _speed_factors(text: str) -> list[float]:
    """``"0.9,1.1"`` → ``[0.9, 1.1]`` (argparse type of ``--speed-perturb``)."""
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 0.9,1.1, got {text!r}") from exc


def _parse_value(text: str) -> object:
    """A ``key=value`` value: JSON when it parses (numbers, true, [..]), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _key_values(items: Sequence[str] | None, option: str) -> dict[str, object]:
    """``["a=1", "b=x"]`` or one JSON object string → dict."""
    out: dict[str, object] = {}
    for item in items or []:
        text = item.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SERError(f"{option}: not valid JSON: {exc}") from exc
            if not isinstance(value, dict):
                raise SERError(f"{option}: expected a JSON object")
            out.update(value)
            continue
        if "=" not in text:
            raise SERError(f"{option} takes KEY=VALUE (or a JSON object), got {item!r}")
        key, value = text.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of parsed ``ser train`` arguments (``--config`` file first,
    then every option given on the command line)."""
    from ser_core.training import TrainConfig

    values: dict[str, object] = {}
    if args.config:
        try:
            values = TrainConfig.load(args.config).to_dict()
        except ValueError as exc:
            raise SERError(str(exc)) from exc
    for field in dataclasses.fields(TrainConfig):
        value = getattr(args, field.name, None)
        if field.name not in _CONVERTED_TRAIN_FIELDS and value is not None:
            values[field.name] = value
    if args.corpus:
        values["corpora"] = list(args.corpus)
    if args.data_root is not None:
        values["data_root"] = str(args.data_root)
    if args.manifest is not None:
        values["manifest"] = str(args.manifest)
    if args.labels is not None:
        policy = args.labels.strip()
        values["labels"] = policy if policy in ("auto", "shared7") else policy.split(",")
    model_config = _key_values(args.model_config, "--model-config")
    if model_config:
        values["model_config"] = {**dict(values.get("model_config") or {}), **model_config}
    feature_config = _key_values(args.feature_config, "--feature-config")
    if feature_config:
        values["feature_config"] = {**dict(values.get("feature_config") or {}), **feature_config}
    split_options = _key_values(args.split_option, "--split-option")
    for name in ("test_speakers", "val_speakers"):
        given = getattr(args, name)
        if given:
            split_options[name] = [s.strip() for s in given.split(",") if s.strip()]
    if args.k is not None:
        split_options["k"] = args.k
    if split_options:
        values["split_options"] = {**dict(values.get("split_options") or {}), **split_options}
    if args.augment is not None:
        values["augment"] = _flag_or_json(args.augment, "--augment")
    if args.spec_augment is not None:
        values["spec_augment"] = _flag_or_json(args.spec_augment, "--spec-augment")
    if args.no_progress:
        values["progress"] = False
    if "data_root" not in values and not values.get("manifest") and corpora_root() is not None:
        values["data_root"] = str(corpora_root())
    values.setdefault("model", "cnn_lstm")
    try:
        return TrainConfig.from_dict(values)
    except ValueError as exc:
        raise SERError(str(exc)) from exc


def _flag_or_json(text: str, option: str) -> object:
    if text in ("", "on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SERError(f"{option}: give on/off or a JSON object of settings ({exc})") from exc
    if not isinstance(value, dict):
        raise SERError(f"{option}: give on/off or a JSON object of settings")
    return value


def _fmt_metric(value: object) -> str:
    return f"{100 * float(value):.1f}%" if isinstance(value, int | float) else "-"


def _cmd_train(args: argparse.Namespace) -> int:
    from ser_core.models import is_registered, list_models
    from ser_core.training import train, train_folds

    config = train_config_from_args(args)
    if not is_registered(config.model):
        raise SERError(f"unknown model {config.model!r}; choose one of {', '.join(list_models())}")
    out = Path(args.out)
    if args.all_folds:
        result = train_folds(config, out, n_boot=args.n_boot)
        for fold in result.folds:
            m = fold.metrics.get("test", {})
            print(
                f"fold {fold.split.fold}: test {', '.join(fold.split.test_groups) or '-'}: "
                f"UA {_fmt_metric(m.get('ua'))}, WA {_fmt_metric(m.get('wa'))}"
            )
        m = result.report.metrics
        print(
            f"pooled over {len(result.folds)} folds ({m['n']} utterances): "
            f"UA {_fmt_metric(m['ua'])}, WA {_fmt_metric(m['wa'])}, "
            f"macro F1 {_fmt_metric(m['macro_f1'])}"
        )
        print(f"wrote {out}/predictions.parquet, metrics.json, report.md and fold_*/")
        return 0
    result = train(config, out)
    val = result.metrics.get("val", {})
    test = result.metrics.get("test", {})
    print(
        f"{config.model}: best epoch {result.best_epoch} of {len(result.history)}, "
        f"{result.seconds:.0f} s"
    )
    print(f"validation: UA {_fmt_metric(val.get('ua'))}, WA {_fmt_metric(val.get('wa'))}")
    if test:
        print(
            f"test ({int(test['n'])} utterances): UA {_fmt_metric(test.get('ua'))}, "
            f"WA {_fmt_metric(test.get('wa'))}, macro F1 {_fmt_metric(test.get('macro_f1'))}"
        )
    print(f"checkpoint written to {out}")
    return 0


# ---------------------------------------------------------------------------------------------
# ser evaluate
# ---------------------------------------------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ser_core.evaluation.runner import evaluate, write_evaluation
    from ser_core.inference import load_predictor

    predictor = load_predictor(args.checkpoint)
    manifest = None
    if args.manifest is not None:
        from ser_core.training.data import read_manifest_file

        manifest = read_manifest_file(args.manifest)
    split_options = _key_values(args.split_option, "--split-option")
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
            interval = f"  (95% CI {_fmt_metric(ci[key].low)}–{_fmt_metric(ci[key].high)})"
        print(f"  {title:<12}{_fmt_metric(m[key])}{interval}")
    if len(report.top_confusions):
        top = report.top_confusions.iloc[0]
        print(f"  most frequent confusion: {top.iloc[0]} → {top.iloc[1]} ({int(top.iloc[2])})")
    for note in report.settings.get("notes") or []:
        print(f"  note: {note}")
    print(f"wrote predictions.parquet, metrics.json and report.md to {out}")
    return 0


# ---------------------------------------------------------------------------------------------
# ser predict
# ---------------------------------------------------------------------------------------------


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

    models = commands.add_parser("models", help="list the registered models")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(handler=_cmd_models)

    _add_train_parser(commands)
    _add_evaluate_parser(commands)

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
    return parser


def _add_train_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    train = commands.add_parser(
        "train",
        help="train a model and write a checkpoint folder",
        description="Train a model. Every option overrides --config FILE (a train_config.json "
        "written next to earlier weights), which overrides the defaults.",
    )
    root_help = f"folder holding the corpora (default: ${CORPORA_ENV})"
    data = train.add_argument_group("data")
    data.add_argument("--model", help="registered model name (see `ser models`)")
    data.add_argument("--corpus", action="append", help="corpus to train on (repeatable)")
    data.add_argument("--data-root", type=Path, help=root_help)
    data.add_argument("--manifest", type=Path, help="a .csv/.parquet manifest to train on")
    data.add_argument(
        "--protocol",
        help="speaker-holdout | loso | kfold-speaker | text-holdout | random | per-corpus "
        "(speakers held out where a corpus has 4+, texts otherwise) | loco (leave one corpus "
        "out: test on all of it, scored over its own classes); default speaker-holdout",
    )
    data.add_argument("--fold", type=int, help="fold of loso / kfold-speaker / loco (default 0)")
    data.add_argument(
        "--all-folds",
        action="store_true",
        help="train every fold into OUT/fold_NN and pool the test predictions",
    )
    data.add_argument("--k", type=int, help="folds of kfold-speaker (default 5)")
    data.add_argument("--test-speakers", help="comma-separated test speakers (speaker-holdout)")
    data.add_argument("--val-speakers", help="comma-separated validation speakers")
    data.add_argument(
        "--split-option",
        action="append",
        metavar="KEY=VALUE",
        help="more split options, e.g. test_fraction=0.3 (repeatable)",
    )
    data.add_argument(
        "--labels",
        help="auto (labels in the training data), shared7 (drop calm "
        "and boredom) or a comma-separated list",
    )
    data.add_argument("--max-files", type=int, help="quick runs: files per speaker and emotion")
    data.add_argument("--max-speakers", type=int, help="quick runs: speakers per corpus")
    model = train.add_argument_group("model")
    model.add_argument(
        "--model-config",
        action="append",
        metavar="KEY=VALUE",
        help="model config override, e.g. lstm_hidden=64 (repeatable, or JSON)",
    )
    model.add_argument(
        "--feature-config",
        action="append",
        metavar="KEY=VALUE",
        help="feature config override, e.g. n_mels=80 (repeatable, or JSON)",
    )
    opt = train.add_argument_group("optimisation")
    opt.add_argument("--optimizer", help="adam (default) | adamw | sgd")
    opt.add_argument("--lr", type=float, help="learning rate (default 1e-3)")
    opt.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    opt.add_argument(
        "--weight-decay", type=float, help="L2 penalty (default: the model config's, else 0)"
    )
    opt.add_argument("--scheduler", help="none (default) | step | cosine | plateau")
    opt.add_argument("--step-size", type=int, help="epochs per LR step / plateau patience")
    opt.add_argument("--gamma", type=float, help="LR factor of step / plateau (default 0.5)")
    opt.add_argument("--batch-size", type=int, help="default 32")
    opt.add_argument("--epochs", type=int, help="maximum epochs (default 30)")
    opt.add_argument(
        "--patience", type=int, help="early stopping on validation UA (default 10; 0 = off)"
    )
    opt.add_argument("--grad-clip", type=float, help="gradient norm clip (default 5)")
    opt.add_argument("--seed", type=int, help="seeds everything (default 0)")
    reg = train.add_argument_group("balancing and augmentation")
    reg.add_argument("--balance", help="none | weights | corpus_class | undersample | oversample")
    reg.add_argument(
        "--select-on",
        help="early stopping keeps the epoch of best ua (validation rows pooled, default) or "
        "corpus_ua (mean of the validation corpora's own UAs)",
    )
    reg.add_argument(
        "--augment",
        nargs="?",
        const="on",
        help="waveform augmentation: on, off or a JSON object of AugmentConfig",
    )
    reg.add_argument(
        "--spec-augment",
        nargs="?",
        const="on",
        help="SpecAugment: on, off or a JSON object of its options",
    )
    reg.add_argument(
        "--speed-perturb",
        type=_speed_factors,
        help="comma-separated speed factors of extra cached training copies, e.g. 0.9,1.1",
    )
    reg.add_argument("--max-train-seconds", type=float, help="random crop of training clips")
    reg.add_argument(
        "--refit",
        action="store_true",
        default=None,
        help="after early stopping, retrain on training + validation speakers for the best "
        "epoch count",
    )
    reg.add_argument(
        "--no-test-eval",
        dest="evaluate_test",
        action="store_false",
        default=None,
        help="do not predict the test set at the end (no test metrics or test predictions)",
    )
    reg.add_argument(
        "--channel-copies",
        type=int,
        metavar="N",
        help="N cached copies of every training clip through a simulated room, noise (5-20 dB "
        "SNR), an Opus/MP3 round trip and gain",
    )
    reg.add_argument(
        "--speaker-adapt",
        action="store_true",
        default=None,
        help="normalise features per speaker with the speaker's other clips (results are "
        "labelled speaker-adapted and reported apart)",
    )
    run = train.add_argument_group("run")
    run.add_argument("--config", type=Path, help="train_config.json to start from")
    run.add_argument("--device", help="cpu (default) | cuda | cuda:N | auto")
    run.add_argument("--num-threads", type=int, help="torch CPU threads")
    run.add_argument(
        "--n-boot",
        type=int,
        default=1000,
        help="bootstrap resamples of the pooled --all-folds report",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--out", required=True, type=Path, help="checkpoint folder to write")
    train.set_defaults(handler=_cmd_train)


def _add_evaluate_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


def _cmd_bench(args: argparse.Namespace) -> int:
    from ser_core.inference import available_checkpoints
    from ser_core.inference.bench import bench_checkpoints

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
        print(json.dumps(table.to_dict(orient="records"), indent=2, default=_json_default))
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
    print(
        f"all {len(table)} side by side (one after another, as the Compare page runs them): "
        f"{table['latency_median_s'].sum():.2f} s per 3 s clip"
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
