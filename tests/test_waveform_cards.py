"""Model-card facts of the from-scratch seed models, CPU-sized ones included (issue 21)."""

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
    assert len(card["notes"]) == 1 and "no external pretrained weights" in card["notes"][0]
    assert card["shortfall_reasons"] == []
    reduced = create_model("cnn1d_lstm", num_classes=7, channels=[32, 32, 64, 64]).card()
    assert "channels [32, 32, 64, 64] (full size: [64, 64, 128, 128])" in reduced["notes"][1]


def test_every_from_scratch_seed_model_states_its_targets_and_why_it_may_miss_them() -> None:
    from ser_core.training.card import _target_lines

    seeds = ("cnn", "lstm", "cnn_lstm", "cnn_bilstm", "cnn_bilstm_attn", "vit", "mlp", "svm")
    for name in seeds:
        card = create_model(name, num_classes=7).card()
        assert card["ua_targets"] == {"emodb": 0.50, "ravdess": 0.35}, name
        assert card["shortfall_reasons"], name
        data = {"corpora": ["emodb"], "n_train": 359, "train_speakers": list("abc")}
        missed = _target_lines(card, data, {"test": {"ua": 0.393}})
        assert "missed by 10.7 points" in missed[0] and card["shortfall_reasons"][0] in missed[0]
        assert "met (51.0 %)" in _target_lines(card, data, {"test": {"ua": 0.51}})[0]
    # The pretrained encoders' heads are not from-scratch seeds: no such target.
    assert "ua_targets" not in create_model("whisper_tiny", num_classes=7).card()
