"""Torch-free pieces every model shares: config dataclasses, input kinds, ``config.json`` I/O.

Both the torch models (:class:`~ser_core.models._base.SERModel`) and the scikit-learn ``svm``
inherit :class:`ModelDescription`, so the registry, :func:`load_model` and the checkpoint format
treat them alike without importing torch.

Checkpoint layout (transformers style, never pickle)::

    <dir>/config.json        {"name", "num_classes", "labels", "config", "format_version", ...}
    <dir>/model.safetensors  torch models: the state dict
    <dir>/model.skops        svm: the fitted scikit-learn pipeline in skops' secure format
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ser_core.checkpoint_config import CONFIG_NAME, read_checkpoint_config

__all__ = [
    "CONFIG_NAME",
    "FEATURE_KINDS",
    "INPUT_KINDS",
    "LAYOUTS",
    "InputSpec",
    "ModelConfig",
    "ModelDescription",
    "is_torch_model",
    "model_config_for",
    "read_checkpoint_config",
]

FORMAT_VERSION = 1

#: The tensor layouts a model can take.
INPUT_KINDS = ("waveform", "logmel", "mfcc", "image", "vector", "states")

#: Feature extractor name → input kind (tensor layout) it produces.
FEATURE_KINDS: dict[str, str] = {
    "waveform": "waveform",
    "logmel": "logmel",
    "mfcc": "mfcc",
    "spectrogram_image": "image",
    "egemaps": "vector",
    "mfcc_stats": "vector",
    "encoder_states": "states",
}

#: Tensor layout of each input kind.
LAYOUTS: dict[str, str] = {
    "waveform": "(B, T)",
    "logmel": "(B, F, T)",
    "mfcc": "(B, F, T)",
    "image": "(B, 3, H, W)",
    "vector": "(B, D)",
    "states": "(B, L, D, T)",
}

C = TypeVar("C", bound="ModelConfig")


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """What a model wants as input, so trainers and predictors build it from the model alone.

    Attributes:
        kind: ``"waveform"``, ``"logmel"``, ``"mfcc"``, ``"image"``, ``"vector"`` or
            ``"states"`` (hidden states of a pretrained encoder: layers × dim × frames).
        features: the feature extractor (``"logmel"``, ``"egemaps"``, ``"spectrogram_image"``...).
        layout: the tensor layout, e.g. ``"(B, F, T)"``.
        n_features: rows of a 2-D map or size of a vector (``None`` for waveform / image).
        sample_rate: for waveform input.
        image_size: for image input (H = W).
        min_length: fewest valid time steps (samples or frames) an item may have.
        variable_length: whether ``lengths`` is honoured (padded batch == items alone).
    """

    kind: str
    features: str
    layout: str
    n_features: int | None
    sample_rate: int | None
    image_size: int | None
    min_length: int
    variable_length: bool


def _tuple_fields(cls: type) -> set[str]:
    """Names of fields annotated as tuples (JSON gives lists back; turn them into tuples)."""
    hints = typing.get_type_hints(cls)
    names = set()
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        origins = {typing.get_origin(hint)}
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            origins |= {typing.get_origin(a) for a in typing.get_args(hint)}
        if tuple in origins:
            names.add(f.name)
    return names


@dataclasses.dataclass
class ModelConfig:
    """Base of every model's config dataclass (transformers style: plain data, saved as JSON)."""

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls: type[C], values: Mapping[str, Any] | None = None) -> C:
        """Build a config from a dict, rejecting unknown keys with the list of valid ones.

        Raises:
            ValueError: for a key that is not a field of this config.
        """
        values = dict(values or {})
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no field(s) {', '.join(map(repr, unknown))}; "
                f"valid fields: {', '.join(names)}"
            )
        for name in _tuple_fields(cls):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        return cls(**values)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (validated like :meth:`from_dict`)."""
        return type(self).from_dict({**self.to_dict(), **changes})


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise a clear ``ValueError`` when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


class ModelDescription:
    """Class-level description every registered model carries (read by ``model_info``).

    Attributes:
        input_kind: tensor layout of the default input (see :data:`INPUT_KINDS`); an instance may
            override it from its config (e.g. ``features="mfcc"``).
        default_features: feature extractor the class expects when the config does not say.
        supports_variable_length: padded batches with ``lengths`` give per-item outputs.
        is_torch: ``True`` for torch modules, ``False`` for the scikit-learn svm.
        explanation: what ``explain`` returns (``"attention"``, ``"gradcam"``, ``"saliency"``,
            ``"occlusion"``).
        reference: the paper(s) the architecture follows.
        config_class: the model's config dataclass.
    """

    input_kind: str = "logmel"
    default_features: ClassVar[str] = "logmel"
    supports_variable_length: ClassVar[bool] = False
    is_torch: ClassVar[bool] = True
    explanation: ClassVar[str] = "saliency"
    reference: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    #: Optimiser settings of the paper the model follows (``optimizer``, ``lr``, ``momentum``);
    #: the trainer uses them when the user sets none. Empty: Adam at 1e-3.
    default_optimizer: ClassVar[dict[str, Any]] = {}

    @classmethod
    def kind_of(cls, features: str) -> str:
        """The input kind produced by the feature extractor ``features``."""
        return FEATURE_KINDS.get(features, cls.input_kind)

    @classmethod
    def feature_defaults(cls, config: ModelConfig) -> dict[str, Any]:
        """Feature-config parameters a model config fixes beyond the feature kind.

        Most models take their kind's default features (``{}``); a head on a pretrained encoder
        fixes which encoder's states it reads. See :func:`~ser_core.models.default_features`.
        """
        return {}

    @classmethod
    def explanation_for(cls, config: ModelConfig) -> str:
        """What ``explain`` returns for a model built from ``config`` (variants may differ)."""
        return cls.explanation

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> Any:
        """Load a saved model of this class (implemented by the torch base and the svm)."""
        raise NotImplementedError


def write_checkpoint_config(
    directory: Path,
    *,
    name: str,
    num_classes: int,
    labels: Sequence[str] | None,
    config: ModelConfig,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``config.json`` (name, num_classes, labels, config dict) into ``directory``."""
    from ser_core._version import __version__

    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "name": name,
        "num_classes": int(num_classes),
        "labels": list(labels) if labels is not None else None,
        "config": config.to_dict(),
        "format_version": FORMAT_VERSION,
        "ser_core_version": __version__,
        **(dict(extra) if extra else {}),
    }
    path = directory / CONFIG_NAME
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def model_config_for(feature_config: Any) -> dict[str, Any]:
    """Model config overrides that make a model take the output of ``feature_config``.

    ``create_model(name, n, **model_config_for(LogMelConfig(n_mels=80)))`` gives a model whose
    ``features`` and input size (``n_features``, ``image_size``, ``sample_rate``) match.

    Args:
        feature_config: a ``ser_core.features`` config (``LogMelConfig``, ``MFCCConfig``,
            ``SpectrogramImageConfig``, ``EGeMAPSConfig``, ``MFCCStatsConfig``,
            ``WaveformConfig``, ``EncoderStatesConfig``).

    Raises:
        ValueError: for a feature kind no model in the zoo takes.
    """
    kind = getattr(feature_config, "kind", None)
    if kind not in FEATURE_KINDS:
        raise ValueError(f"no model takes features of kind {kind!r}")
    out: dict[str, Any] = {"features": kind}
    if kind == "waveform":
        out["sample_rate"] = int(feature_config.sample_rate)
    elif kind == "encoder_states":
        layers = feature_config.layers
        out["encoder"] = str(feature_config.encoder)
        out["layers"] = list(layers) if isinstance(layers, tuple) else layers  # as in to_dict()
        out["states_dtype"] = str(feature_config.dtype)
    elif kind == "spectrogram_image":
        out["image_size"] = int(feature_config.height)
        out["imagenet_normalize"] = not bool(feature_config.imagenet_norm)
    else:
        from ser_core.features import feature_names

        out["n_features"] = len(feature_names(feature_config))
    return out


def is_torch_model(model: Any) -> bool:
    """``True`` for torch models (train with an optimiser), ``False`` for the svm (call ``fit``)."""
    return bool(getattr(model, "is_torch", False))
