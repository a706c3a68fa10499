"""MLP baseline on a fixed-length feature vector (eGeMAPS or MFCC statistics).

The eGeMAPS set is Eyben et al., "The Geneva Minimalistic Acoustic Parameter Set (GeMAPS) for
voice research and affective computing", IEEE Trans. Affective Computing 7(2), 2016 (88
functionals); an MLP on it is the standard neural baseline of that paper's SER benchmarks. The
input is standardised by a non-affine BatchNorm (running mean / variance learned from the
training data and saved with the weights), so raw eGeMAPS values can be fed directly.

Input: (B, D) vectors. Variable length: not applicable.
Explanation: input × gradient per feature → (B, D) (a vector has no time axis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from ._base import SERModel
from ._config import ModelConfig, check_choice
from ._cpu_size import from_scratch_card
from ._layers import ClassifierMLP
from ._registry import register_model

__all__ = ["MLP", "MLPConfig", "mlp"]

REFERENCE = (
    "MLP baseline on eGeMAPS (Eyben et al., 'The Geneva Minimalistic Acoustic Parameter Set', "
    "IEEE Trans. Affective Computing 7(2), 2016) or MFCC statistics"
)


@dataclass
class MLPConfig(ModelConfig):
    """Config of :class:`MLP`.

    Attributes:
        features: ``"egemaps"`` (88-d) or ``"mfcc_stats"``.
        n_features: input size D.
        hidden: hidden layer widths.
        activation: hidden activation.
        dropout: dropout after each hidden layer.
        standardise: standardise inputs with a non-affine BatchNorm.
    """

    features: str = "egemaps"
    n_features: int = 88
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    dropout: float = 0.3
    standardise: bool = True

    def __post_init__(self) -> None:
        check_choice("features", self.features, ("egemaps", "mfcc_stats"))


class MLP(SERModel):
    """Feed-forward classifier on feature vectors."""

    input_kind = "vector"
    default_features: ClassVar[str] = "egemaps"
    supports_variable_length: ClassVar[bool] = False
    explanation: ClassVar[str] = "saliency"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = MLPConfig
    default_name: ClassVar[str] = "mlp"
    config: MLPConfig

    def __init__(self, config: MLPConfig, num_classes: int) -> None:
        super().__init__(config, num_classes)
        c = config
        self.standardise = (
            nn.BatchNorm1d(c.n_features, affine=False) if c.standardise else nn.Identity()
        )
        self.head = ClassifierMLP(
            c.n_features, c.hidden, num_classes, activation=c.activation, dropout=c.dropout
        )

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.standardise(x)

    def card(self) -> dict[str, Any]:
        c = self.config
        return {
            **super().card(),
            **from_scratch_card(
                f"{c.n_features} openSMILE functionals per clip, no speaker normalisation"
            ),
        }

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(features, pre_logits=pre_logits)


@register_model(MLP)
def mlp(num_classes: int, **config: Any) -> MLP:
    """MLP baseline on eGeMAPS / MFCC statistics (Eyben et al. 2016 feature set)."""
    return MLP(MLPConfig.from_dict(config), num_classes)
