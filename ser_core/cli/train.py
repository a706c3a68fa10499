"""``ser train``: train a model (or every fold of a protocol) and write checkpoints."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ser_core.cli._common import flag_or_json, fmt_metric, key_values
from ser_core.errors import SERError
from ser_core.paths import CORPORA_ENV, corpora_root

if TYPE_CHECKING:
    from ser_core.training import TrainConfig


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
    model_config = key_values(args.model_config, "--model-config")
    if model_config:
        values["model_config"] = {**dict(values.get("model_config") or {}), **model_config}
    feature_config = key_values(args.feature_config, "--feature-config")
    if feature_config:
        values["feature_config"] = {**dict(values.get("feature_config") or {}), **feature_config}
    split_options = key_values(args.split_option, "--split-option")
    for name in ("test_speakers", "val_speakers"):
        given = getattr(args, name)
        if given:
            split_options[name] = [s.strip() for s in given.split(",") if s.strip()]
    if args.k is not None:
        split_options["k"] = args.k
    if split_options:
        values["split_options"] = {**dict(values.get("split_options") or {}), **split_options}
    if args.augment is not None:
        values["augment"] = flag_or_json(args.augment, "--augment")
    if args.spec_augment is not None:
        values["spec_augment"] = flag_or_json(args.spec_augment, "--spec-augment")
    if args.no_progress:
        values["progress"] = False
    if "data_root" not in values and not values.get("manifest") and corpora_root() is not None:
        values["data_root"] = str(corpora_root())
    values.setdefault("model", "cnn_lstm")
    try:
        return TrainConfig.from_dict(values)
    except ValueError as exc:
        raise SERError(str(exc)) from exc


def _cmd_train(args: argparse.Namespace) -> int:
    from ser_core.models import is_registered, list_models
    from ser_core.training import train, train_folds

    config = train_config_from_args(args)
    if not config.progress:  # no bars: one line per epoch instead, for log files
        logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
        logging.getLogger("ser_core.training").setLevel(logging.INFO)
    if not is_registered(config.model):
        raise SERError(f"unknown model {config.model!r}; choose one of {', '.join(list_models())}")
    out = Path(args.out)
    if args.all_folds:
        result = train_folds(config, out, n_boot=args.n_boot)
        for fold in result.folds:
            m = fold.metrics.get("test", {})
            print(
                f"fold {fold.split.fold}: test {', '.join(fold.split.test_groups) or '-'}: "
                f"UA {fmt_metric(m.get('ua'))}, WA {fmt_metric(m.get('wa'))}"
            )
        m = result.report.metrics
        print(
            f"pooled over {len(result.folds)} folds ({m['n']} utterances): "
            f"UA {fmt_metric(m['ua'])}, WA {fmt_metric(m['wa'])}, "
            f"macro F1 {fmt_metric(m['macro_f1'])}"
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
    print(f"validation: UA {fmt_metric(val.get('ua'))}, WA {fmt_metric(val.get('wa'))}")
    if test:
        print(
            f"test ({int(test['n'])} utterances): UA {fmt_metric(test.get('ua'))}, "
            f"WA {fmt_metric(test.get('wa'))}, macro F1 {fmt_metric(test.get('macro_f1'))}"
        )
    print(f"checkpoint written to {out}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    data.add_argument(
        "--train-also",
        action="append",
        metavar="CORPUS",
        help="a corpus every clip of which joins training in every split, never validated or "
        "tested (repeatable): in-corpus cross-validation of a model that learns from others too",
    )
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
    opt.add_argument(
        "--warmup-epochs",
        type=float,
        help="linear LR warm-up over this many epochs (may be fractional) before the scheduler",
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
        "--label-smoothing", type=float, help="cross-entropy label smoothing (default 0)"
    )
    reg.add_argument(
        "--mixup",
        type=float,
        metavar="ALPHA",
        help="mixup with lambda ~ Beta(ALPHA, ALPHA) per batch (default 0: off; 0.2 is usual)",
    )
    reg.add_argument(
        "--ema",
        type=float,
        metavar="DECAY",
        help="validate and save an exponential moving average of the weights with this decay "
        "per step (default 0: off; e.g. 0.99 for a few hundred steps)",
    )
    reg.add_argument(
        "--init-from",
        metavar="CHECKPOINT",
        help="start from the weights of a checkpoint of the same model and features (e.g. "
        "pretrained on other corpora); the classifier layer is trained afresh",
    )
    reg.add_argument(
        "--distill-from",
        metavar="CHECKPOINT",
        help="knowledge distillation: also match this trained checkpoint's probabilities on "
        "the training clips (it must not have trained on a validation or test speaker)",
    )
    reg.add_argument(
        "--distill-weight",
        type=float,
        metavar="W",
        help="share of the distillation term in the loss (default 0.5)",
    )
    reg.add_argument(
        "--distill-temperature",
        type=float,
        metavar="T",
        help="temperature softening teacher and student (default 2)",
    )
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
