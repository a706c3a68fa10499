"""The config and the head every pretrained-encoder model shares (:mod:`.pretrained` builds the
models): :class:`PretrainedSERConfig`, :class:`EncoderHead` (layer mixture → projection →
pooling → MLP) and what an explanation over the encoder's frames returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ser_core.features.config import DEFAULT_SAMPLE_RATE
from ser_core.features.encoder_states import STATE_DTYPES, EncoderStatesConfig, encoder_spec

from ._config import ModelConfig, check_choice
from ._layers import ClassifierMLP
from ._pooling import (
    AttentiveStatisticsPooling,
    RunningStandardizer,
    StatisticsPooling,
    WeightedLayerSum,
)

__all__ = ["EncoderHead", "PretrainedSERConfig", "SignalEncoding", "SignalExplanation"]


@dataclass
class PretrainedSERConfig(ModelConfig):
    """Config of :class:`PretrainedSER`.

    Attributes:
        features: ``"encoder_states"`` (frozen: cached hidden states in) or ``"waveform"``
            (encoder inside the model). ``finetune_layers > 0`` implies ``"waveform"`` unless
            ``finetune_from_cache``.
        encoder: ``"whisper_base"``, ``"whisper_tiny"`` or ``"hf:<hub-id-or-folder>"``.
        layers: hidden states the head mixes: ``"all"``, ``"last"`` or a tuple of indices
            (as :class:`~ser_core.features.EncoderStatesConfig`). With ``finetune_from_cache``
            the cached states the model reads: ``"all"`` becomes ``(k,)`` with ``k = L -
            finetune_layers`` when the model is built (the head then mixes states ``k..L``); a
            tuple must hold ``k`` and no later state (the head mixes it and states ``k+1..L``).
        states_dtype: storage dtype of the cached states (``"float16"`` / ``"float32"``).
        trim_db: the encoder sees each clip without its leading and trailing silence (frames
            more than ``trim_db`` dB below the loudest; :class:`~ser_core.features.
            EncoderStatesConfig`), in training and at inference alike; ``None`` encodes whole
            clips. Cached-state modes only.
        finetune_layers: top encoder layers trained with the head (0 = frozen encoder).
        finetune_from_cache: train the ``finetune_layers`` top layers on cached hidden states of
            layer ``k = L - finetune_layers`` instead of waveforms (see the module docstring;
            Whisper encoders only): no encoder pass per step below the trained layers.
        encoder_layers, encoder_dim: the encoder's layer count and width; filled in from the
            encoder's config when the model is built (and saved, so a frozen head loads without
            the encoder's files).
        layer_pooling: ``"weighted_sum"`` (a learned softmax-weighted sum of the hidden states,
            then projection and pooling: SUPERB) or ``"per_layer"`` (every hidden state pooled
            on its own, mean and standard deviation, the ``L × 2D`` statistics always
            standardised and fed to the MLP: the linear probe of the issue's floor, made a
            trainable head, with dropout on the standardised statistics). ``per_layer`` ignores
            ``normalize_layers`` and ``proj_dim``; of ``pooling`` it takes ``"mean"`` (means
            only, ``L × D``) and otherwise pools mean and standard deviation.
        normalize_layers: layer-normalise every hidden state (no parameters) before the sum.
        proj_dim: width of the linear projection after the layer sum (0 = none).
        pooling: ``"mean_std"`` (mean and standard deviation over the valid frames, the
            default), ``"attentive_stats"`` (attention-weighted mean and standard deviation,
            Okabe et al. 2018) or ``"mean"``. On EMO-DB (6 training speakers, 2 validation
            speakers, whisper_base) attentive pooling reached ~75 validation UA against ~92 for
            plain statistics: with a few hundred clips the attention learns clip-specific frames
            that do not transfer to new speakers. Prefer it on larger corpora, and check.
        standardize: standardise the pooled statistics per feature with running training
            statistics (a non-affine BatchNorm, like a ``StandardScaler`` in a linear probe).
        attention_dim: hidden size of the pooling attention.
        hidden: MLP hidden widths.
        activation: MLP activation.
        dropout: dropout after the projection and after each MLP layer.
        weight_decay: L2 strength for the trainer's optimiser (AdamW style).
        encoder_lr_scale: learning rate of fine-tuned encoder layers relative to the head's
            (see :meth:`PretrainedSER.param_groups`).
        sample_rate: waveform rate (always 16 kHz).
        allow_download: let an ``hf:`` encoder be downloaded when it is not available locally
            (otherwise never; the hubs are unreachable from the project's machines).
        speaker_adapted: the head was trained on speaker-normalised states
            (:mod:`ser_core.adaptation`); a label, so its numbers are never mixed with plain ones.
    """

    features: str = "encoder_states"
    encoder: str = "whisper_base"
    layers: str | tuple[int, ...] = "all"
    states_dtype: str = "float16"
    trim_db: float | None = None
    finetune_layers: int = 0
    finetune_from_cache: bool = False
    encoder_layers: int | None = None
    encoder_dim: int | None = None
    layer_pooling: str = "weighted_sum"
    normalize_layers: bool = True
    proj_dim: int = 256
    pooling: str = "mean_std"
    standardize: bool = False
    attention_dim: int = 128
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"
    dropout: float = 0.3
    weight_decay: float = 1e-4
    encoder_lr_scale: float = 0.1
    sample_rate: int = DEFAULT_SAMPLE_RATE
    allow_download: bool = False
    speaker_adapted: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.layers, list):
            self.layers = tuple(self.layers)
        if self.finetune_layers < 0:
            raise ValueError(f"finetune_layers must be >= 0, got {self.finetune_layers}")
        if self.finetune_from_cache:
            if self.finetune_layers == 0:
                raise ValueError("finetune_from_cache needs finetune_layers > 0")
            if self.features != "encoder_states":
                raise ValueError(
                    "finetune_from_cache reads cached encoder states: features must be "
                    f"'encoder_states', got {self.features!r}"
                )
            if self.layers == "last":
                raise ValueError(
                    "finetune_from_cache recomputes the last states: layers must be 'all' or "
                    "indices up to L - finetune_layers, not 'last'"
                )
        elif self.finetune_layers > 0:
            self.features = "waveform"  # fine-tuning needs the encoder inside the model
        if self.trim_db is not None and self.features != "encoder_states":
            raise ValueError(
                "trim_db trims the clips whose encoder states are cached: features must be "
                f"'encoder_states', got {self.features!r}"
            )
        check_choice("features", self.features, ("encoder_states", "waveform"))
        check_choice("states_dtype", self.states_dtype, STATE_DTYPES)
        check_choice("pooling", self.pooling, ("attentive_stats", "mean_std", "mean"))
        check_choice("layer_pooling", self.layer_pooling, ("weighted_sum", "per_layer"))
        if self.sample_rate != DEFAULT_SAMPLE_RATE:
            raise ValueError(f"pretrained encoders take 16 kHz audio, got {self.sample_rate}")
        if self.proj_dim < 0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("proj_dim must be >= 0 and dropout in [0, 1)")
        # Validates encoder, layers and trim_db (without looking the encoder up, unlike
        # states_config).
        EncoderStatesConfig(
            encoder=self.encoder, dtype=self.states_dtype, layers=self.layers, trim_db=self.trim_db
        )

    def states_config(self) -> EncoderStatesConfig:
        """The feature config whose output the model takes in the two cached modes (frozen, and
        fine-tune from cache: the states up to ``k``, see :meth:`cached_layers`)."""
        layers = self.cached_layers() if self.finetune_from_cache else self.layers
        return EncoderStatesConfig(
            encoder=self.encoder, dtype=self.states_dtype, layers=layers, trim_db=self.trim_db
        )

    @property
    def first_tuned_state(self) -> int:
        """``k = L - finetune_layers``: the hidden state the fine-tuned layers start from."""
        total = self.encoder_layers or encoder_spec(self.encoder, self.allow_download).num_layers
        if self.finetune_layers > total:
            raise ValueError(
                f"finetune_layers={self.finetune_layers} exceeds the {total} layers of "
                f"{self.encoder}"
            )
        return total - self.finetune_layers

    def cached_layers(self) -> tuple[int, ...]:
        """``finetune_from_cache``: the cached hidden states the model reads, ``(k,)`` for
        ``layers="all"``, else the given indices (which must end at ``k``).

        Raises:
            ValueError: indices without ``k`` or with a state above it.
        """
        k = self.first_tuned_state
        if self.layers == "all":
            return (k,)
        total = k + self.finetune_layers + 1
        probe = EncoderStatesConfig(encoder=self.encoder, layers=self.layers)
        indices = probe.layer_indices(total)
        if k not in indices or max(indices) != k or len(set(indices)) != len(indices):
            raise ValueError(
                f"with finetune_from_cache and finetune_layers={self.finetune_layers}, layers "
                f"must hold state {k} (the input of the fine-tuned layers), no later state and "
                f"no repeats; got {self.layers!r}"
            )
        return tuple(indices)


@dataclass
class SignalEncoding:
    """One encoder run over a clip (:meth:`PretrainedSER.encode_signal`): what the label and,
    later, the explanation need, so the encoder runs once for both.

    Attributes:
        states: (1, L, D, T') the head's input states.
        rollouts: each 30 s piece's mixed attention rollout, (T_piece, T_piece).
        probabilities: (C,) class probabilities.
        start_seconds: where in the clip the encoded part starts (after the leading silence
            the model's ``trim_db`` removes; 0 otherwise).
    """

    states: Tensor
    rollouts: list[Tensor]
    probabilities: np.ndarray
    start_seconds: float = 0.0


@dataclass
class SignalExplanation:
    """What drove the prediction for one clip, on the encoder's frame axis.

    Attributes:
        frame_map: (T',) the head's frame relevance carried back to the input frames by attention
            rollout through the mixed layers; non-negative, maximum 1.
        head_map: (T',) the head's own frame relevance (:meth:`PretrainedSER.frame_relevance`:
            pooling weights, or input × gradient), maximum 1.
        times: (T',) centre time of each frame in seconds.
        frames_per_second: the frame rate (50 for Whisper and wav2vec2-style encoders).
        probabilities: (C,) class probabilities.
        labels: class names in output order (``None`` if the model has none).
        layer_weights: (L,) the head's mixture weights over the hidden states it uses.
    """

    frame_map: np.ndarray
    head_map: np.ndarray
    times: np.ndarray
    frames_per_second: float
    probabilities: np.ndarray
    labels: list[str] | None
    layer_weights: np.ndarray


class EncoderHead(nn.Module):
    """The shared head: layer mixture → projection → (attentive) statistics pooling → MLP.

    ``embed(states (B, L, D, T), lengths) -> (embedding (B, 2P), pooling weights (B, T))``;
    ``mlp(embedding) -> logits``.
    """

    def __init__(self, num_states: int, dim: int, num_classes: int, config: PretrainedSERConfig):
        super().__init__()
        self.per_layer = config.layer_pooling == "per_layer"
        self.num_states = num_states
        self.layer_sum = (
            None
            if self.per_layer
            else WeightedLayerSum(num_states, normalize=config.normalize_layers)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.pool: AttentiveStatisticsPooling | StatisticsPooling
        self.proj: nn.Module
        self.standardize: nn.Module
        if self.per_layer:
            # No parameters before pooling: each layer's statistics, standardised like the
            # probe's StandardScaler (raw Whisper states differ in scale by orders of magnitude).
            self.proj = nn.Identity()
            self.pool = StatisticsPooling(num_states * dim, std=config.pooling != "mean")
            self.standardize = RunningStandardizer(self.pool.out_features)
        else:
            width = config.proj_dim or dim
            self.proj = nn.Linear(dim, width) if config.proj_dim else nn.Identity()
            if config.pooling == "attentive_stats":
                self.pool = AttentiveStatisticsPooling(width, config.attention_dim)
            else:
                self.pool = StatisticsPooling(width, std=config.pooling == "mean_std")
            self.standardize = (
                RunningStandardizer(self.pool.out_features) if config.standardize else nn.Identity()
            )
        self.mlp = ClassifierMLP(
            self.pool.out_features,
            config.hidden,
            num_classes,
            activation=config.activation,
            dropout=config.dropout,
        )

    def layer_weights(self) -> Tensor:
        """(L,) how much each hidden state counts: learned weights, or uniform per layer."""
        if self.layer_sum is None:
            device = self.mlp.output.weight.device
            return torch.full((self.num_states,), 1.0 / self.num_states, device=device)
        return self.layer_sum.layer_weights()

    def layer_statistics(self, states: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """Per-layer head: every layer's mean (and std) over the valid frames, ``(B, 2·L·D)``,
        and the (uniform) pooling weights. No parameters: the trainer caches it per clip."""
        batch, layers, dim, steps = states.shape
        assert isinstance(self.pool, StatisticsPooling)
        frames = states.reshape(batch, layers * dim, steps)  # (B, L·D, T)
        return self.pool.forward_channels_first(frames, lengths)

    def embed_statistics(self, stats: Tensor) -> Tensor:
        """Per-layer head: the embedding of :meth:`layer_statistics`' output."""
        return self.dropout(self.standardize(stats))

    def embed(self, states: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """Pooled embedding and pooling weights of ``states`` (B, L, D, T)."""
        if self.per_layer:
            stats, weights = self.layer_statistics(states, lengths)
            return self.embed_statistics(stats), weights
        assert self.layer_sum is not None
        frames = self.dropout(self.proj(self.layer_sum(states)))  # (B, T, P)
        stats, weights = self.pool(frames, lengths)
        return self.standardize(stats), weights
