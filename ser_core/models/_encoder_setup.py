"""Build-time helpers of :class:`~ser_core.models.pretrained.PretrainedSER`: the encoder's spec
checked against the config, the encoder modules fine-tuning trains, and the weights package a
checkpoint names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from ser_core.errors import CheckpointError
from ser_core.features.encoder_states import EncoderSpec, encoder_spec

from ._encoder_head import PretrainedSERConfig

if TYPE_CHECKING:
    from ser_core.encoders import SpeechEncoder


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
