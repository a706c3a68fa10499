"""``distill_from``: a trained checkpoint's probabilities as soft targets (knowledge
distillation), refused when the teacher trained on a speaker the run validates or tests on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from synthetic_runs import cnn_config, corpus  # noqa: F401 (corpus is a fixture)

from ser_core.cli import build_parser
from ser_core.cli.train import train_config_from_args
from ser_core.training import TrainConfigError, train
from ser_core.training._distill import distillation_loss, teacher_targets
from ser_core.training.store import _prepare
from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus


@pytest.fixture(scope="module")
def teacher(corpus: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CNN trained on angry / happy / sad, speakers 3 and 4 held out."""
    out = tmp_path_factory.mktemp("teacher") / "cnn"
    manifest = out.parent / "manifest.parquet"
    corpus.to_parquet(manifest)
    train(cnn_config(corpora=[], manifest=str(manifest), epochs=3), out)
    return out


def _manifest_of(teacher: Path) -> str:
    return str(teacher.parent / "manifest.parquet")


def test_the_loss_is_the_softened_cross_entropy_over_the_shared_labels() -> None:
    torch.manual_seed(0)
    logits = torch.randn(4, 3, requires_grad=True)
    covered = torch.tensor([True, False, True])
    targets = torch.tensor([[0.7, 0.0, 0.3], [0.2, 0.0, 0.8], [0.5, 0.0, 0.5], [0.9, 0.0, 0.1]])
    t = 2.0
    loss = distillation_loss(logits, targets, covered, t, None)
    student = torch.log_softmax(logits[:, [0, 2]] / t, dim=1)
    want = -(targets[:, [0, 2]] * student).sum(dim=1).mean() * t * t
    torch.testing.assert_close(loss, want)
    weights = torch.tensor([1.0, 3.0, 0.0, 1.0])
    weighted = distillation_loss(logits, targets, covered, t, weights)
    per_row = -(targets[:, [0, 2]] * student).sum(dim=1) * t * t
    torch.testing.assert_close(weighted, (per_row * weights).sum() / 5.0)
    # the column the teacher lacks gets no gradient; at the teacher's distribution none at all
    loss.backward()
    assert logits.grad is not None and torch.all(logits.grad[:, 1] == 0)
    matched = (targets[:, [0, 2]].log() * t).requires_grad_(True)
    full = torch.zeros(4, 3)
    full[:, [0, 2]] = matched
    distillation_loss(full, targets, covered, t, None).backward()
    assert matched.grad is None or torch.allclose(matched.grad, torch.zeros(4, 2), atol=1e-6)


def test_the_targets_are_the_teachers_probabilities(teacher: Path) -> None:
    """At T = 1 the soft targets of the teacher's test clips are the probabilities its
    training run stored for them (an independent path: the trainer's own test predictions)."""
    stored = pd.read_parquet(teacher / "predictions.parquet")
    config = cnn_config(
        corpora=[], manifest=_manifest_of(teacher), distill_from=str(teacher), distill_temperature=1
    )
    data = _prepare(config, None)
    rows = np.flatnonzero(data.manifest["path"].isin(stored["path"]).to_numpy())
    labels = ["angry", "happy", "sad"]
    soft = teacher_targets(config, data, rows, labels, [], "cpu")
    got = pd.DataFrame(soft.targets[rows], columns=labels, index=data.manifest["path"].iloc[rows])
    want = stored.set_index("path")[[f"prob_{x}" for x in labels]].loc[got.index]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-5)
    assert soft.covered.all() and soft.corpora == ["synth"]
    others = np.setdiff1d(np.arange(len(data.manifest)), rows)
    assert not soft.targets[others].any(), "clips not asked for get no targets"


def test_labels_the_teacher_lacks_are_left_to_the_cross_entropy(
    teacher: Path, tmp_path: Path
) -> None:
    root = write_synthetic_corpus(tmp_path / "synth2", emotions=("angry", "neutral", "sad"))
    manifest = tmp_path / "m.parquet"
    synthetic_manifest(root, name="synth2").to_parquet(manifest)
    config = cnn_config(corpora=[], manifest=str(manifest), distill_from=str(teacher))
    data = _prepare(config, None)
    rows = np.arange(len(data.manifest))
    soft = teacher_targets(config, data, rows, ["angry", "neutral", "sad"], [], "cpu")
    assert soft.covered.tolist() == [True, False, True]
    np.testing.assert_allclose(soft.targets[:, [0, 2]].sum(axis=1), 1.0, rtol=1e-5)
    assert not soft.targets[:, 1].any()
    assert "neutral learnt from the labels alone" in soft.note
    with pytest.raises(TrainConfigError, match="share fewer than two"):
        teacher_targets(config, data, rows, ["neutral", "sad"], [], "cpu")


def test_a_teacher_that_trained_on_a_held_out_speaker_is_refused(teacher: Path) -> None:
    trained = json.loads((teacher / "config.json").read_text())["data"]["train_speakers"]
    config = cnn_config(corpora=[], manifest=_manifest_of(teacher), distill_from=str(teacher))
    data = _prepare(config, None)
    with pytest.raises(TrainConfigError, match=r"trained on 1 speaker\(s\) this run validates"):
        teacher_targets(config, data, np.arange(3), ["angry", "happy", "sad"], trained[:1], "cpu")
    # through a whole run: its test speaker is one the teacher learnt from
    leaky = config.replace(split_options={"test_speakers": [trained[0]]})
    with pytest.raises(TrainConfigError, match="distill_from: the teacher trained on"):
        train(leaky, teacher.parent / "leaky")
    missing = config.replace(distill_from=str(teacher.parent / "missing"))
    with pytest.raises(TrainConfigError, match="distill_from"):
        teacher_targets(missing, data, np.arange(3), ["angry", "happy", "sad"], [], "cpu")


def test_a_distilled_run_learns_from_the_teacher_and_says_so(teacher: Path, tmp_path: Path) -> None:
    base = cnn_config(
        corpora=[], manifest=_manifest_of(teacher), epochs=1, model_config={"channels": [4] * 4}
    )
    plain = train(base, tmp_path / "plain")
    distilled = train(base.replace(distill_from=str(teacher), distill_weight=0.7), tmp_path / "kd")
    # same seed, same batches: only the loss differs
    assert plain.history["train_loss"][0] != pytest.approx(distilled.history["train_loss"][0])
    payload = json.loads((tmp_path / "kd" / "config.json").read_text())
    notes = " ".join(payload["data"]["notes"])
    assert f"distilled from {teacher.name} (cnn, trained on synth" in notes
    assert "0.3 × cross-entropy + 0.7 × T²" in notes
    assert payload["data"]["pretrained_on"] == ["synth"]  # the teacher's licences bind too


def test_distillation_settings_are_checked_and_reach_the_config() -> None:
    with pytest.raises(TrainConfigError, match="distill_weight"):
        cnn_config(distill_weight=0.0)
    with pytest.raises(TrainConfigError, match="distill_temperature"):
        cnn_config(distill_temperature=0.0)
    options = ["--distill-weight", "0.6", "--distill-temperature", "3", "--out", "x"]
    args = build_parser().parse_args(
        ["train", "--model", "cnn", "--corpus", "emodb", "--distill-from", "ckpt", *options]
    )
    config = train_config_from_args(args)
    assert (config.distill_from, config.distill_weight, config.distill_temperature) == (
        "ckpt",
        0.6,
        3.0,
    )
