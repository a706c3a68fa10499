"""The model registry: ``@register_model``, ``create_model``, ``list_models``, ``model_info``.

Modelled on timm's ``_registry.py`` / ``_factory.py``: every architecture file registers one or more
factory functions under a short name, and everything else (trainer, predictor, CLI, app) builds
models from that name alone. This module does not import torch; the model modules that register
themselves do, and are imported on first use of :func:`list_models` / :func:`create_model`.

A factory is a function ``factory(num_classes: int, **config) -> model``. The decorator is given the
model class, whose class attributes describe the model (input kind, paper reference, ...), and
optional config overrides that make the registered name a variant of the class (``cnn`` is the
CNN-LSTM without its LSTM)::

    @register_model(CNNLSTM, use_lstm=False)
    def cnn(num_classes: int, **config: Any) -> CNNLSTM:
        \"\"\"The convolutional half of the CNN-LSTM alone.\"\"\"
        return build_model(CNNLSTM, num_classes, {"use_lstm": False, **config})
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ser_core.errors import CheckpointError

from ._config import ModelDescription, read_checkpoint_config

__all__ = [
    "ModelInfo",
    "create_model",
    "default_features",
    "is_registered",
    "list_models",
    "load_model",
    "model_class",
    "model_info",
    "register_model",
]


def _model_modules() -> list[str]:
    """Every public module of this package (no leading underscore), sorted: each holds one
    architecture whose ``@register_model`` decorators run on import. Adding a model is adding a
    file here; nothing else lists them."""
    folder = Path(__file__).parent
    return sorted(
        info.name for info in pkgutil.iter_modules([str(folder)]) if not info.name.startswith("_")
    )


F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model without building it.

    Attributes:
        name: registered name (``"cnn_lstm"``).
        input_kind: tensor layout the model takes: ``"waveform"`` (B, T), ``"logmel"`` / ``"mfcc"``
            (B, F, T), ``"image"`` (B, 3, H, W), ``"vector"`` (B, D) or ``"states"`` (B, L, D, T),
            a pretrained encoder's hidden states.
        features: name of the feature extractor whose output the default config expects
            (``"waveform"``, ``"logmel"``, ``"mfcc"``, ``"spectrogram_image"``, ``"egemaps"``,
            ``"mfcc_stats"``, ``"encoder_states"``).
        feature_config: class name of the matching config in ``ser_core.features``.
        supports_variable_length: whether ``forward(x, lengths)`` gives the same outputs for a
            padded batch as for the items one by one.
        is_torch: ``True`` for ``torch.nn.Module`` models, ``False`` for scikit-learn ones (svm).
        explanation: what ``explain`` returns: ``"attention"``, ``"gradcam"``, ``"saliency"``
            (input × gradient) or ``"occlusion"``.
        reference: the paper(s) the architecture follows.
        summary: first line of the factory's docstring.
        default_config: the config the factory uses when given no overrides.
    """

    name: str
    input_kind: str
    features: str
    feature_config: str
    supports_variable_length: bool
    is_torch: bool
    explanation: str
    reference: str
    summary: str
    default_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Entry:
    name: str
    factory: Callable[..., Any]
    model_cls: type[ModelDescription]
    overrides: dict[str, Any]


_REGISTRY: dict[str, _Entry] = {}
_loaded = False


def register_model(model_cls: type[ModelDescription], **overrides: Any) -> Callable[[F], F]:
    """Register a factory function under its own ``__name__``.

    Args:
        model_cls: the class the factory builds; its class attributes (``input_kind``,
            ``reference``, ``config_class``, ...) describe the entry in :func:`model_info`.
        **overrides: config values this registered variant sets on top of the class defaults.

    Returns:
        A decorator that records the factory and returns it unchanged.

    Raises:
        ValueError: when the name is already registered by another factory.
    """

    def decorator(fn: F) -> F:
        name = fn.__name__
        existing = _REGISTRY.get(name)
        same = existing is not None and (
            existing.factory.__module__,
            existing.factory.__qualname__,
        ) == (
            fn.__module__,
            fn.__qualname__,
        )
        if existing is not None and not same:
            raise ValueError(f"model name {name!r} is already registered by {existing.factory}")
        _REGISTRY[name] = _Entry(name, fn, model_cls, dict(overrides))
        return fn

    return decorator


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    for module in _model_modules():
        importlib.import_module(f"{__package__}.{module}")
    _loaded = True


def _entry(name: str) -> _Entry:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        names = sorted(_REGISTRY)
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown model {name!r}.{hint} Valid names: {', '.join(names)}. "
            "Use ser_core.models.list_models() to see them."
        ) from None


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    _ensure_loaded()
    return sorted(_REGISTRY)


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered model."""
    _ensure_loaded()
    return name in _REGISTRY


def model_class(name: str) -> type[ModelDescription]:
    """The class a registered name builds (several names may share one class)."""
    return _entry(name).model_cls


def create_model(name: str, num_classes: int, **config: Any) -> Any:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models` (``"cnn_lstm"``, ``"serct"``, ``"svm"``, ...).
        num_classes: number of output classes (emotions).
        **config: overrides of the model's config dataclass fields (see :func:`model_info`).

    Returns:
        A ``SERModel`` (a ``torch.nn.Module``) or, for ``"svm"``, an ``SVMClassifier``.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones), a non-positive
            ``num_classes`` or an unknown config field.
    """
    entry = _entry(name)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    model = entry.factory(num_classes, **config)
    model.model_name = name
    return model


def default_features(name: str, model_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The default feature config of a registered model, as a dict for ``config_from_dict``.

    ``{"kind": <feature kind>, **fixed}``: the kind comes from the (overridden) model config or
    the class default, ``fixed`` from the class's ``feature_defaults`` — e.g. ``whisper_tiny`` →
    ``{"kind": "encoder_states", "encoder": "whisper_tiny", "dtype": "float16", "layers":
    "all"}``, ``cnn_lstm`` → ``{"kind": "logmel"}``.

    Raises:
        ValueError: unknown name or invalid config overrides.
    """
    entry = _entry(name)
    cls = entry.model_cls
    config = cls.config_class.from_dict({**entry.overrides, **dict(model_config or {})})
    kind = str(getattr(config, "features", cls.default_features))
    return {"kind": kind, **cls.feature_defaults(config)}


def _feature_config_name(kind: str) -> str:
    """Class name of the feature config registered under ``kind`` ('' if none): feature configs
    register themselves by their ``kind`` (``ser_core.features.config``)."""
    import ser_core.features  # noqa: F401  (imports, so registers, every feature config)
    from ser_core.features.config import config_type

    found = config_type(kind)
    return found.__name__ if found is not None else ""


def model_info(name: str) -> ModelInfo:
    """Describe a registered model without building it (see :class:`ModelInfo`)."""
    entry = _entry(name)
    cls = entry.model_cls
    config_cls = cls.config_class
    config = config_cls.from_dict(dict(entry.overrides))
    features = str(getattr(config, "features", cls.default_features))
    doc = (entry.factory.__doc__ or cls.__doc__ or "").strip().splitlines()
    return ModelInfo(
        name=name,
        input_kind=cls.kind_of(features),
        features=features,
        feature_config=_feature_config_name(features),
        supports_variable_length=bool(cls.supports_variable_length),
        is_torch=bool(cls.is_torch),
        explanation=cls.explanation_for(config),
        reference=str(cls.reference),
        summary=doc[0] if doc else "",
        default_config=config.to_dict(),
    )


def load_model(directory: str | Path) -> Any:
    """Load any saved model (torch or svm) from a ``save_pretrained`` folder.

    Reads ``config.json``, looks the name up in the registry and calls that class's
    ``from_pretrained``. Never unpickles anything.

    Raises:
        CheckpointError: for a missing/invalid checkpoint or a name the registry does not know.
    """
    payload = read_checkpoint_config(directory)
    name = payload["name"]
    if not is_registered(name):
        raise CheckpointError(f"{directory}: model name {name!r} is not registered.")
    return model_class(name).from_pretrained(directory)
