"""SVM baseline on a fixed-length feature vector (eGeMAPS or MFCC statistics).

A real scikit-learn estimator: ``Pipeline(StandardScaler, CalibratedClassifierCV(SVC, sigmoid,
ensemble=False))`` — an RBF SVM with Platt-scaled probabilities, which is exactly what
``SVC(probability=True)`` computes (that flag is deprecated from scikit-learn 1.9 on). The
eGeMAPS + SVM setup is the reference baseline of Eyben et al., "The Geneva Minimalistic Acoustic
Parameter Set (GeMAPS) for voice research and affective computing", IEEE Trans. Affective
Computing 7(2), 2016.

How it differs from the torch models (``is_torch = False``; see ``is_torch_model``): there is no
``forward`` or optimiser; the trainer calls ``fit(X, y)`` once with numpy arrays, and inference
calls ``predict_proba(X)`` (probabilities, not logits); ``forward_features`` (the standardised
vectors) and ``forward_head`` (their probabilities) split it as in the torch models. It saves
with ``save_pretrained`` to ``config.json`` + ``model.skops`` in skops' secure format and loads
with ``skops.io.load`` and an explicit list of trusted types — never pickle. ``explain`` is
occlusion: the drop in the target class's probability when each feature is set to its training
mean → (N, D).

This module does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ser_core.errors import CheckpointError

from ._config import (
    LAYOUTS,
    InputSpec,
    ModelConfig,
    ModelDescription,
    check_choice,
    read_checkpoint_config,
    write_checkpoint_config,
)
from ._cpu_size import from_scratch_card
from ._registry import register_model

__all__ = ["SKOPS_NAME", "TRUSTED_TYPES", "SVMClassifier", "SVMConfig", "svm"]

SKOPS_NAME = "model.skops"

#: Types skops does not trust by default but which this pipeline holds; nothing else is accepted.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)

REFERENCE = (
    "SVM (RBF, Platt-scaled probabilities) on eGeMAPS: Eyben et al., 'The Geneva Minimalistic "
    "Acoustic Parameter Set (GeMAPS) for voice research and affective computing', IEEE Trans. "
    "Affective Computing 7(2), 2016"
)


@dataclass
class SVMConfig(ModelConfig):
    """Config of :class:`SVMClassifier`.

    Attributes:
        features: ``"egemaps"`` (88-d) or ``"mfcc_stats"``.
        n_features: input size D.
        kernel: ``rbf``, ``poly`` or ``sigmoid`` (libsvm's ``SVC``), or ``linear``: liblinear's
            ``LinearSVC`` (one-vs-rest, squared hinge), which stores one weight per feature and
            class instead of every support vector: a few hundred kB with the 6373 ComParE
            functionals, where ``SVC`` keeps tens of MB and predicts more slowly.
        C: SVC regularisation.
        gamma: SVC kernel coefficient (``"scale"``, ``"auto"`` or a float).
        class_weight: ``None`` or ``"balanced"``.
        calibration_folds: folds for the Platt scaling (fewer if a class has fewer items).
    """

    features: str = "egemaps"
    n_features: int = 88
    kernel: str = "rbf"
    C: float = 1.0
    gamma: str | float = "scale"
    class_weight: str | None = "balanced"
    calibration_folds: int = 5

    def __post_init__(self) -> None:
        check_choice("features", self.features, ("egemaps", "mfcc_stats"))
        check_choice("kernel", self.kernel, ("rbf", "linear", "poly", "sigmoid"))
        check_choice("class_weight", self.class_weight, (None, "balanced"))


class SVMClassifier(ModelDescription):
    """Scaler + calibrated SVC behind the zoo's interface (``fit`` / ``predict_proba``)."""

    input_kind = "vector"
    default_features: ClassVar[str] = "egemaps"
    supports_variable_length: ClassVar[bool] = False
    is_torch: ClassVar[bool] = False
    explanation: ClassVar[str] = "occlusion"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = SVMConfig
    default_name: ClassVar[str] = "svm"

    def __init__(self, config: SVMConfig, num_classes: int) -> None:
        self.config = config
        self.num_classes = int(num_classes)
        self.model_name = self.default_name
        self.labels: list[str] | None = None
        self.pipeline_: Any = None

    # ------------------------------------------------------------------ description
    @property
    def features(self) -> str:
        return self.config.features

    @property
    def is_fitted(self) -> bool:
        return self.pipeline_ is not None

    def input_spec(self) -> InputSpec:
        return InputSpec(
            kind="vector",
            features=self.features,
            layout=LAYOUTS["vector"],
            n_features=self.config.n_features,
            sample_rate=None,
            image_size=None,
            min_length=1,
            variable_length=False,
        )

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Stored numbers of the fitted SVM (support vectors, dual coefficients, intercepts)."""
        if not self.is_fitted:
            return 0
        calibrated = self.pipeline_.named_steps["svc"].calibrated_classifiers_[0]
        svc = calibrated.estimator
        if hasattr(svc, "coef_") and not hasattr(svc, "support_vectors_"):  # LinearSVC
            return int(svc.coef_.size + svc.intercept_.size)
        return int(svc.support_vectors_.size + svc.dual_coef_.size + svc.intercept_.size)

    def card(self) -> dict[str, Any]:
        return {
            "name": self.model_name,
            "class": type(self).__name__,
            "reference": self.reference,
            "input": self.input_spec().__dict__,
            "num_classes": self.num_classes,
            "labels": self.labels,
            "parameters": self.num_parameters(),
            "explanation": self.explanation,
            "config": self.config.to_dict(),
            **from_scratch_card(
                f"{self.config.n_features} openSMILE functionals per clip, no speaker normalisation"
            ),
        }

    # ------------------------------------------------------------------ estimator
    def _pipeline(self, folds: int) -> Any:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC, LinearSVC

        c = self.config
        svc: Any
        if c.kernel == "linear":
            svc = LinearSVC(C=c.C, class_weight=c.class_weight, max_iter=20_000)
        else:
            svc = SVC(kernel=c.kernel, C=c.C, gamma=c.gamma, class_weight=c.class_weight)
        calibrated = CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=False)
        return Pipeline([("scaler", StandardScaler()), ("svc", calibrated)])

    def _check_x(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.config.n_features:
            raise ValueError(
                f"svm takes feature vectors shaped (N, {self.config.n_features}); got {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError("svm input has NaN or infinite values; impute or drop them first")
        return x

    def fit(self, x: Any, y: Any) -> SVMClassifier:
        """Fit on feature vectors ``x`` (N, D) and integer labels ``y`` in ``[0, num_classes)``.

        Raises:
            ValueError: bad shapes, labels out of range, or fewer than 2 classes / items.
        """
        x = self._check_x(x)
        y = np.asarray(y).astype(int)
        if y.shape != (x.shape[0],):
            raise ValueError(f"y must have shape ({x.shape[0]},), got {y.shape}")
        if y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"labels must lie in [0, {self.num_classes}), got {np.unique(y)}")
        counts = np.bincount(y)
        counts = counts[counts > 0]
        if counts.size < 2 or counts.min() < 2:
            raise ValueError("svm needs at least two classes with two or more items each")
        folds = int(min(self.config.calibration_folds, counts.min()))
        self.pipeline_ = self._pipeline(folds).fit(x, y)
        return self

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise ValueError("svm is not fitted; call fit(X, y) or load a fitted checkpoint")

    def forward_features(self, x: Any, lengths: Any = None) -> np.ndarray:
        """The standardised feature vectors (N, D) the SVC sees (the zoo's embedding);
        ``lengths`` is ignored (fixed-length input)."""
        self._check_fitted()
        return np.asarray(self.pipeline_.named_steps["scaler"].transform(self._check_x(x)))

    def forward_head(self, features: Any, pre_logits: bool = False) -> np.ndarray:
        """Probabilities (N, num_classes) from :meth:`forward_features`' output (an SVM has no
        logits; classes absent from training get 0), or the features themselves when
        ``pre_logits``."""
        self._check_fitted()
        features = np.asarray(features, dtype=np.float64)
        if pre_logits:
            return features
        proba = self.pipeline_.named_steps["svc"].predict_proba(features)
        out = np.zeros((features.shape[0], self.num_classes), dtype=np.float64)
        out[:, self.pipeline_.classes_.astype(int)] = proba
        return out

    def predict_proba(self, x: Any) -> np.ndarray:
        """Probabilities (N, num_classes); classes absent from training get 0."""
        return self.forward_head(self.forward_features(x))

    def predict(self, x: Any) -> np.ndarray:
        """Most probable class per row."""
        return self.predict_proba(x).argmax(axis=1)

    def explain(
        self, x: Any, lengths: Any = None, target: int | Sequence[int] | None = None
    ) -> np.ndarray:
        """Occlusion map (N, D): probability drop of the target class when each feature is set
        to its training mean; non-negative, max 1 per row. ``lengths`` is ignored."""
        # In the scaler's space a feature at its training mean is 0: occlude there, so the
        # scaler runs once, not once per occluded copy.
        z = self.forward_features(x)
        base = self.forward_head(z)
        classes = base.argmax(axis=1) if target is None else np.broadcast_to(target, len(z))
        rows = np.arange(len(z))
        out = np.zeros_like(z)
        n_features = z.shape[1]
        # Occluded copies in chunks of features, one call per chunk (thousands of ComParE
        # features, one call each, would take seconds).
        chunk = max(1, 512 // max(len(z), 1))
        for start in range(0, n_features, chunk):
            dims = np.arange(start, min(start + chunk, n_features))
            occluded = np.repeat(z[None], len(dims), axis=0)  # (chunk, N, D)
            occluded[np.arange(len(dims)), :, dims] = 0.0
            proba = self.forward_head(occluded.reshape(-1, n_features))
            proba = proba.reshape(len(dims), len(x), -1)
            out[:, dims] = (base[rows, classes][None] - proba[:, rows, classes]).T
        out = np.clip(out, 0.0, None)
        peak = np.maximum(out.max(axis=1, keepdims=True), 1e-12)
        return (out / peak).astype(np.float32)

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` and ``model.skops`` (skops' secure format)."""
        import skops.io as sio

        if not self.is_fitted:
            raise ValueError("fit the svm before saving it")
        directory = Path(directory)
        write_checkpoint_config(
            directory,
            name=self.model_name,
            num_classes=self.num_classes,
            labels=self.labels,
            config=self.config,
            extra=extra,
        )
        sio.dump(self.pipeline_, directory / SKOPS_NAME)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> SVMClassifier:
        """Load a fitted svm; refuses any type outside skops' defaults and :data:`TRUSTED_TYPES`.

        Raises:
            CheckpointError: missing files, or a file holding types that are not trusted.
        """
        import skops.io as sio

        directory = Path(directory)
        payload = read_checkpoint_config(directory)
        path = directory / SKOPS_NAME
        if not path.is_file():
            raise CheckpointError(f"{directory} has no {SKOPS_NAME}.")
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if untrusted:
            raise CheckpointError(f"{path} holds types that are not trusted: {untrusted}")
        try:
            model = cls(SVMConfig.from_dict(payload["config"]), payload["num_classes"])
        except (ValueError, TypeError) as exc:
            raise CheckpointError(
                f"{directory}/config.json is not a valid svm config: {exc}"
            ) from exc
        model.model_name = payload["name"]
        model.labels = payload.get("labels")
        model.pipeline_ = sio.load(path, trusted=list(TRUSTED_TYPES))
        return model


@register_model(SVMClassifier)
def svm(num_classes: int, **config: Any) -> SVMClassifier:
    """SVM baseline on eGeMAPS / MFCC statistics (Eyben et al. 2016), scikit-learn pipeline."""
    return SVMClassifier(SVMConfig.from_dict(config), num_classes)
