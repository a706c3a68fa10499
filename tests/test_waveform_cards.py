"""Model-card facts of the CPU-sized raw-waveform seed models (issue 21)."""

from __future__ import annotations

from ser_core.models import create_model


def test_cpu_sized_serct_card_lists_its_reductions_and_the_full_size() -> None:
    model = create_model("serct", num_classes=7, conv_channels=32, d_model=96, num_heads=4)
    card = model.card()
    reduction = card["notes"][1]
    assert "conv_channels 32 (full size: 512)" in reduction
    assert "d_model 96 (full size: 1024)" in reduction
    assert "num_layers 4" not in reduction  # 4 layers: the full size, not a reduction
    assert "--device cuda" in reduction
    assert card["ua_targets"] == {"emodb": 0.50, "ravdess": 0.35}
    assert card["shortfall_reasons"] and "CPU budget" in card["shortfall_reasons"][0]


def test_full_size_cnn1d_lstm_card_claims_no_reduction() -> None:
    card = create_model("cnn1d_lstm", num_classes=7).card()
    assert len(card["notes"]) == 1 and "from scratch" in card["notes"][0]
    assert card["shortfall_reasons"] == []
    reduced = create_model("cnn1d_lstm", num_classes=7, channels=[32, 32, 64, 64]).card()
    assert "channels [32, 32, 64, 64] (full size: [64, 64, 128, 128])" in reduced["notes"][1]
