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
from ser_core.features.encoder_states import (
    EncoderSpec,
    cached_encoder,
    encoder_spec,
    select_states,
)

from ._base import SERModel
from ._config import ModelConfig
from ._encoder_head import EncoderHead, PretrainedSERConfig, SignalEncoding, SignalExplanation
from ._explain import attention_rollout, input_x_gradient, resample_time
from ._layers import lengths_to_mask, valid_lengths
from ._pooling import (
    AttentiveStatisticsPooling,
)
from ._registry import register_model

if TYPE_CHECKING:
    from ser_core.encoders import EncoderOutput, SpeechEncoder

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


class PretrainedSER(SERModel):
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
    def encoder_output(
        self, x: Tensor, lengths: Tensor | None, output_attentions: bool = False
    ) -> EncoderOutput:
        """Run the inner encoder on waveforms ``(B, T)`` (fine-tune mode).

        wav2vec2-style encoders without attention masks (group-norm models such as
        wav2vec2-base) see each clip alone, so padding never changes a clip's states.
        """
        from ser_core.encoders import EncoderOutput, HFSpeechEncoder

        encoder = self.encoder
        if encoder is None:
            raise ValueError("this model takes encoder states; it has no encoder inside")
        n = x.shape[0]
        sizes = [x.shape[1]] * n if lengths is None else [int(v) for v in lengths]
        clips = [x[i, : sizes[i]] for i in range(n)]
        device = x.device
        if isinstance(encoder, HFSpeechEncoder) and not encoder.uses_attention_mask and n > 1:
            outs = [self._run_encoder([clip], device, output_attentions) for clip in clips]
            steps = max(o.hidden_states.shape[2] for o in outs)
            states = outs[0].hidden_states.new_zeros(
                n, outs[0].hidden_states.shape[1], steps, outs[0].hidden_states.shape[3]
            )
            for i, o in enumerate(outs):
                states[i, :, : o.hidden_states.shape[2]] = o.hidden_states[0]
            attentions = None
            if output_attentions:
                attentions = tuple(
                    torch.cat(
                        [
                            nn.functional.pad(
                                o.attentions[layer],  # type: ignore[index]
                                (0, steps - o.hidden_states.shape[2]) * 2,
                            )
                            for o in outs
                        ]
                    )
                    for layer in range(encoder.num_layers)
                )
            return EncoderOutput(states, torch.cat([o.lengths for o in outs]), attentions)
        return self._run_encoder(clips, device, output_attentions)

    def _run_encoder(
        self, clips: Sequence[Tensor], device: torch.device, output_attentions: bool
    ) -> EncoderOutput:
        assert self.encoder is not None
        inputs, input_lengths = self.encoder.prepare(clips)
        return self.encoder(inputs.to(device), input_lengths.to(device), output_attentions)

    def _states(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Head input ``(B, L, D, T)`` and frame lengths from the model's input."""
        if self.input_kind == "states":
            if self.from_cache:
                return self._tuned_states(x, lengths)[0], lengths
            return x, lengths
        out = self.encoder_output(x, lengths)
        return self._head_input(out), out.lengths

    def _tuned_states(
        self, x: Tensor, lengths: Tensor | None, output_attentions: bool = False
    ) -> tuple[Tensor, tuple[Tensor, ...] | None]:
        """``finetune_from_cache``: the cached states ``x`` (B, S, D, T) followed by states
        ``k+1..L`` recomputed from state ``k`` by the model's layers; and their attentions."""
        from ser_core.encoders import WhisperEncoderWrapper

        assert isinstance(self.encoder, WhisperEncoderWrapper)
        start = x[:, self.input_indices.index(self.first_tuned_state)].transpose(1, 2)
        top, attentions = self.encoder.run_layers(
            start.contiguous(), self.first_tuned_state, lengths, output_attentions
        )
        return torch.cat([x, top.transpose(2, 3)], dim=1), attentions

    def _head_input(self, out: EncoderOutput) -> Tensor:
        """The mixed hidden states of an encoder run, time last: ``(B, L, D, T)``."""
        return out.hidden_states[:, self.state_indices].transpose(2, 3)

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

    # ------------------------------------------------------------------ explanation
    def frame_relevance(
        self,
        states: Tensor,
        lengths: Tensor | None = None,
        target: int | Sequence[int] | None = None,
    ) -> Tensor:
        """How much each frame of the head's input drives the prediction → (B, T), sums to 1.

        With attentive pooling these are the pooling weights; with plain statistics (uniform
        weights, which say nothing) the input × gradient of the target class's logit, summed
        over layers and dimensions (Shrikumar et al. 2016).

        Args:
            states: head input ``(B, L, D, T)``.
            lengths: valid frames per item.
            target: class per item for the gradient (default: the predicted class).
        """
        if isinstance(self.head.pool, AttentiveStatisticsPooling):
            with torch.no_grad():
                return self.head.embed(states, lengths)[1].float()
        saliency = input_x_gradient(
            lambda s: self.forward_head(self.head.embed(s, lengths)[0]), states, target
        ).sum(dim=(1, 2))
        if lengths is not None:
            saliency = saliency * lengths_to_mask(lengths, saliency.shape[1]).to(saliency.dtype)
        return (saliency / saliency.sum(dim=1, keepdim=True).clamp_min(1e-12)).float()

    def _explain_maps(
        self, x: Tensor, lengths: Tensor | None, target: int | Sequence[int] | None
    ) -> Tensor:
        """States in: :meth:`frame_relevance` over the frames (B, T). Waveforms in: the relevance
        carried back to the input frames by attention rollout, stretched over the samples."""
        if self.input_kind == "states":
            if self.from_cache:
                with torch.no_grad():
                    x = self._tuned_states(x, lengths)[0]
            return self.frame_relevance(x, lengths, target)
        with torch.no_grad():
            out = self.encoder_output(x, lengths, output_attentions=True)
        relevance = self.frame_relevance(self._head_input(out), out.lengths, target)
        frame_map = self._rollout_map(relevance, out.attentions)
        return resample_time(frame_map, out.lengths, lengths, x.shape[-1])

    def _mixed_rollout(self, attentions: Sequence[Tensor] | None) -> Tensor:
        """``Σ_l α_l R_l`` (B, T', T'): the attention rollout after every hidden state the head
        mixes, weighted by the head's layer weights (R_0 = identity for the embedding output)."""
        if not attentions:
            raise ValueError("the encoder returned no attention maps")
        with torch.no_grad():
            rollouts = attention_rollout(attentions)
            alphas = self.head.layer_weights().float()
            mixed = sum(
                alpha * rollouts[index]
                for alpha, index in zip(alphas, self.state_indices, strict=True)
            )
        assert isinstance(mixed, Tensor)
        return mixed

    def _rollout_map(self, relevance: Tensor, attentions: Sequence[Tensor] | None) -> Tensor:
        """Per-frame relevance at the head's input (B, T') carried back to the input frames
        through the mixed rollout → (B, T')."""
        mixed = self._mixed_rollout(attentions)
        return torch.bmm(relevance.float().unsqueeze(1), mixed).squeeze(1)

    def explain_signal(
        self, signal: np.ndarray | Tensor, target: int | None = None
    ) -> SignalExplanation:
        """Attention rollout × frame relevance over the encoder frames of one 16 kHz clip:
        :meth:`encode_signal` then :meth:`explain_encoding` (one encoder run).

        Args:
            signal: mono 16 kHz samples.
            target: class to explain (default: the predicted one); only gradient-based relevance
                depends on it.

        Raises:
            AudioInputError: unusable signal.
        """
        return self.explain_encoding(self.encode_signal(signal), target)

    def encode_signal(self, signal: np.ndarray | Tensor) -> SignalEncoding:
        """One encoder run over a clip, with attention maps: the head's input states, the
        rollout of every piece and the class probabilities (the label is known from here on;
        :meth:`explain_encoding` finishes the explanation without running the encoder again).

        Works in every mode: a frozen head runs the per-process cached encoder on the clip (with
        attention maps) and reads the states as the ``encoder_states`` feature stores them (same
        layers, same float16 rounding); with ``finetune_from_cache`` the model's own layers then
        recompute the states above ``k``, and their attention replaces the cached encoder's in
        the rollout. Clips longer than 30 s are encoded in consecutive 30 s
        windows, as Whisper encodes them anyway; each window's rollout stays inside the window
        (for wav2vec2-style encoders, which see a long clip whole in the feature, this is an
        approximation that keeps the attention maps' memory bounded).

        Raises:
            AudioInputError: unusable signal.
        """
        from ser_core.encoders.base import as_signal

        was_training = self.training
        self.eval()
        try:
            reference = next(self.parameters())
            encoder = self.get_encoder()
            samples = as_signal(signal, encoder.min_samples)
            window = int(getattr(encoder, "max_mel_frames", 3000)) * 160  # 30 s
            pieces = [samples[i : i + window] for i in range(0, samples.numel(), window)]
            pieces = [p for p in pieces if p.numel() >= encoder.min_samples]
            states_parts, rollouts = [], []
            with torch.no_grad():
                for piece in pieces:
                    attentions: Sequence[Tensor] | None
                    if self.input_kind == "waveform":
                        out = self.encoder_output(
                            piece.view(1, -1).to(reference.device), None, True
                        )
                        states_parts.append(self._head_input(out))
                        attentions = out.attentions
                    else:
                        out = encoder.encode_batch([piece], output_attentions=True)
                        array = select_states(self.config.states_config(), out.clip(0))
                        cached = torch.from_numpy(array).to(reference).unsqueeze(0)
                        attentions = out.attentions
                        if self.from_cache:
                            cached, own = self._tuned_states(cached, None, True)
                            k = self.first_tuned_state
                            attentions = (*(out.attentions or ())[:k], *(own or ()))
                        states_parts.append(cached)
                    rollouts.append(self._mixed_rollout(attentions)[0])
                states = torch.cat(states_parts, dim=-1)
                probabilities = torch.softmax(
                    self.forward_head(self.head.embed(states, None)[0]), -1
                )
        finally:
            self.train(was_training)
        return SignalEncoding(
            states=states, rollouts=rollouts, probabilities=probabilities[0].float().cpu().numpy()
        )

    def explain_encoding(
        self, encoding: SignalEncoding, target: int | None = None
    ) -> SignalExplanation:
        """The explanation of an :meth:`encode_signal` run: the head's frame relevance for
        ``target`` (default: the predicted class) carried back through each piece's rollout."""
        was_training = self.training
        self.eval()
        try:
            relevance = self.frame_relevance(encoding.states, None, target)[0]
            segments, start = [], 0
            for mixed in encoding.rollouts:
                stop = start + mixed.shape[0]
                segments.append(relevance[start:stop] @ mixed)
                start = stop
            frame_map = torch.cat(segments).clamp_min(0)
        finally:
            self.train(was_training)
        return SignalExplanation(
            frame_map=(frame_map / frame_map.max().clamp_min(1e-12)).cpu().numpy(),
            head_map=(relevance / relevance.max().clamp_min(1e-12)).cpu().numpy(),
            times=self.frame_times(frame_map.shape[0]),
            frames_per_second=self.frames_per_second,
            probabilities=encoding.probabilities,
            labels=self.labels,
            layer_weights=self.head.layer_weights().detach().float().cpu().numpy(),
        )

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


# ---------------------------------------------------------------------------- helpers
def _resolve_encoder(config: PretrainedSERConfig) -> EncoderSpec | None:
    """Fill ``encoder_layers`` / ``encoder_dim`` from the encoder's spec (checking given ones).

    A frozen head whose ``hf:`` encoder is not available locally can still be built (and loaded)
    from the sizes saved in its config; without them the error says what is missing.
    """
    try:
        spec: EncoderSpec | None = encoder_spec(config.encoder, config.allow_download)
    except CheckpointError:
        frozen = (
            config.features == "encoder_states"
            and not config.finetune_from_cache
            and config.encoder.startswith("hf:")
        )
        if frozen and config.encoder_layers and config.encoder_dim:
            return None
        raise
    assert spec is not None
    for field_name, actual in (
        ("encoder_layers", spec.num_layers),
        ("encoder_dim", spec.hidden_size),
    ):
        given = getattr(config, field_name)
        if given is not None and given != actual:
            raise ValueError(f"{field_name}={given} does not match {config.encoder} ({actual})")
        setattr(config, field_name, actual)
    if config.finetune_layers > spec.num_layers:
        raise ValueError(
            f"finetune_layers={config.finetune_layers} exceeds the {spec.num_layers} layers of "
            f"{config.encoder}"
        )
    if config.finetune_from_cache and spec.family != "whisper":
        raise ValueError(
            f"finetune_from_cache supports Whisper encoders only; {config.encoder} is a "
            f"{spec.family} encoder (use finetune_layers without finetune_from_cache)"
        )
    return spec


def _top_layers(encoder: SpeechEncoder, count: int) -> list[str]:
    """Submodule names (relative to the encoder wrapper) of its top ``count`` layers, plus
    Whisper's final LayerNorm (which the wrapper applies to the last hidden state)."""
    if count == 0:
        return []
    from ser_core.encoders import WhisperEncoderWrapper

    if isinstance(encoder, WhisperEncoderWrapper):
        total = len(encoder.encoder.layers)
        return [f"encoder.layers.{i}" for i in range(total - count, total)] + ["encoder.layer_norm"]
    stacks = [
        name
        for name, module in encoder.named_modules()
        if isinstance(module, nn.ModuleList)
        and len(module) == encoder.num_layers
        and name.rsplit(".", 1)[-1] in ("layers", "layer")
    ]
    if not stacks:
        raise CheckpointError(f"cannot find the transformer layers of {encoder.name}")
    stack = stacks[0]
    # The final LayerNorm of "stable layer norm" models is left frozen: depending on the
    # transformers release it is or is not applied to the last entry of hidden_states.
    return [f"{stack}.{i}" for i in range(encoder.num_layers - count, encoder.num_layers)]


def _encoder_version(name: str) -> str:
    """``dist==version`` of the package a packaged encoder's weights came from ('' for hf:)."""
    try:
        from ser_core.encoders import WHISPER_SOURCES

        source = WHISPER_SOURCES.get(name)
        return source.installed() if source is not None else ""
    except Exception:  # the version is informative only
        return ""


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
