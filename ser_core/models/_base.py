"""``SERModel``: the contract every torch model in the zoo follows.

Input layouts (``input_kind``):

=============  ==============  ==============================================================
kind           tensor          ``lengths`` counts
=============  ==============  ==============================================================
``waveform``   (B, T)          valid samples (16 kHz)
``logmel``     (B, F, T)       valid frames (F = ``config.n_features`` mel bands)
``mfcc``       (B, F, T)       valid frames (F = coefficients, with deltas if used)
``image``      (B, 3, H, W)    not used (fixed-size spectrogram images, time along W)
``vector``     (B, D)          not used (eGeMAPS / MFCC statistics)
=============  ==============  ==============================================================

Methods: ``forward(x, lengths=None) -> logits (B, C)`` (softmax is left to the caller, e.g.
:meth:`SERModel.predict_proba`); ``forward_features(x, lengths) -> (B, D)`` the pooled embedding;
``forward_head(features, pre_logits=False)``; ``explain(x, lengths, target) -> np.ndarray``;
``save_pretrained(dir)`` / ``from_pretrained(dir)`` (safetensors + JSON, never pickle).

``explain`` returns a non-negative map, max 1 per item, zero beyond each valid length, on the
input's own axes with time last:

* waveform models → (B, T) over samples;
* 2-D map models → (B, F, T) time-frequency (Grad-CAM, input × gradient, ViT attention rollout)
  or (B, T) over frames (attention over time steps: BiLSTM-attention);
* image models → (B, H, W) (time along W);
* vector models → (B, D) per feature (they have no time axis).

Models with ``supports_variable_length = True`` give the same outputs for a zero-padded batch with
``lengths`` as for each item alone (in eval mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from ser_core.errors import CheckpointError

from ._config import (
    LAYOUTS,
    InputSpec,
    ModelConfig,
    ModelDescription,
    read_checkpoint_config,
    write_checkpoint_config,
)
from ._explain import input_x_gradient, normalise_maps
from ._layers import valid_lengths

__all__ = ["WEIGHTS_NAME", "SERModel", "count_parameters"]

WEIGHTS_NAME = "model.safetensors"


def count_parameters(model: Any, trainable_only: bool = False) -> int:
    """Number of parameters of a torch model (or stored numbers of a fitted svm)."""
    if isinstance(model, nn.Module):
        return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
    counter = getattr(model, "num_parameters", None)
    return int(counter()) if callable(counter) else 0


class SERModel(ModelDescription, nn.Module):
    """Base class of every torch model in the zoo (see the module docstring for the contract).

    Subclasses set the class attributes of :class:`ModelDescription`, take ``(config,
    num_classes)`` and implement :meth:`forward_features` and :meth:`forward_head`; they may
    override :meth:`_explain_maps` (default: input × gradient).
    """

    is_torch: ClassVar[bool] = True
    #: Registry name used when the class is instantiated directly (``create_model`` sets it).
    default_name: ClassVar[str] = ""

    def __init__(self, config: ModelConfig, num_classes: int) -> None:
        nn.Module.__init__(self)
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}")
        self.config = config
        self.num_classes = int(num_classes)
        self.model_name = self.default_name
        self.input_kind = self.kind_of(self.features)
        self._labels: list[str] | None = None

    # ------------------------------------------------------------------ description
    @property
    def features(self) -> str:
        """Feature extractor this instance expects (from its config)."""
        return str(getattr(self.config, "features", self.default_features))

    @property
    def labels(self) -> list[str] | None:
        """Class names in output order (``id2label``), saved with the checkpoint."""
        return self._labels

    @labels.setter
    def labels(self, labels: Sequence[str] | None) -> None:
        if labels is not None and len(labels) != self.num_classes:
            raise ValueError(f"{len(labels)} labels given for {self.num_classes} classes")
        self._labels = list(labels) if labels is not None else None

    @property
    def min_input_length(self) -> int:
        """Fewest valid time steps an item may have (pools and strided convs need some)."""
        return 1

    def input_spec(self) -> InputSpec:
        """The input this model takes (see :class:`InputSpec`)."""
        kind = self.input_kind
        n_features = getattr(self.config, "n_features", None) if kind != "waveform" else None
        return InputSpec(
            kind=kind,
            features=self.features,
            layout=LAYOUTS[kind],
            n_features=n_features if kind in ("logmel", "mfcc", "vector") else None,
            sample_rate=getattr(self.config, "sample_rate", None) if kind == "waveform" else None,
            image_size=getattr(self.config, "image_size", None) if kind == "image" else None,
            min_length=self.min_input_length,
            variable_length=self.supports_variable_length,
        )

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of (trainable) parameters."""
        return count_parameters(self, trainable_only)

    def card(self) -> dict[str, Any]:
        """Facts for a model card: name, reference, input, parameters, config."""
        return {
            "name": self.model_name,
            "class": type(self).__name__,
            "reference": self.reference,
            "input": self.input_spec().__dict__,
            "num_classes": self.num_classes,
            "labels": self.labels,
            "parameters": self.num_parameters(),
            "trainable_parameters": self.num_parameters(trainable_only=True),
            "explanation": self.explanation_for(self.config),
            "config": self.config.to_dict(),
        }

    # ------------------------------------------------------------------ forward
    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Pooled embedding (B, D) of a batch (``lengths`` in valid time steps)."""
        raise NotImplementedError

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """Logits (B, num_classes) from :meth:`forward_features`' output, or the last hidden
        layer when ``pre_logits``."""
        raise NotImplementedError

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Logits (B, num_classes); see the module docstring for layouts and ``lengths``."""
        x, lens = self.check_input(x, lengths)
        return self.forward_head(self.forward_features(x, lens))

    @property
    def has_fixed_summary(self) -> bool:
        """True when :meth:`forward` starts with a part that has no parameters (a fixed summary
        of the input); the trainer then computes it once per clip instead of every epoch."""
        return False

    def fixed_summary(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """The parameter-free front of :meth:`forward`, ``(B, S)``; only where
        :attr:`has_fixed_summary`. ``forward(x) == forward_summary(fixed_summary(x))``."""
        raise NotImplementedError(f"{self.model_name} has no fixed summary")

    def forward_summary(self, summary: Tensor) -> Tensor:
        """Logits from :meth:`fixed_summary`'s output (the trainable rest of the model)."""
        raise NotImplementedError(f"{self.model_name} has no fixed summary")

    def predict_proba(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Class probabilities (B, num_classes) in eval mode under ``torch.inference_mode``."""
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                return torch.softmax(self(x, lengths), dim=-1)
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ input checks
    def check_input(
        self, x: Tensor, lengths: Tensor | Sequence[int] | None
    ) -> tuple[Tensor, Tensor | None]:
        """Validate ``x`` against the input kind and turn ``lengths`` into a long tensor.

        Raises:
            ValueError: wrong number of dimensions, feature size or channels, too-short items,
                or ``lengths`` given to a model without time axis.
        """
        if not isinstance(x, Tensor):
            x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        reference = next(self.parameters(), None)
        if reference is not None and (x.dtype != reference.dtype or x.device != reference.device):
            x = x.to(device=reference.device, dtype=reference.dtype)
        kind = self.input_kind
        ndim = {"waveform": 2, "logmel": 3, "mfcc": 3, "image": 4, "vector": 2}[kind]
        if x.ndim != ndim:
            hint = " (add a batch dimension: x.unsqueeze(0))" if x.ndim == ndim - 1 else ""
            raise ValueError(
                f"{self.model_name or type(self).__name__} takes {kind} input shaped "
                f"{LAYOUTS[kind]}; got a tensor of shape {tuple(x.shape)}{hint}"
            )
        n_features = getattr(self.config, "n_features", None)
        if kind in ("logmel", "mfcc", "vector") and n_features and x.shape[1] != n_features:
            raise ValueError(
                f"{self.model_name}: expected {n_features} features on axis 1, got {x.shape[1]}; "
                "build the model with n_features matching the feature config"
            )
        if kind == "image" and x.shape[1] != 3:
            raise ValueError(f"{self.model_name}: images must have 3 channels, got {x.shape[1]}")
        lens = valid_lengths(x, lengths)
        if lens is not None and lens.ndim == 0:
            lens = lens.view(1)
        if kind in ("image", "vector"):
            if lens is not None and bool((lens != x.shape[-1]).any()):
                raise ValueError(f"{self.model_name} takes fixed-size {kind} input; no lengths")
            return x, None
        if lens is not None:
            if lens.shape != (x.shape[0],):
                raise ValueError(
                    f"lengths must have shape ({x.shape[0]},), got {tuple(lens.shape)}"
                )
            if bool((lens > x.shape[-1]).any()) or bool((lens < 1).any()):
                raise ValueError(f"lengths must lie in [1, {x.shape[-1]}], got {lens.tolist()}")
            if not self.supports_variable_length and bool((lens != x.shape[-1]).any()):
                raise ValueError(f"{self.model_name} does not support padded batches")
        shortest = int(lens.min()) if lens is not None else x.shape[-1]
        if shortest < self.min_input_length:
            unit = "samples" if kind == "waveform" else "frames"
            raise ValueError(
                f"{self.model_name}: input too short ({shortest} {unit}); it needs at least "
                f"{self.min_input_length} {unit}; pad the clip or use a longer one"
            )
        return x, lens

    # ------------------------------------------------------------------ explanation
    def explain(
        self,
        x: Tensor,
        lengths: Tensor | Sequence[int] | None = None,
        target: int | Sequence[int] | None = None,
    ) -> np.ndarray:
        """A map of what drove the prediction, on the input's axes (time last).

        Args:
            x: a batch in the model's input layout.
            lengths: valid time steps per item (variable-length models).
            target: class to explain per item (default: the predicted class); attention maps
                do not depend on it.

        Returns:
            float32 array, non-negative, max 1 per item, zero beyond each length: (B, T) for
            waveform models and attention over time, (B, F, T) for time-frequency maps,
            (B, H, W) for images and (B, D) for feature vectors.
        """
        was_training = self.training
        self.eval()
        try:
            x, lens = self.check_input(x, lengths)
            maps = self._explain_maps(x, lens, target)
            maps = normalise_maps(maps, lens if self.input_kind != "vector" else None)
            return maps.float().cpu().numpy()
        finally:
            self.train(was_training)

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        """Default explanation: input × gradient (summed over image channels)."""
        maps = input_x_gradient(
            lambda inp: self.forward_head(self.forward_features(inp, lengths)), x, target
        )
        return maps.sum(dim=1) if self.input_kind == "image" else maps

    # ------------------------------------------------------------------ persistence
    def _saved_keys(self) -> list[str]:
        """State-dict keys a checkpoint stores (all of them; models that rebuild part of their
        weights from elsewhere, such as a frozen pretrained encoder, store fewer)."""
        return list(self.state_dict())

    def _checkpoint_extra(self) -> dict[str, Any]:
        """Model-specific keys for ``config.json`` (none by default)."""
        return {}

    def save_pretrained(
        self, directory: str | Path, extra: Mapping[str, Any] | None = None
    ) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (created if needed).

        Args:
            directory: target folder.
            extra: more JSON-ready keys for ``config.json`` (e.g. training settings).

        Returns:
            The folder.
        """
        directory = Path(directory)
        if not self.model_name:
            raise ValueError("model has no registry name; build it with create_model(...)")
        write_checkpoint_config(
            directory,
            name=self.model_name,
            num_classes=self.num_classes,
            labels=self.labels,
            config=self.config,
            extra={**self._checkpoint_extra(), **(dict(extra) if extra else {})},
        )
        state = self.state_dict()
        tensors = {k: state[k].detach().cpu().contiguous() for k in self._saved_keys()}
        save_file(tensors, str(directory / WEIGHTS_NAME), metadata={"name": self.model_name})
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str = "cpu") -> SERModel:
        """Load a model saved with :meth:`save_pretrained` (in eval mode).

        Raises:
            CheckpointError: missing files, an invalid config, or tensors that do not fit.
        """
        from ._registry import create_model

        directory = Path(directory)
        payload = read_checkpoint_config(directory)
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise CheckpointError(f"{directory} has no {WEIGHTS_NAME}.")
        try:
            model = create_model(payload["name"], payload["num_classes"], **payload["config"])
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{directory}/config.json does not build a model: {exc}") from exc
        if not isinstance(model, cls):
            raise CheckpointError(
                f"{directory} holds a {type(model).__name__}, not a {cls.__name__}; "
                "use ser_core.models.load_model(dir) to load any model"
            )
        state = load_file(str(weights), device=map_location)
        try:
            model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatch
            raise CheckpointError(f"{weights} does not fit {payload['name']}: {exc}") from exc
        expected = set(model._saved_keys())
        missing = sorted(expected - set(state))
        unexpected = sorted(set(state) - expected)
        if missing or unexpected:
            raise CheckpointError(
                f"{weights} does not match {payload['name']}: missing {missing[:5]}, "
                f"unexpected {unexpected[:5]}"
            )
        model.labels = payload.get("labels")
        return model.to(map_location).eval()
