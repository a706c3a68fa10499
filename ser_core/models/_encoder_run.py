"""What :class:`~ser_core.models.pretrained.PretrainedSER` does with its encoder's outputs.

:class:`EncoderRunMixin` runs the encoder inside the model (fine-tune mode), recomputes the top
layers from cached states (``finetune_from_cache``) and carries the head's frame relevance back
through the encoder's self-attention (attention rollout) for explanations; see the module
docstring of :mod:`ser_core.models.pretrained`, which keeps the model's construction,
description, forward pass and persistence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from ser_core.features.encoder_states import select_states

from ._encoder_head import EncoderHead, PretrainedSERConfig, SignalEncoding, SignalExplanation
from ._explain import attention_rollout, input_x_gradient, resample_time
from ._layers import lengths_to_mask
from ._pooling import AttentiveStatisticsPooling

if TYPE_CHECKING:
    from ser_core.encoders import EncoderOutput, SpeechEncoder

    from ._base import SERModel

    # Type checkers see the SERModel (nn.Module) side the mixin runs on; at run time it is a
    # plain class, placed before SERModel in PretrainedSER's bases.
    _Host = SERModel
else:
    _Host = object

__all__ = ["EncoderRunMixin"]


class EncoderRunMixin(_Host):
    """Encoder runs and explanations of :class:`~ser_core.models.pretrained.PretrainedSER`.

    The host sets the attributes declared below in its ``__init__``; coming first in its bases,
    the mixin's :meth:`_explain_maps` replaces ``SERModel``'s input × gradient default.
    """

    if TYPE_CHECKING:  # provided by PretrainedSER
        config: PretrainedSERConfig
        head: EncoderHead
        encoder: SpeechEncoder | None
        input_indices: list[int]
        state_indices: list[int]
        from_cache: bool

        @property
        def first_tuned_state(self) -> int: ...

        @property
        def frames_per_second(self) -> float: ...

        def frame_times(self, n_frames: int) -> np.ndarray: ...

        def get_encoder(self) -> SpeechEncoder: ...

    # ------------------------------------------------------------------ encoder runs
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
            start = 0
            if self.input_kind != "waveform":  # the cached states' trim (``trim_db``)
                start, stop = self.config.states_config().encoder_span(samples.numpy())
                samples = samples[start:stop]
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
            states=states,
            rollouts=rollouts,
            probabilities=probabilities[0].float().cpu().numpy(),
            start_seconds=start / self.config.sample_rate,
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
            times=self.frame_times(frame_map.shape[0]) + encoding.start_seconds,
            frames_per_second=self.frames_per_second,
            probabilities=encoding.probabilities,
            labels=self.labels,
            layer_weights=self.head.layer_weights().detach().float().cpu().numpy(),
        )
