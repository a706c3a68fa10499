"""``TrainConfig``: every setting of one training run, as plain data saved next to the weights.

A run is reproducible from its ``train_config.json`` alone (``ser train --config FILE``); the same
dict is stored under ``"training"`` in the checkpoint's ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ser_core.data import PROTOCOLS, SHARED_EMOTIONS
from ser_core.errors import SERError

__all__ = [
    "BALANCE_CHOICES",
    "LABEL_POLICIES",
    "OPTIMIZERS",
    "RUN_FIELDS",
    "SCHEDULERS",
    "SELECT_ON_CHOICES",
    "TrainConfig",
    "TrainConfigError",
]

#: TrainConfig fields that say what a run trains on and where it runs, not how it learns; every
#: other field is a hyperparameter (:meth:`TrainConfig.hyperparameters`, the model card's table).
RUN_FIELDS = frozenset(
    {"model", "model_config", "feature_config", "corpora", "data_root", "manifest", "protocol"}
    | {"train_also", "fold", "split_options", "device", "num_threads", "evaluate_test", "progress"}
)

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "step", "cosine", "plateau")
BALANCE_CHOICES = ("none", "weights", "corpus_class", "undersample", "oversample")
#: What early stopping maximises: ``ua`` over all validation rows pooled, or ``corpus_ua``,
#: the mean of each validation corpus's own UA (a large corpus cannot hide a small one).
SELECT_ON_CHOICES = ("ua", "corpus_ua")
#: ``auto``: the labels present in the training data; ``shared7``: the seven classes EMO-DB,
#: RAVDESS and TESS share (RAVDESS's ``calm`` and EMO-DB's ``boredom`` rows are dropped).
LABEL_POLICIES = ("auto", "shared7")


class TrainConfigError(SERError, ValueError):
    """A training setting is invalid (the message names it and the valid choices)."""


@dataclass
class TrainConfig:
    """Settings of one training run (model, data, optimisation, regularisation, quick-run caps).

    Attributes:
        model: registered model name (``ser models`` lists them).
        model_config: overrides of the model's config dataclass (e.g. ``{"lstm_hidden": 64}``).
        feature_config: overrides of the model's default feature config (e.g. ``{"n_mels": 80}``),
            or a full feature config dict with ``kind``.
        corpora: corpus names to load from ``data_root`` (``emodb``, ``ravdess``, ``tess``, ...).
        data_root: folder holding the corpus folders (default: ``$SER_CORPORA``).
        manifest: a manifest file (``.csv`` / ``.parquet``, e.g. from ``ser data manifest``) to
            train on instead of ``corpora``; ``corpora`` then filters it when given.
        protocol: split protocol (``speaker-holdout``, ``loso``, ``kfold-speaker``,
            ``text-holdout``, ``random``, ``per-corpus``).
        train_also: corpora loaded too, every clip of which joins the training set of every
            split (never validated or tested); the protocol splits ``corpora`` alone. For
            in-corpus cross-validation of a model that also learns from other corpora; with it,
            each test set is scored over its own classes (the argmax restricted to them, as
            ``loco`` does), since the model may have labels the tested corpus lacks.
        fold: which fold of ``loso`` / ``kfold-speaker``.
        split_options: passed to the split generator (``seed``, ``test_speakers``,
            ``val_speakers``, ``test_fraction``, ``val_fraction``, ``k``, ``validation``).
            ``loso`` / ``kfold-speaker`` hold out a validation speaker (fold) by default here, so
            early stopping never looks at the test speakers.
        labels: ``"auto"``, ``"shared7"`` or an explicit list of labels (rows with other labels
            are dropped).
        optimizer: ``adam``, ``adamw`` or ``sgd`` (with ``momentum``); None (default) takes the
            model's own ``default_optimizer`` (SGD with momentum for ``cnn1d_lstm``, as in the
            EMO-DB CNN-LSTM study), else Adam.
        lr: learning rate; None takes the model's default, else 1e-3.
        momentum: SGD momentum; None takes the model's default, else 0.9.
        weight_decay: L2 penalty; None takes the model config's ``weight_decay`` when it has one
            (``cnn_bilstm_attn``), else 0.
        scheduler: ``none``, ``step`` (×``gamma`` every ``step_size`` epochs), ``cosine`` (to 0 over
            ``epochs``) or ``plateau`` (×``gamma`` once validation UA has not improved for
            ``step_size`` epochs).
        step_size, gamma: scheduler parameters.
        warmup_epochs: linear learning-rate warm-up from near 0 over this many epochs (may be
            fractional), step by step, before the scheduler takes over; ``cosine`` then anneals
            over the remaining epochs. Keeps a from-scratch Transformer or LSTM from diverging
            on its first large steps.
        batch_size: items per optimiser step.
        epochs: maximum number of epochs.
        patience: stop after this many epochs without a better validation UA (0: never stop
            early). The weights of the best epoch are kept either way.
        seed: seeds Python, numpy and torch (and the split unless ``split_options`` has one).
        balance: ``none``, ``weights`` (class-weighted loss), ``corpus_class`` (each training
            row's loss weighted by 1 / the rows of its (corpus, emotion) cell, so every corpus
            and every class of it weighs the same: TESS's 2800 clips of two speakers cannot
            drown a corpus of 600), ``undersample`` or ``oversample`` (training rows, redrawn
            deterministically from ``seed``).
        select_on: the validation score early stopping keeps the best epoch of: ``ua``
            (pooled) or ``corpus_ua`` (mean of the per-corpus UAs).
        augment: waveform augmentation: False, True (``AugmentConfig()`` defaults) or a dict of
            ``AugmentConfig`` fields. Features are then computed on the fly each epoch.
        spec_augment: SpecAugment on 2-D feature maps: False, True or a dict of
            ``spec_augment`` keyword arguments.
        speed_perturb: speed factors of extra training copies (e.g. ``[0.9, 1.1]``): every
            training clip is also played at these speeds (tempo and pitch together, Ko et al.
            2015), featurised once and cached like the originals, so it works with any model
            and adds no featurisation per epoch. Validation and test clips are never perturbed.
        channel_copies: this many extra copies of every training clip as another room,
            microphone and network would deliver it (:func:`ser_core.features.augment.
            channel_copy`: reverberation, 5-20 dB noise, an Opus or MP3 round trip, gain),
            featurised once and cached like ``speed_perturb``'s copies.
        refit: after early stopping, train a fresh model (same seed) on the training *and*
            validation speakers for the best epoch count, so no labelled speaker is left out of
            the final model (torch models; the validation metrics stay the first run's).
        max_train_seconds: random crop of training clips to this length (evaluation always sees
            full clips).
        grad_clip: clip the gradient norm to this value (None: off); LSTMs like it.
        label_smoothing: cross-entropy against targets smoothed by this much (0: off; Szegedy
            et al. 2016), so a few hundred clips cannot push the logits to extremes.
        mixup: the Beta(α, α) parameter of mixup (0: off; Zhang et al. 2018): each batch is
            blended with a shuffled copy of itself (inputs, and the loss over both labels) with
            a weight λ ≥ 0.5 drawn per batch; sequences keep the longer length.
        ema: decay of an exponential moving average of the weights, updated after every
            optimiser step (0: off; e.g. 0.999). Validation, early stopping and the saved
            checkpoint then use the averaged weights: a cheap ensemble over the trajectory
            (BatchNorm statistics are averaged too). It lags weights that move fast, as in
            short runs of a dozen steps an epoch (the shipped seed recipes did worse with it).
        init_from: a checkpoint folder of the same model and features to start from instead of
            random weights (pretraining on other corpora, then fine-tuning): every tensor whose
            name and shape match is copied; the classifier, sized for another label set, stays
            freshly initialised. The source's training data is noted in the new card.
        distill_from: a trained checkpoint (any model) whose probabilities on the training
            clips become soft targets (knowledge distillation, :mod:`ser_core.training._distill`);
            it must not have trained on a speaker this run validates or tests on.
        distill_weight: the soft targets' share of the loss (the labels' share is 1 minus it).
        distill_temperature: the temperature T softening both distributions.
        speaker_adapt: normalise every clip's features with its speaker's statistics taken
            from the speaker's *other* clips (:mod:`ser_core.adaptation`; test speakers too,
            from their other test clips, never their labels). Results are speaker-adapted:
            labelled so and reported apart. For the pretrained-encoder heads.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        num_threads: torch CPU threads (None: torch's default).
        max_files: quick runs: at most this many files per speaker and emotion.
        max_speakers: quick runs: at most this many speakers per corpus (a seeded,
            gender-alternating pick).
        evaluate_test: predict the test set with the best weights at the end and store
            ``predictions.parquet`` and test metrics in the checkpoint.
        progress: show progress bars.
    """

    model: str = "cnn_lstm"
    model_config: dict[str, Any] = field(default_factory=dict)
    feature_config: dict[str, Any] = field(default_factory=dict)
    corpora: list[str] = field(default_factory=list)
    data_root: str | None = None
    manifest: str | None = None
    protocol: str = "speaker-holdout"
    train_also: list[str] = field(default_factory=list)
    fold: int = 0
    split_options: dict[str, Any] = field(default_factory=dict)
    labels: str | list[str] = "auto"
    optimizer: str | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    scheduler: str = "none"
    step_size: int = 10
    gamma: float = 0.5
    batch_size: int = 32
    epochs: int = 30
    patience: int = 10
    seed: int = 0
    balance: str = "none"
    select_on: str = "ua"
    augment: bool | dict[str, Any] = False
    spec_augment: bool | dict[str, Any] = False
    speed_perturb: list[float] = field(default_factory=list)
    channel_copies: int = 0
    refit: bool = False
    max_train_seconds: float | None = None
    grad_clip: float | None = 5.0
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    mixup: float = 0.0
    ema: float = 0.0
    init_from: str | None = None
    distill_from: str | None = None
    distill_weight: float = 0.5
    distill_temperature: float = 2.0
    speaker_adapt: bool = False
    device: str = "cpu"
    num_threads: int | None = None
    max_files: int | None = None
    max_speakers: int | None = None
    evaluate_test: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check every setting; raise :class:`TrainConfigError` naming the bad one."""
        if self.optimizer is not None:
            _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("scheduler", self.scheduler, SCHEDULERS)
        _choice("balance", self.balance, BALANCE_CHOICES)
        _choice("select_on", self.select_on, SELECT_ON_CHOICES)
        if isinstance(self.labels, str):
            _choice("labels", self.labels, LABEL_POLICIES)
        elif not self.labels or not all(isinstance(x, str) for x in self.labels):
            raise TrainConfigError("labels must be 'auto', 'shared7' or a non-empty list of labels")
        protocol = self.protocol.strip().lower().replace("_", "-")
        aliases = {"holdout": "speaker-holdout", "kfold": "kfold-speaker"}
        self.protocol = aliases.get(protocol, protocol)
        _choice("protocol", self.protocol, PROTOCOLS)
        for name in ("lr", "batch_size", "epochs"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise TrainConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("patience", "fold"):
            if getattr(self, name) < 0:
                raise TrainConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.weight_decay is not None and self.weight_decay < 0:
            raise TrainConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise TrainConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.mixup < 0:
            raise TrainConfigError(f"mixup (Beta alpha) must be >= 0, got {self.mixup}")
        if not 0.0 < self.distill_weight <= 1.0:
            raise TrainConfigError(f"distill_weight must be in (0, 1], got {self.distill_weight}")
        if not self.distill_temperature > 0:
            raise TrainConfigError(
                f"distill_temperature must be positive, got {self.distill_temperature}"
            )
        if not 0.0 <= self.ema < 1.0:
            raise TrainConfigError(f"ema (a decay) must be in [0, 1), got {self.ema}")
        if not 0.0 <= self.warmup_epochs < self.epochs:
            raise TrainConfigError(
                f"warmup_epochs must be >= 0 and below epochs ({self.epochs}), got "
                f"{self.warmup_epochs}"
            )
        if self.max_train_seconds is not None and self.max_train_seconds <= 0:
            raise TrainConfigError("max_train_seconds must be positive")
        for name in ("max_files", "max_speakers", "num_threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TrainConfigError(f"{name} must be >= 1 when given, got {value}")
        self.speed_perturb = [float(f) for f in self.speed_perturb]
        bad = [f for f in self.speed_perturb if not 0.5 < f < 2.0 or f == 1.0]
        if bad or len(set(self.speed_perturb)) != len(self.speed_perturb):
            raise TrainConfigError(
                f"speed_perturb takes distinct factors in (0.5, 2) other than 1, got "
                f"{self.speed_perturb}"
            )
        if self.speed_perturb and self.augment:
            raise TrainConfigError(
                "speed_perturb adds fixed cached copies; with on-the-fly augment use its "
                "time_stretch / pitch_shift instead"
            )
        if self.channel_copies < 0:
            raise TrainConfigError(f"channel_copies must be >= 0, got {self.channel_copies}")
        if self.channel_copies and self.augment:
            raise TrainConfigError(
                "channel_copies adds fixed cached copies; with on-the-fly augment use its "
                "settings instead"
            )
        if self.speaker_adapt and (
            self.augment or self.spec_augment or self.speed_perturb or self.channel_copies
        ):
            raise TrainConfigError(
                "speaker_adapt normalises fixed features; it cannot be combined with augment, "
                "spec_augment, speed_perturb or channel_copies"
            )
        if not self.corpora and not self.manifest:
            raise TrainConfigError("name at least one corpus (corpora=[...]) or a manifest file")
        self.corpora = list(self.corpora)
        if not isinstance(self.labels, str):
            self.labels = list(self.labels)

    # ------------------------------------------------------------------ derived
    @property
    def label_list(self) -> list[str] | None:
        """The fixed label list (``shared7`` or explicit), or None for ``auto``."""
        if self.labels == "shared7":
            return list(SHARED_EMOTIONS)
        if isinstance(self.labels, list):
            return list(self.labels)
        return None

    def split_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``get_splits`` (seed and validation defaults filled in)."""
        options = dict(self.split_options)
        options.setdefault("seed", self.seed)
        if self.protocol in ("loso", "kfold-speaker"):
            options.setdefault("validation", True)
        return options

    # ------------------------------------------------------------------ (de)serialisation
    def hyperparameters(self) -> dict[str, Any]:
        """Every setting of how the model learns (all fields but :data:`RUN_FIELDS`), in
        declaration order: a new field shows up in model cards without a list to update."""
        values = self.to_dict()
        names = [f.name for f in dataclasses.fields(self) if f.name not in RUN_FIELDS]
        return {name: values[name] for name in names}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every setting."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys with the list of valid ones."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise TrainConfigError(
                f"unknown training setting(s) {', '.join(unknown)}; valid: {', '.join(names)}"
            )
        return cls(**dict(values))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a JSON file written by :meth:`save` (or by hand).

        Raises:
            ValueError: the file is missing, is not JSON or holds unknown settings.
        """
        source = Path(path)
        if not source.is_file():
            raise TrainConfigError(f"no training config file at {source}")
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TrainConfigError(f"{source} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise TrainConfigError(f"{source} must hold a JSON object of training settings")
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the settings as indented JSON; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return target

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with some settings changed."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise TrainConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
