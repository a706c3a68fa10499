"""``hf:<name-or-path>`` encoders: local ``transformers`` checkpoints of wav2vec2-style or Whisper.

wav2vec2, HuBERT, WavLM (and their relatives that share the raw-waveform interface: data2vec-audio,
UniSpeech, wav2vec2-conformer, SEW) are wrapped in :class:`HFSpeechEncoder`; a Whisper checkpoint
of any size gets its encoder wrapped in :class:`~ser_core.encoders.whisper.WhisperEncoderWrapper`,
so it also runs at each clip's own length.

Nothing is downloaded unless the caller passes ``allow_download=True``: model hubs are unreachable
from the project's machines, and a silent download attempt would only hang or fail obscurely.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, Wav2Vec2FeatureExtractor

from ser_core.encoders.base import EncoderOutput, SpeechEncoder, as_signal, frame_mask
from ser_core.encoders.whisper import WhisperEncoderWrapper
from ser_core.errors import AudioInputError, CheckpointError

#: ``config.model_type`` values that take raw 16 kHz waveforms and return ``hidden_states``.
WAVEFORM_MODEL_TYPES = frozenset(
    {
        "wav2vec2",
        "wav2vec2-conformer",
        "hubert",
        "wavlm",
        "data2vec-audio",
        "unispeech",
        "unispeech-sat",
        "sew",
        "sew-d",
    }
)


class HFSpeechEncoder(SpeechEncoder):
    """A wav2vec2-style ``transformers`` model returning every hidden state.

    ``forward(input_values, lengths)`` takes a ``(batch, samples)`` batch prepared by the model's
    feature extractor (see :meth:`prepare`) and each clip's sample count. When the extractor uses
    attention masks (models with layer-norm feature encoders, e.g. wav2vec2-large, WavLM) padding
    is masked; otherwise (group-norm models such as wav2vec2-base) the model was trained on
    zero-padded batches without masks, so padding slightly changes the valid frames — encode such
    clips one by one (:meth:`encode`) when exactness matters.

    Attributes:
        model: the wrapped ``transformers`` model.
        feature_extractor: its ``Wav2Vec2FeatureExtractor``.
    """

    def __init__(
        self, model: nn.Module, feature_extractor: Wav2Vec2FeatureExtractor, name: str
    ) -> None:
        super().__init__()
        self.model = model
        self.feature_extractor = feature_extractor
        self.name = name
        config = model.config
        self.num_layers = int(config.num_hidden_layers)
        self.hidden_size = int(config.hidden_size)
        self.frames_per_second = self.sample_rate / float(np.prod(config.conv_stride))
        # Shortest input giving one frame: the convolutional front end's receptive field.
        receptive = 1
        for kernel, stride in reversed(
            list(zip(config.conv_kernel, config.conv_stride, strict=True))
        ):
            receptive = (receptive - 1) * stride + kernel
        self.min_samples = receptive
        self.uses_attention_mask = bool(getattr(feature_extractor, "return_attention_mask", False))

    def output_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        """Frames the model outputs for clips of ``sample_lengths`` samples."""
        return self.model._get_feat_extract_output_lengths(sample_lengths).to(torch.long)

    def prepare(
        self, signals: Sequence[np.ndarray | torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised, zero-padded ``(batch, samples)`` input values and sample counts."""
        if not signals:
            raise AudioInputError("no signals to encode", reason="empty")
        clips = [as_signal(s, self.min_samples).numpy() for s in signals]
        features = self.feature_extractor(
            clips, sampling_rate=self.sample_rate, padding=True, return_tensors="pt"
        )
        lengths = torch.tensor([len(c) for c in clips], dtype=torch.long)
        return features["input_values"].to(torch.float32), lengths

    def forward(  # type: ignore[override]
        self,
        input_values: torch.Tensor,
        lengths: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> EncoderOutput:
        """Every hidden state of a batch (see :class:`~ser_core.encoders.base.EncoderOutput`)."""
        batch, samples = input_values.shape
        if lengths is None:
            lengths = torch.full((batch,), samples, dtype=torch.long)
        lengths = lengths.to(device=input_values.device, dtype=torch.long)
        mask = None
        if self.uses_attention_mask:
            mask = frame_mask(lengths, samples).to(torch.long)
        restore = self._eager_attention() if output_attentions else None
        try:
            out = self.model(
                input_values,
                attention_mask=mask,
                output_hidden_states=True,
                output_attentions=output_attentions,
                return_dict=True,
            )
        finally:
            if restore is not None:
                self.model.set_attn_implementation(restore)
        states = torch.stack(tuple(out.hidden_states), dim=1)  # (batch, L + 1, T, d)
        frame_lengths = self.output_lengths(lengths).clamp(max=states.shape[2])
        states = states * frame_mask(frame_lengths, states.shape[2])[:, None, :, None]
        attentions = tuple(out.attentions) if output_attentions else None
        return EncoderOutput(states, frame_lengths, attentions)

    def _eager_attention(self) -> str | None:
        """Switch to eager attention (SDPA cannot return weights); returns what to restore."""
        current = getattr(self.model.config, "_attn_implementation", None)
        if current in (None, "eager"):
            return None
        if not hasattr(self.model, "set_attn_implementation"):
            raise CheckpointError(
                "this transformers release cannot switch attention implementation: load the "
                "encoder with attn_implementation='eager' to get attention weights"
            )
        self.model.set_attn_implementation("eager")
        return current


def _not_local(name_or_path: str, error: Exception) -> CheckpointError:
    return CheckpointError(
        f"cannot load the transformers checkpoint {name_or_path!r} from local files ({error}). "
        "Give a folder holding config.json + model weights (+ preprocessor_config.json), or a hub "
        "id already in the local Hugging Face cache; pass allow_download=True to let transformers "
        "download it."
    )


def load_hf_encoder(
    name_or_path: str | Path,
    device: str | torch.device = "cpu",
    allow_download: bool = False,
    attn_implementation: str | None = None,
) -> SpeechEncoder:
    """Load a ``transformers`` speech model as a :class:`SpeechEncoder`, offline by default.

    Args:
        name_or_path: a checkpoint folder or a hub id (found in the local HF cache).
        device: where to put the model.
        allow_download: let ``transformers`` fetch missing files; otherwise every call uses
            ``local_files_only=True`` and no network connection is attempted.
        attn_implementation: forwarded to ``from_pretrained`` (``"eager"``, ``"sdpa"``, ...).

    Returns:
        :class:`HFSpeechEncoder` for wav2vec2-style models, :class:`WhisperEncoderWrapper` (encoder
        only) for Whisper; in eval mode.

    Raises:
        CheckpointError: not available locally, or a model type without a speech-encoder interface.
    """
    source = str(name_or_path)
    local_only = not allow_download
    kwargs: dict[str, object] = {"local_files_only": local_only}
    try:
        config = AutoConfig.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as error:
        raise _not_local(source, error) from error
    model_type = getattr(config, "model_type", "")
    if model_type != "whisper" and model_type not in WAVEFORM_MODEL_TYPES:
        raise CheckpointError(
            f"{source!r} is a {model_type!r} model; hf: encoders support Whisper and "
            f"{', '.join(sorted(WAVEFORM_MODEL_TYPES))}"
        )
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    try:
        model = AutoModel.from_pretrained(source, config=config, **kwargs)
    except (OSError, ValueError) as error:
        raise _not_local(source, error) from error
    try:
        extractor = AutoFeatureExtractor.from_pretrained(source, local_files_only=local_only)
    except (OSError, ValueError):
        extractor = None
    name = f"hf:{source}"

    if model_type == "whisper":
        encoder = model.get_encoder() if hasattr(model, "get_encoder") else model.encoder
        filters = getattr(extractor, "mel_filters", None)
        if filters is None:
            warnings.warn(
                f"{source}: no WhisperFeatureExtractor found; using the standard Slaney mel "
                f"filterbank with {config.num_mel_bins} bins",
                stacklevel=2,
            )
        else:
            filters = np.asarray(filters, dtype=np.float32).T  # stored (freqs, mels)
        wrapper: SpeechEncoder = WhisperEncoderWrapper(encoder, name=name, mel_filters=filters)
    else:
        if not isinstance(extractor, Wav2Vec2FeatureExtractor):
            # wav2vec2-family checkpoints without a preprocessor config: the library's defaults,
            # with masks exactly when the model has layer-norm feature encoders.
            warnings.warn(
                f"{source}: no Wav2Vec2FeatureExtractor found; using defaults (normalised input)",
                stacklevel=2,
            )
            extractor = Wav2Vec2FeatureExtractor(
                return_attention_mask=getattr(config, "feat_extract_norm", "") == "layer"
            )
        wrapper = HFSpeechEncoder(model, extractor, name=name)
    return wrapper.to(device).eval()
