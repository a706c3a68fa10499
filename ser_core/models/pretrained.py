"""Emotion heads on pretrained speech encoders: Whisper, wav2vec2 and any ``hf:`` encoder.

Registered models (one class, :class:`PretrainedSER`, one shared head):

==================  ===========================================================================
``whisper_base``    encoder of Whisper base (packaged weights, 6 layers, d=512); the default
``whisper_tiny``    encoder of Whisper tiny.en (packaged weights, 4 layers, d=384)
``wav2vec2``        ``hf:facebook/wav2vec2-base`` (the RAVDESS study's model; needs the weights
                    in the local Hugging Face cache, or ``allow_download=True``)
``pretrained``      any encoder by name: ``create_model("pretrained", 7,
                    encoder="hf:/models/wavlm-base-plus")`` (wav2vec2, HuBERT, WavLM, Whisper of
                    any size, by hub id or local folder; default ``whisper_base``)
==================  ===========================================================================

The head (SUPERB / EmoBox protocol): a learned softmax-weighted sum of every hidden layer (each
layer-normalised first), a linear projection, statistics pooling (mean and standard deviation)
over the valid frames — or attentive statistics pooling (Okabe et al. 2018), ``pooling=
"attentive_stats"``, which overfitted on EMO-DB's few speakers (see the config) — and a small
MLP.

Three modes, chosen by the config:

* **frozen** (default, ``finetune_layers=0``): the model is the head alone. Its input is the
  encoder's hidden states, computed once per clip by the ``encoder_states`` feature
  (:class:`~ser_core.features.EncoderStatesConfig`, float16, cached on disk like any feature):
  input kind ``"states"``, ``(B, layers, dim, frames)`` with time last and ``lengths`` in frames.
  A generic trainer trains it like any other model on cached features, fast on CPU; the checkpoint
  holds the head only (KBs–MBs). A predictor gets the states through the same feature
  (:meth:`PretrainedSER.feature_config`); the encoder is loaded once per process.
* **fine-tune** (``finetune_layers=N > 0``): the model contains its own copy of the encoder, takes
  16 kHz waveforms (input kind ``"waveform"``, ``lengths`` in samples) and trains the top ``N``
  transformer layers (plus Whisper's final LayerNorm) with the head; everything below
  stays frozen (and in eval mode). The checkpoint stores only those ``N`` layers and the head,
  with the encoder's name, and rebuilds the rest from the packaged (or ``hf:``) weights.
  ``features="waveform"`` with ``finetune_layers=0`` gives the same end-to-end model with a frozen
  encoder inside.
* **fine-tune from cache** (``finetune_layers=N > 0`` and ``finetune_from_cache=True``; Whisper
  encoders only): the same training of the top ``N`` layers without running the encoder below
  them. The input stays cached ``encoder_states``, reduced to hidden state ``k = L - N`` (the
  output of layer ``k``, computed once per clip and per training copy), ``(B, 1, D, T)``; the
  model holds copies of layers ``k+1..L`` and the final LayerNorm, recomputes states
  ``k+1..L`` from state ``k`` (:meth:`~ser_core.encoders.WhisperEncoderWrapper.run_layers`,
  padded frames masked) and the head mixes states ``k..L``. Same numbers as fine-tune mode up to
  the cache's float16 rounding of state ``k``, a fraction of the cost; the checkpoint holds the
  same tensors (head + top layers). ``layers`` may add lower cached states for the head to mix
  (every one is then read from the cache); the feature cache cuts state ``k`` out of an existing
  all-layer entry rather than running the encoder again.

Explanations: every frame of the head's input gets a relevance (:meth:`PretrainedSER.
frame_relevance`: the pooling weights with attentive pooling, else input × gradient of the
target logit). ``explain(states)`` in the two cached modes returns that relevance over the frames
(the states carry no attention maps); ``explain(waveform)`` in fine-tune mode and
:meth:`~PretrainedSER.explain_signal` in every mode carry it back to the input frames through
attention rollout over the encoder's self-attention (Abnar & Zuidema, ACL 2020), mixed over the
layers with the head's layer weights: one map over the clip's frames (50 per second). With
``finetune_from_cache`` the rollout takes the cached encoder's attention below layer ``k`` and
the model's own fine-tuned layers' attention above.

Speaker adaptation (``speaker_adapted=True``) only labels a head trained on states normalised per
speaker by :class:`ser_core.adaptation.SpeakerNormalizer`; its numbers are reported apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ser_core.errors import CheckpointError
from ser_core.features.config import FeatureConfig, WaveformConfig
from ser_core.features.encoder_states import EncoderSpec, cached_encoder

from ._base import SERModel
from ._config import ModelConfig
from ._encoder_head import EncoderHead, PretrainedSERConfig, SignalEncoding, SignalExplanation

# Encoder runs and explanations live in a mixin, build-time helpers in a sibling module; the
# names this module has always offered (attention_rollout included) still import from here.
from ._encoder_run import EncoderRunMixin
from ._encoder_setup import _encoder_version, _resolve_encoder, _top_layers
from ._explain import attention_rollout
from ._layers import valid_lengths
from ._registry import register_model

if TYPE_CHECKING:
    from ser_core.encoders import SpeechEncoder

__all__ = [
    "EncoderHead",
    "PretrainedSER",
    "PretrainedSERConfig",
    "SignalEncoding",
    "SignalExplanation",
    "attention_rollout",
    "pretrained",
    "wav2vec2",
    "whisper_base",
    "whisper_tiny",
]

REFERENCE = (
    "Pretrained encoder + shared head: learned weighted layer sum (SUPERB, Yang et al., "
    "Interspeech 2021; EmoBox, Ma et al., Interspeech 2024), statistics or attentive statistics "
    "pooling (Okabe, Koshinaka & Shinoda, Interspeech 2018), MLP. Encoders: Whisper (Radford et "
    "al., ICML 2023), wav2vec 2.0 (Baevski et al., NeurIPS 2020), HuBERT, WavLM. Explanations: "
    "attention rollout (Abnar & Zuidema, ACL 2020)"
)


class PretrainedSER(EncoderRunMixin, SERModel):
    """A pretrained speech encoder's hidden states → the shared head (see the module docstring)."""

    input_kind = "states"
    default_features: ClassVar[str] = "encoder_states"
    supports_variable_length: ClassVar[bool] = True
    explanation: ClassVar[str] = "attention"
    reference: ClassVar[str] = REFERENCE
    config_class: ClassVar[type[ModelConfig]] = PretrainedSERConfig
    default_name: ClassVar[str] = "pretrained"
    config: PretrainedSERConfig

    def __init__(self, config: PretrainedSERConfig, num_classes: int) -> None:
        spec = _resolve_encoder(config)
        super().__init__(config, num_classes)
        self.spec: EncoderSpec | None = spec
        assert config.encoder_layers is not None and config.encoder_dim is not None
        num_states = config.encoder_layers + 1
        #: hidden states in the model's input (cached modes), in input order
        self.input_indices = config.states_config().layer_indices(num_states)
        #: hidden states the head mixes, in order (the input's, then any recomputed ones)
        self.state_indices = list(self.input_indices)
        self.from_cache = config.finetune_from_cache
        if self.from_cache:
            config.layers = tuple(self.input_indices)  # "all" → (k,): the saved config says so
            k = config.first_tuned_state
            self.state_indices += list(range(k + 1, num_states))
        self.head = EncoderHead(len(self.state_indices), config.encoder_dim, num_classes, config)
        self.encoder: SpeechEncoder | None = None
        self._trainable_modules: list[str] = []
        if self.input_kind == "waveform" or self.from_cache:
            from ser_core.encoders import WhisperEncoderWrapper, load_encoder

            encoder = load_encoder(config.encoder, allow_download=config.allow_download)
            if encoder.num_layers != config.encoder_layers or (
                encoder.hidden_size != config.encoder_dim
            ):
                raise CheckpointError(
                    f"{config.encoder} has {encoder.num_layers} layers of width "
                    f"{encoder.hidden_size}, the config says {config.encoder_layers} × "
                    f"{config.encoder_dim}"
                )
            if self.from_cache:
                if not isinstance(encoder, WhisperEncoderWrapper):
                    raise CheckpointError(
                        f"finetune_from_cache supports Whisper encoders only, not "
                        f"{config.encoder} ({type(encoder).__name__})"
                    )
                # The cached states replace every layer below k: only the top layers are kept
                # (get_encoder() gives the whole per-process encoder for explanations).
                for index in range(config.first_tuned_state):
                    encoder.encoder.layers[index] = nn.Identity()
            self.encoder = encoder
            self._trainable_modules = _top_layers(encoder, config.finetune_layers)
            encoder.requires_grad_(False)
            for name in self._trainable_modules:
                encoder.get_submodule(name).requires_grad_(True)
            self.train(self.training)
        elif config.allow_download and config.encoder.startswith("hf:"):
            cached_encoder(config.encoder, allow_download=True)  # fetch once, reused by features

    # ------------------------------------------------------------------ description
    @property
    def frames_per_second(self) -> float:
        """Encoder frames per second (50 for Whisper; 50 for wav2vec2-style, first at 12.5 ms)."""
        return self.spec.frames_per_second if self.spec is not None else 50.0

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Centre time (s) of each of ``n_frames`` encoder frames."""
        if self.spec is not None:
            return self.spec.frame_times(n_frames)
        return np.arange(n_frames) / self.frames_per_second

    def feature_config(self) -> FeatureConfig:
        """The feature whose output this model takes: encoder states (frozen; with
        ``finetune_from_cache`` only the states up to ``k``) or the waveform."""
        if self.input_kind == "waveform":
            return WaveformConfig(sample_rate=self.config.sample_rate)
        return self.config.states_config()

    @classmethod
    def feature_defaults(cls, config: ModelConfig) -> dict[str, Any]:
        """Frozen mode reads this encoder's states; waveform mode the plain waveform."""
        assert isinstance(config, PretrainedSERConfig)
        if config.features == "waveform":
            return {}
        params = config.states_config().to_dict()
        params.pop("kind")
        return params

    @property
    def min_input_length(self) -> int:
        if self.input_kind == "waveform" and self.encoder is not None:
            return int(self.encoder.min_samples)
        return 1

    def card(self) -> dict[str, Any]:
        card = super().card()
        n = self.config.finetune_layers
        if self.from_cache:
            card["mode"] = (
                f"fine-tune top {n} layer(s) on cached states of layer {self.first_tuned_state}"
            )
        elif n:
            card["mode"] = f"fine-tune top {n} layer(s)"
        else:
            card["mode"] = (
                "frozen encoder inside" if self.encoder is not None else "frozen (cached states)"
            )
        card["encoder"] = self.config.encoder
        if self.config.trim_db is not None:
            card.setdefault("notes", []).append(
                "the encoder sees each clip without its leading and trailing silence (frames "
                f"more than {self.config.trim_db:g} dB below the loudest), in training and at "
                "inference"
            )
        if self.config.speaker_adapted:
            card["adaptation"] = "speaker-adapted"
        return card

    @property
    def first_tuned_state(self) -> int:
        """``finetune_from_cache``: ``k``, the cached hidden state the model's layers start from."""
        return self.config.first_tuned_state

    def get_encoder(self) -> SpeechEncoder:
        """The encoder: the model's own (waveform input) or the per-process cached one (also
        with ``finetune_from_cache``, whose own copy lacks the layers below ``k``)."""
        if self.encoder is not None and self.input_kind == "waveform":
            return self.encoder
        return cached_encoder(self.config.encoder, allow_download=self.config.allow_download)

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups: the head at ``lr``, fine-tuned encoder layers at
        ``lr * encoder_lr_scale``; weight decay from the config."""
        head = [p for p in self.head.parameters() if p.requires_grad]
        groups: list[dict[str, Any]] = [
            {"params": head, "lr": lr, "weight_decay": self.config.weight_decay}
        ]
        if self.encoder is not None:
            encoder = [p for p in self.encoder.parameters() if p.requires_grad]
            if encoder:
                groups.append(
                    {
                        "params": encoder,
                        "lr": lr * self.config.encoder_lr_scale,
                        "weight_decay": self.config.weight_decay,
                    }
                )
        return groups

    def train(self, mode: bool = True) -> PretrainedSER:
        """Set train/eval mode; the frozen part of an inner encoder always stays in eval mode
        (no dropout, LayerDrop or SpecAugment masking below the fine-tuned layers)."""
        super().train(mode)
        if self.encoder is not None:
            self.encoder.eval()
            for name in self._trainable_modules:
                self.encoder.get_submodule(name).train(mode)
        return self

    # ------------------------------------------------------------------ input checks
    def check_input(
        self, x: Tensor, lengths: Tensor | Sequence[int] | None
    ) -> tuple[Tensor, Tensor | None]:
        """Validate states ``(B, L, D, T)`` (frozen) or waveforms ``(B, T)`` (encoder inside).

        Raises:
            ValueError: wrong shape (says which feature config produces the right one) or
                lengths outside ``[1, T]``.
        """
        if self.input_kind != "states":
            return super().check_input(x, lengths)
        if not isinstance(x, Tensor):
            x = torch.as_tensor(np.asarray(x))
        reference = next(self.parameters())
        x = x.to(device=reference.device, dtype=reference.dtype)
        expected = (len(self.input_indices), self.config.encoder_dim)
        if x.ndim != 4 or tuple(x.shape[1:3]) != expected:
            hint = " (add a batch dimension: x.unsqueeze(0))" if x.ndim == 3 else ""
            raise ValueError(
                f"{self.model_name or type(self).__name__} takes encoder states shaped "
                f"(B, {expected[0]}, {expected[1]}, T) from {self.config.states_config()}; got "
                f"{tuple(x.shape)}{hint}"
            )
        lens = valid_lengths(x, lengths)
        if lens is not None:
            lens = lens.view(-1)
            if lens.shape != (x.shape[0],):
                raise ValueError(
                    f"lengths must have shape ({x.shape[0]},), got {tuple(lens.shape)}"
                )
            if bool((lens > x.shape[-1]).any()) or bool((lens < 1).any()):
                raise ValueError(f"lengths must lie in [1, {x.shape[-1]}], got {lens.tolist()}")
        return x, lens

    # ------------------------------------------------------------------ forward
    def _states(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Head input ``(B, L, D, T)`` and frame lengths from the model's input."""
        if self.input_kind == "states":
            if self.from_cache:
                return self._tuned_states(x, lengths)[0], lengths
            return x, lengths
        out = self.encoder_output(x, lengths)
        return self._head_input(out), out.lengths

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        states, frame_lengths = self._states(x, lengths)
        return self.head.embed(states, frame_lengths)[0]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head.mlp(features, pre_logits=pre_logits)

    @property
    def has_fixed_summary(self) -> bool:
        """Frozen per-layer heads: the layer statistics are fixed, only what follows trains
        (not with ``finetune_from_cache``, whose top states change as the layers train)."""
        return self.head.per_layer and self.input_kind == "states" and not self.from_cache

    def fixed_summary(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        if not self.has_fixed_summary:
            return super().fixed_summary(x, lengths)
        x, lens = self.check_input(x, lengths)
        return self.head.layer_statistics(x, lens)[0]

    def forward_summary(self, summary: Tensor) -> Tensor:
        if not self.has_fixed_summary:
            return super().forward_summary(summary)
        return self.head.mlp(self.head.embed_statistics(summary))

    # ------------------------------------------------------------------ persistence
    def _saved_keys(self) -> list[str]:
        """State-dict keys a checkpoint stores: the head and the fine-tuned encoder modules."""
        prefixes = tuple(f"encoder.{name}." for name in self._trainable_modules)
        keys = self.state_dict()
        return [k for k in keys if not k.startswith("encoder.") or k.startswith(prefixes)]

    def _checkpoint_extra(self) -> dict[str, Any]:
        """Where the encoder's frozen weights come from: they are not copied into the
        checkpoint; loading rebuilds them from the packaged Whisper weights or the ``hf:``
        checkpoint named in the config."""
        info: dict[str, Any] = {
            "encoder": self.config.encoder,
            "stored": (
                f"head + top {self.config.finetune_layers} encoder layer(s)"
                if self._trainable_modules
                else "head only"
            ),
        }
        version = _encoder_version(self.config.encoder)
        if version:
            info["weights_package"] = version
        return {"encoder_weights": info}

    def named_trainable_encoder_modules(self) -> Iterator[tuple[str, nn.Module]]:
        """The fine-tuned encoder modules (empty in frozen mode)."""
        if self.encoder is None:
            return iter(())
        return ((name, self.encoder.get_submodule(name)) for name in self._trainable_modules)


def _build(
    num_classes: int, defaults: Mapping[str, Any], config: Mapping[str, Any]
) -> PretrainedSER:
    return PretrainedSER(PretrainedSERConfig.from_dict({**defaults, **config}), num_classes)


# ---------------------------------------------------------------------------- registry
@register_model(PretrainedSER)
def pretrained(num_classes: int, **config: Any) -> PretrainedSER:
    """Any pretrained encoder by name (whisper_base default, hf:<hub-id-or-folder>) + the head."""
    return _build(num_classes, {}, config)


@register_model(PretrainedSER, encoder="whisper_base")
def whisper_base(num_classes: int, **config: Any) -> PretrainedSER:
    """Whisper base encoder (packaged weights) + weighted layers, statistics pooling, MLP."""
    return _build(num_classes, {"encoder": "whisper_base"}, config)


@register_model(PretrainedSER, encoder="whisper_tiny")
def whisper_tiny(num_classes: int, **config: Any) -> PretrainedSER:
    """Whisper tiny.en encoder (packaged weights) + weighted layers, statistics pooling, MLP."""
    return _build(num_classes, {"encoder": "whisper_tiny"}, config)


@register_model(PretrainedSER, encoder="hf:facebook/wav2vec2-base")
def wav2vec2(num_classes: int, **config: Any) -> PretrainedSER:
    """wav2vec 2.0 base (hf:facebook/wav2vec2-base, local weights needed) + the shared head."""
    return _build(num_classes, {"encoder": "hf:facebook/wav2vec2-base"}, config)
