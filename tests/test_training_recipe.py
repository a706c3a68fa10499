"""The small-data recipe's trainer options (issue 21): linear warm-up before the scheduler, label
smoothing and mixup, each checked against its definition, then through a real training run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from synthetic_runs import cnn_config, corpus  # noqa: F401 (corpus is a fixture)

from ser_core.cli import build_parser
from ser_core.cli.train import train_config_from_args
from ser_core.training import TrainConfig, TrainConfigError, loop, train
from ser_core.training._optim import WarmUp, mixup, regularised_loss, weight_average


def test_warm_up_ramps_each_group_linearly_then_leaves_the_rate_alone() -> None:
    weights = torch.nn.Parameter(torch.zeros(2))
    bias = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [weights], "lr": 0.4}, {"params": [bias], "lr": 0.1}])
    warm_up = WarmUp(optimizer, steps=4)
    seen = []
    for _ in range(6):
        warm_up.before_step()
        seen.append([group["lr"] for group in optimizer.param_groups])
    expected = [[0.1, 0.025], [0.2, 0.05], [0.3, 0.075], [0.4, 0.1], [0.4, 0.1], [0.4, 0.1]]
    np.testing.assert_allclose(seen, expected)
    assert not warm_up.active
    none = WarmUp(optimizer, steps=0)
    none.before_step()
    assert not none.active and optimizer.param_groups[0]["lr"] == pytest.approx(0.4)


def test_label_smoothing_matches_its_definition_with_and_without_row_weights() -> None:
    logits = torch.tensor([[4.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    y = torch.tensor([0, 1])
    eps = 0.1
    log_p = logits.log_softmax(dim=1)
    target = torch.full_like(log_p, eps / 3) + (1 - eps) * F.one_hot(y, 3)
    per_row = -(target * log_p).sum(dim=1)
    assert float(regularised_loss(logits, y, None, None, eps)) == pytest.approx(
        float(per_row.mean())
    )
    w = torch.tensor([3.0, 1.0])
    weighted = float((per_row * w).sum() / w.sum())
    assert float(regularised_loss(logits, y, None, w, eps)) == pytest.approx(weighted)
    # Smoothing never lets a confident right answer cost nothing.
    confident = torch.tensor([[30.0, 0.0, 0.0]])
    assert float(regularised_loss(confident, torch.tensor([0]), None, None, 0.0)) < 1e-6
    assert float(regularised_loss(confident, torch.tensor([0]), None, None, eps)) > 0.5


def test_mixup_blends_a_batch_with_its_own_permutation() -> None:
    rng = np.random.default_rng(0)
    x = torch.arange(4 * 2 * 5, dtype=torch.float32).reshape(4, 2, 5)
    lengths = torch.tensor([5, 2, 3, 4])
    mixed, new_lengths, perm, lam = mixup(x, lengths, 0.4, rng)
    assert 0.5 <= lam <= 1.0
    assert sorted(perm.tolist()) == [0, 1, 2, 3]
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x[perm])
    assert new_lengths.tolist() == torch.maximum(lengths, lengths[perm]).tolist()
    lams = [mixup(x, None, 0.2, rng)[3] for _ in range(200)]
    assert min(lams) >= 0.5 and np.mean(lams) < 0.95  # Beta(0.2, 0.2) folded: often near 1


def test_settings_are_validated_and_parsed_from_the_command_line() -> None:
    with pytest.raises(TrainConfigError, match="label_smoothing"):
        TrainConfig(corpora=["emodb"], label_smoothing=1.0)
    with pytest.raises(TrainConfigError, match="mixup"):
        TrainConfig(corpora=["emodb"], mixup=-0.2)
    with pytest.raises(TrainConfigError, match="warmup_epochs"):
        TrainConfig(corpora=["emodb"], epochs=3, warmup_epochs=3)
    with pytest.raises(TrainConfigError, match="ema"):
        TrainConfig(corpora=["emodb"], ema=1.0)
    recipe = ["--warmup-epochs", "1.5", "--label-smoothing", "0.1", "--mixup", "0.2"]
    recipe += ["--ema", "0.99"]
    args = build_parser().parse_args(
        ["train", "--corpus", "emodb", "--data-root", "x", "--out", "o", *recipe]
    )
    config = train_config_from_args(args)
    assert (config.warmup_epochs, config.label_smoothing, config.mixup) == (1.5, 0.1, 0.2)
    assert config.ema == 0.99
    assert {"warmup_epochs", "label_smoothing", "mixup", "ema"} <= set(config.hyperparameters())


def test_a_run_with_the_whole_recipe_warms_up_then_anneals(
    corpus: pd.DataFrame, tmp_path: Path
) -> None:
    config = cnn_config(
        epochs=4,
        warmup_epochs=1,
        scheduler="cosine",
        optimizer="adamw",
        weight_decay=0.05,
        label_smoothing=0.1,
        mixup=0.2,
        spec_augment=True,
    )
    result = train(config, tmp_path / "recipe", manifest=corpus)
    lrs = result.history["lr"].tolist()
    # Epoch 1 starts at the first warm-up step's rate (a fraction of the full one), epoch 2 at
    # the full rate, then the cosine anneals over the remaining 3 epochs.
    assert 0 < lrs[0] <= 3e-3 / 2
    assert lrs[1:] == pytest.approx([3e-3 * (1 + math.cos(math.pi * k / 3)) / 2 for k in range(3)])
    assert np.isfinite(result.history["train_loss"]).all()
    saved = TrainConfig.load(tmp_path / "recipe" / "train_config.json")
    assert (saved.warmup_epochs, saved.label_smoothing, saved.mixup) == (1, 0.1, 0.2)
    # Mixup and smoothing change what is learnt: the same run without them ends elsewhere.
    plain = train(
        config.replace(label_smoothing=0.0, mixup=0.0), tmp_path / "plain", manifest=corpus
    )
    assert plain.history["train_loss"].tolist() != result.history["train_loss"].tolist()


def test_refit_keeps_the_warm_up(corpus: pd.DataFrame, tmp_path: Path) -> None:
    config = cnn_config(epochs=3, patience=1, warmup_epochs=2, refit=True, evaluate_test=False)
    result = train(config, tmp_path / "refit", manifest=corpus)
    assert len(result.history) >= 2


def test_each_epoch_is_logged_for_runs_without_progress_bars(
    corpus: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="ser_core.training"):
        train(cnn_config(epochs=2), tmp_path / "run", manifest=corpus)
    lines = [r.getMessage() for r in caplog.records if r.name == "ser_core.training.loop"]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "validation UA" in lines[0] and "best epoch" in lines[0]


def test_weight_averaging_validates_and_keeps_the_moving_average_of_every_step(
    corpus: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decay = 0.8
    steps: list[dict[str, torch.Tensor]] = []  # the raw weights after each optimiser step
    ends: list[int] = []  # the number of steps at the end of each epoch

    def recording(model: torch.nn.Module, d: float) -> object:
        averaged = weight_average(model, d)
        update = averaged.update_parameters

        def update_parameters(m: torch.nn.Module) -> None:
            steps.append({k: v.detach().clone() for k, v in m.state_dict().items()})
            update(m)

        averaged.update_parameters = update_parameters  # type: ignore[method-assign]
        return averaged

    real_predict = loop._predict_rows

    def predict(*args: object, **kwargs: object) -> np.ndarray:
        ends.append(len(steps))  # validation runs once per epoch, after its last step
        return real_predict(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "weight_average", recording)
    monkeypatch.setattr(loop, "_predict_rows", predict)
    config = cnn_config(epochs=3, ema=decay, evaluate_test=False)
    result = train(config, tmp_path / "ema", manifest=corpus)
    assert len(ends) == 3 and ends[-1] == len(steps) > 3
    # The average of the first steps up to the kept epoch's end: the first update copies.
    kept = ends[result.best_epoch - 1]
    # (BatchNorm's statistics are averaged too; its step counter is left out.)
    expected = {k: v.clone() for k, v in steps[0].items() if v.is_floating_point()}
    for state in steps[1:kept]:
        for k in expected:
            expected[k] = decay * expected[k] + (1 - decay) * state[k]
    saved = result.model.state_dict()
    for k, v in expected.items():
        torch.testing.assert_close(saved[k], v, rtol=1e-5, atol=1e-6)
    # ... which is not the raw weights of that step, nor what the same run without it keeps.
    last = steps[kept - 1]
    assert any(not torch.allclose(saved[k], last[k]) for k in expected)
    plain = train(config.replace(ema=0.0), tmp_path / "plain", manifest=corpus)
    assert plain.history["train_loss"].tolist() == result.history["train_loss"].tolist()
    assert any(not torch.allclose(plain.model.state_dict()[k], saved[k]) for k in expected)
