"""The model zoo: one registry, one file per architecture, one contract.

>>> from ser_core.models import create_model, list_models, model_info
>>> "serct" in list_models()
True
>>> model = create_model("cnn_lstm", num_classes=7)
>>> model_info("cnn_lstm").input_kind
'logmel'

Torch models are :class:`SERModel` subclasses (``forward(x, lengths) -> logits``,
``forward_features`` / ``forward_head``, ``explain``, ``save_pretrained`` / ``from_pretrained``);
the ``svm`` is a scikit-learn pipeline behind :class:`SVMClassifier` (``fit`` / ``predict_proba``,
``is_torch = False``; check with :func:`is_torch_model`). :func:`load_model` loads either kind
from a checkpoint folder. See ``_base.py`` for input layouts and the explanation maps.
"""

from __future__ import annotations

from ._base import WEIGHTS_NAME, SERModel, count_parameters
from ._config import (
    CONFIG_NAME,
    FEATURE_KINDS,
    INPUT_KINDS,
    InputSpec,
    ModelConfig,
    is_torch_model,
    model_config_for,
    read_checkpoint_config,
)
from ._image import ImageCNNConfig, ImageSERModel, find_hub_weights, hub_checkpoint_dir
from ._registry import (
    ModelInfo,
    create_model,
    default_features,
    is_registered,
    list_models,
    load_model,
    model_class,
    model_info,
    register_model,
)
from .cnn1d_lstm import CNN1DLSTM, CNN1DLSTMConfig
from .cnn_bilstm_attn import CNNBiLSTMAttention, CNNBiLSTMAttentionConfig
from .cnn_lstm import CNNLSTM, CNNLSTMConfig
from .mlp import MLP, MLPConfig
from .mobilenet_v3 import MobileNetV3, MobileNetV3Config
from .pretrained import PretrainedSER, PretrainedSERConfig, SignalExplanation
from .resnet50 import ResNet50, ResNet50Config
from .serct import SERCT, DeformableSpeechAttention, SERCTConfig
from .svm import SVMClassifier, SVMConfig
from .vgg19 import VGG19, VGG19Config
from .vit import MelViT, MelViTConfig

__all__ = [
    "CNN1DLSTM",
    "CNNLSTM",
    "CONFIG_NAME",
    "FEATURE_KINDS",
    "INPUT_KINDS",
    "MLP",
    "SERCT",
    "VGG19",
    "WEIGHTS_NAME",
    "CNN1DLSTMConfig",
    "CNNBiLSTMAttention",
    "CNNBiLSTMAttentionConfig",
    "CNNLSTMConfig",
    "DeformableSpeechAttention",
    "ImageCNNConfig",
    "ImageSERModel",
    "InputSpec",
    "MLPConfig",
    "MelViT",
    "MelViTConfig",
    "MobileNetV3",
    "MobileNetV3Config",
    "ModelConfig",
    "ModelInfo",
    "PretrainedSER",
    "PretrainedSERConfig",
    "ResNet50",
    "ResNet50Config",
    "SERCTConfig",
    "SERModel",
    "SVMClassifier",
    "SVMConfig",
    "SignalExplanation",
    "VGG19Config",
    "count_parameters",
    "create_model",
    "default_features",
    "find_hub_weights",
    "hub_checkpoint_dir",
    "is_registered",
    "is_torch_model",
    "list_models",
    "load_model",
    "model_class",
    "model_config_for",
    "model_info",
    "read_checkpoint_config",
    "register_model",
]
