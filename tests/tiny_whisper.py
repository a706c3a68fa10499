"""A tiny randomly initialised Whisper checkpoint (config, weights, feature extractor) in a folder,
for tests that load ``hf:<folder>`` encoders without any download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def tiny_whisper_config(encoder_layers: int = 2, max_source_positions: int = 1500) -> Any:
    """A ``WhisperConfig`` of width 32 (4 heads, FFN 64, 80 mel bins) with ``encoder_layers``
    encoder layers and ``max_source_positions`` encoder positions (1500 = Whisper's 30 s)."""
    import transformers as tf

    return tf.WhisperConfig(
        d_model=32,
        encoder_layers=encoder_layers,
        encoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_layers=1,
        decoder_attention_heads=4,
        decoder_ffn_dim=64,
        num_mel_bins=80,
        vocab_size=100,
        max_source_positions=max_source_positions,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )


def save_tiny_whisper(
    folder: Path, encoder_layers: int = 2, max_source_positions: int = 1500
) -> Path:
    """Write a Whisper of width 32 (4 heads, FFN 64) with ``encoder_layers`` encoder layers and
    ``max_source_positions`` encoder positions (1500 = Whisper's 30 s window), seeded."""
    import transformers as tf

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    config = tiny_whisper_config(encoder_layers, max_source_positions)
    tf.WhisperModel(config).save_pretrained(folder)
    tf.WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder
