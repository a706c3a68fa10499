"""Loaders the app wraps in ``st.cache_resource`` / ``st.cache_data`` (streamlit-free here).

The app's ``views/_shared.py`` decorates thin wrappers around these functions, so a model is
loaded once per process and a predictions table once per file version, while the functions
themselves stay plain and unit-tested.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

# Only the light checkpoint helpers here: the app's first page renders before torch is imported.
from ser_core.app_support.preload import preload, preloaded
from ser_core.app_support.turns import LABELS_FIRST, MODEL_PASSES
from ser_core.inference import DEFAULT_CHECKPOINT, available_checkpoints, checkpoints_dir

if TYPE_CHECKING:
    from ser_core.inference import Predictor

__all__ = [
    "ADAPTED_TAG",
    "LABELS_FIRST",
    "MODEL_PASSES",
    "ModelCard",
    "checkpoint_names",
    "describe_test_set",
    "load",
    "load_all_predictions",
    "measure_latency",
    "model_card",
    "needs_enrolment",
    "predictions_path",
]


def checkpoint_names() -> list[str]:
    """Available checkpoint names, ``default`` first, then alphabetical.

    ``default`` is a copy of (or link to) one of the others; when it has the same weights as
    another folder the duplicate is still listed, because that is what the user may pick.
    """
    names = available_checkpoints()
    if DEFAULT_CHECKPOINT in names:
        names = [DEFAULT_CHECKPOINT, *[n for n in names if n != DEFAULT_CHECKPOINT]]
    return names


def distinct_checkpoint_names() -> list[str]:
    """Checkpoint names without ``default`` when it duplicates another folder (for Compare)."""
    names = checkpoint_names()
    if DEFAULT_CHECKPOINT not in names or len(names) == 1:
        return names
    root = checkpoints_dir()
    default_cfg = _read_json(root / DEFAULT_CHECKPOINT / "config.json")
    for name in names[1:]:
        if _read_json(root / name / "config.json") == default_cfg:
            return names[1:]
    return names


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def predictions_path(name: str) -> Path | None:
    """The checkpoint's ``predictions.parquet``, or None when it has none."""
    path = checkpoints_dir() / name / "predictions.parquet"
    return path if path.is_file() else None


#: What a speaker-adapted model's name is followed by wherever results are listed.
ADAPTED_TAG = "(speaker-adapted)"


@dataclass
class ModelCard:
    """Everything the Models page shows about one checkpoint.

    Attributes:
        name: checkpoint name.
        architecture: registered model name.
        labels: output classes.
        reference: the seed paper(s).
        summary: one-line description of the architecture.
        explanation: the explanation method.
        input_kind: the model's input layout.
        parameters: the model's parameters (the svm: its stored numbers; a frozen-encoder
            head: the head alone). None when unknown.
        encoder_parameters: parameters of the frozen pretrained encoder a head runs on but
            does not store (None when the model has none, or its weights are not cached).
        corpora: training corpora.
        protocol: the split protocol's description.
        test_set: what the test numbers were measured on, in a few words (corpus, what was
            held out, clips): see :func:`describe_test_set`.
        speaker_adapted: the model needs an enrolment of the user's voice before it predicts.
        metrics: ``{"val": {...}, "test": {...}}`` from ``config.json``.
        feature_config: the feature settings.
        training: the training settings.
        log: ``train_log.csv`` (None when missing).
        readme: the model card's Markdown (empty when missing).
        folder: the checkpoint folder.
    """

    name: str
    architecture: str
    labels: list[str]
    reference: str = ""
    summary: str = ""
    explanation: str = ""
    input_kind: str = ""
    parameters: int | None = None
    encoder_parameters: int | None = None
    corpora: list[str] = field(default_factory=list)
    protocol: str = ""
    test_set: str = ""
    speaker_adapted: bool = False
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    feature_config: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    log: pd.DataFrame | None = None
    readme: str = ""
    folder: Path | None = None

    @property
    def test_ua(self) -> float | None:
        """Unweighted accuracy on the test split, when the checkpoint recorded it."""
        value = self.metrics.get("test", {}).get("ua")
        return None if value is None else float(value)

    @property
    def display_name(self) -> str:
        """The name with ``(speaker-adapted)`` after it when the model needs an enrolment."""
        return f"{self.name} {ADAPTED_TAG}" if self.speaker_adapted else self.name


#: Protocols that hold out whole speakers.
_SPEAKER_PROTOCOLS = ("speaker-holdout", "loso", "kfold-speaker")


def _compress(ids: list[str]) -> str:
    """``"15, 16"``, or ``"19–24"`` for a run of consecutive numbers (other ids as they are)."""
    if not ids or not all(i.isdigit() for i in ids):
        return ", ".join(ids)
    numbers = sorted(set(ids), key=int)
    runs: list[list[str]] = []
    for n in numbers:
        if runs and int(n) == int(runs[-1][-1]) + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(", ".join(r) if len(r) < 3 else f"{r[0]}–{r[-1]}" for r in runs)


def _held_out(groups: list[str], protocol: str, strip: str | None) -> str:
    """``"speakers 15, 16 held out"`` / ``"40 texts held out (same speakers)"`` for one part."""
    if protocol == "text-holdout":
        return f"{len(groups)} text{'s' * (len(groups) != 1)} held out (same speakers)"
    if protocol == "random":
        return "random clips held out (same speakers)"
    if protocol in _SPEAKER_PROTOCOLS:
        if not groups:
            return "speakers held out"
        prefix = f"{strip}:" if strip else ""
        ids = [g[len(prefix) :] if prefix and g.startswith(prefix) else g for g in groups]
        return f"speaker{'s' * (len(ids) != 1)} {_compress(ids)} held out"
    return protocol


def describe_test_set(config: dict[str, Any]) -> str:
    """What a checkpoint's test numbers were measured on, in a few words, from its config.

    ``"emodb · speakers 15, 16 held out · 127 clips"``, ``"tess · 40 texts held out (same
    speakers) · 558 clips"``; a per-corpus split names each corpus's part. Empty when the
    config records no data section.
    """
    data = config.get("data")
    if not isinstance(data, dict):
        return ""
    corpora = [str(c) for c in data.get("corpora") or []]
    split = data.get("split") if isinstance(data.get("split"), dict) else {}
    protocol = str(split.get("protocol") or data.get("protocol") or "")
    groups = [str(g) for g in split.get("test_groups") or data.get("test_speakers") or []]
    if protocol == "per-corpus":
        parts = []
        for corpus in corpora or sorted({g.split(":", 1)[0] for g in groups}):
            mine = [g for g in groups if g.startswith(f"{corpus}:")]
            texts = [g for g in mine if "/" in g]  # "tess:tess/tess:back": a held-out text
            kind = "text-holdout" if texts else "speaker-holdout"
            parts.append(f"{corpus}: {_held_out(mine, kind, corpus)}")
        held = "; ".join(parts)
    else:
        held = _held_out(groups, protocol, corpora[0] if len(corpora) == 1 else None)
    fold = data.get("fold")
    if fold is not None and protocol in ("loso", "kfold-speaker"):
        held = f"fold {fold}: {held}"
    n_test = data.get("n_test")
    clips = f"{int(n_test)} clips" if isinstance(n_test, int | float) and n_test else ""
    named = "" if protocol == "per-corpus" else ", ".join(corpora)  # (each part names its own)
    return " · ".join(p for p in (named, held, clips) if p)


def model_card(name: str, predictor: Predictor | None = None) -> ModelCard:
    """Read a checkpoint's config, log and model card.

    Args:
        name: checkpoint name (in :func:`ser_core.inference.checkpoints_dir`).
        predictor: the loaded predictor, used for the parameter count when given.
    """
    from ser_core.models import model_info

    def _frozen_encoder_parameters(encoder: object) -> int | None:
        """Parameters of a packaged encoder's converted cache, from the safetensors header
        alone (no torch encoder is built, no weights are read); None when it is not cached."""
        import math
        import re

        from safetensors import SafetensorError, safe_open

        from ser_core.paths import cache_dir

        # Only packaged names have a converted cache (``hf:`` weights live in the HF cache).
        if not isinstance(encoder, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", encoder):
            return None
        weights = cache_dir("encoders") / encoder / "model.safetensors"
        if not weights.is_file():
            return None
        try:
            with safe_open(str(weights), framework="numpy") as tensors:
                names = tensors.keys()  # (the handle itself is not iterable)
                return sum(math.prod(tensors.get_slice(k).get_shape()) for k in names)
        except (OSError, SafetensorError):
            return None

    folder = checkpoints_dir() / name
    config = _read_json(folder / "config.json")
    arch = str(config.get("name", name))
    try:
        info = model_info(arch)
        reference, summary = info.reference, info.summary
        explanation, input_kind = info.explanation, info.input_kind
    except ValueError:
        reference = summary = explanation = input_kind = ""
    data = config.get("data") or {}
    training = config.get("training") or {}
    corpora = list(data.get("corpora") or training.get("corpora") or [])
    split = data.get("split") or {}
    protocol = str(split.get("description") or split.get("label") or data.get("protocol") or "")
    log_path = folder / "train_log.csv"
    log = pd.read_csv(log_path) if log_path.is_file() else None
    readme_path = folder / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else ""
    parameters = None
    if predictor is not None:
        from ser_core.models import count_parameters

        parameters = int(count_parameters(predictor.model)) or None  # 0: nothing to count
    model_config = config.get("config")
    model_config = model_config if isinstance(model_config, dict) else {}
    encoder = model_config.get("encoder")
    # Only a states-fed head runs on an encoder outside itself; a waveform model counts its own.
    frozen = model_config.get("features") == "encoder_states"
    encoder_parameters = _frozen_encoder_parameters(encoder) if frozen else None
    metrics = config.get("metrics") or {}
    return ModelCard(
        name=name,
        architecture=arch,
        labels=list(config.get("labels") or []),
        reference=reference,
        summary=summary,
        explanation=explanation,
        input_kind=input_kind,
        parameters=parameters,
        encoder_parameters=encoder_parameters,
        corpora=corpora,
        protocol=protocol,
        test_set=describe_test_set(config),
        speaker_adapted=bool(model_config.get("speaker_adapted", False)),
        metrics={k: v for k, v in metrics.items() if isinstance(v, dict)},
        feature_config=dict(config.get("feature_config") or {}),
        training=dict(training),
        log=log,
        readme=readme,
        folder=folder,
    )


def load_all_predictions(names: list[str]) -> pd.DataFrame:
    """The committed test predictions of several checkpoints, one frame with a ``model`` column.

    Checkpoints without ``predictions.parquet`` are skipped. The ``model`` column holds the
    checkpoint name (overwriting the architecture name the trainer stores there).
    """
    from ser_core.evaluation import load_predictions

    frames = []
    for name in names:
        path = predictions_path(name)
        if path is None:
            continue
        frame = load_predictions(path)
        frame = frame.assign(model=name)
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def needs_enrolment(name: str) -> bool:
    """Whether the checkpoint is speaker-adapted (read from its config, without loading it)."""
    config = _read_json(checkpoints_dir() / name / "config.json").get("config")
    return bool(isinstance(config, dict) and config.get("speaker_adapted", False))


def load(name: str) -> Predictor:
    """Load a predictor by checkpoint name, or wait for its background
    :func:`~ser_core.app_support.preload.preload` (the app caches this with
    ``st.cache_resource``).

    Raises:
        CheckpointError: the checkpoint cannot be loaded.
    """
    if name == DEFAULT_CHECKPOINT:
        # The app starts the default's load after its first page; a page that needs the model
        # first (Live) starts it here instead, so the process still loads it once.
        preload(name)
    predictor = preloaded(name)
    if predictor is not None:
        return predictor
    from ser_core.inference import load_predictor

    return load_predictor(name)


def measure_latency(
    predictor: Predictor, seconds: float = 3.0, repeats: int = 3, seed: int = 0
) -> float:
    """Median seconds to predict a ``seconds``-long clip on this machine (after one warm-up).

    A speaker-adapted model without an enrolment is measured adapted to a synthetic voice
    (:func:`~ser_core.inference.bench.with_synthetic_enrolment`, as ``ser bench`` does).
    """
    from ser_core.app_support.samples import synthetic_vowel
    from ser_core.inference.bench import with_synthetic_enrolment

    signal = synthetic_vowel(seconds, 150.0, 120.0, seed=seed)
    predictor = with_synthetic_enrolment(predictor)
    predictor.predict_signal(signal, 16000)
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        predictor.predict_signal(signal, 16000)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
