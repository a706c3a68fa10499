"""``init_from``: a run that starts from another checkpoint's weights (pretraining on other
corpora, then fine-tuning), with the output layer mapped label by label."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from synthetic_runs import cnn_config, corpus  # noqa: F401 (corpus is a fixture)

from ser_core.cli import build_parser
from ser_core.cli.train import train_config_from_args
from ser_core.models import load_model
from ser_core.training import TrainConfigError, train
from ser_core.training._run_helpers import _fresh_model
from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus


@pytest.fixture(scope="module")
def pretrained(corpus: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CNN trained on angry / happy / sad."""
    out = tmp_path_factory.mktemp("pre") / "cnn"
    train(cnn_config(corpora=[], manifest=_saved(corpus, out.parent), epochs=2), out)
    return out


@pytest.fixture(scope="module")
def other_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another synthetic corpus whose classes are angry / neutral / sad."""
    folder = tmp_path_factory.mktemp("other")
    root = write_synthetic_corpus(folder / "synth2", emotions=("angry", "neutral", "sad"), seed=3)
    return _saved(synthetic_manifest(root, name="synth2"), folder)


def _saved(manifest: pd.DataFrame, folder: Path) -> str:
    path = folder / "manifest.parquet"
    manifest.to_parquet(path)
    return str(path)


def test_shared_weights_are_copied_and_output_rows_follow_the_labels(
    pretrained: Path, other_corpus: str
) -> None:
    labels = ["sad", "neutral", "angry"]  # another order, one label the source never had
    config = cnn_config(corpora=[], manifest=other_corpus, init_from=str(pretrained))
    model, _, note = _fresh_model(config, labels)
    fresh, _, none = _fresh_model(config.replace(init_from=None), labels)
    source = load_model(pretrained)
    assert none is None
    ours, theirs, untrained = model.state_dict(), source.state_dict(), fresh.state_dict()
    per_class = [k for k in ours if ours[k].shape[:1] == (3,) and k.startswith("head")]
    assert per_class, "the output layer is sized by the classes"
    for key, tensor in ours.items():
        if key in per_class:
            for row, label in enumerate(labels):
                if label == "neutral":  # not in the source: its fresh initialisation
                    torch.testing.assert_close(tensor[row], untrained[key][row])
                else:
                    want = theirs[key][source.labels.index(label)]
                    torch.testing.assert_close(tensor[row], want)
        else:
            torch.testing.assert_close(tensor, theirs[key])
    assert not torch.equal(ours["head.output.weight"], untrained["head.output.weight"])
    assert note is not None and note.corpora == ["synth"]
    assert "copied for sad, angry" in note.note and "fresh for neutral" in note.note


def test_a_fine_tuning_run_records_its_starting_point(
    pretrained: Path, other_corpus: str, tmp_path: Path
) -> None:
    out = tmp_path / "tuned"
    config = cnn_config(corpora=[], manifest=other_corpus, init_from=str(pretrained), epochs=1)
    result = train(config, out)
    assert sorted(result.labels) == ["angry", "neutral", "sad"]
    payload = json.loads((out / "config.json").read_text())
    assert payload["training"]["init_from"] == str(pretrained)
    notes = " ".join(payload["data"]["notes"])
    assert f"initialised from {pretrained.name} (cnn trained on" in notes
    # the source's corpora bind the new weights: their licences are in the card
    assert payload["data"]["corpora"] == ["synth2"]
    assert payload["data"]["pretrained_on"] == ["synth"]
    card = (out / "README.md").read_text()
    assert "init_from" in card
    assert "- synth: a user-supplied collection" in card
    assert "- synth2: a user-supplied collection" in card


def test_a_source_of_another_shape_or_input_is_refused(pretrained: Path, other_corpus: str) -> None:
    base = cnn_config(corpora=[], manifest=other_corpus, init_from=str(pretrained))
    labels = ["angry", "neutral", "sad"]
    with pytest.raises(TrainConfigError, match=r"feature config differs .* n_mels"):
        _fresh_model(base.replace(feature_config={"n_mels": 40}), labels)
    with pytest.raises(TrainConfigError, match=r"model config differs .* fc_hidden"):
        _fresh_model(base.replace(model_config={"channels": [8, 8, 16, 16]}), labels)
    with pytest.raises(TrainConfigError, match="holds a cnn model, this run trains lstm"):
        _fresh_model(base.replace(model="lstm", model_config={}), labels)
    with pytest.raises(TrainConfigError, match="init_from"):
        _fresh_model(base.replace(init_from=str(pretrained.parent / "missing")), labels)


def test_the_command_line_takes_init_from() -> None:
    args = build_parser().parse_args(
        ["train", "--model", "cnn", "--corpus", "emodb", "--init-from", "ckpt/pre", "--out", "x"]
    )
    assert train_config_from_args(args).init_from == "ckpt/pre"


def test_an_encoder_head_starts_from_the_heads_weights_only(
    corpus: pd.DataFrame,
    other_corpus: str,
    tmp_path: Path,
) -> None:
    """A frozen pretrained encoder is not stored in a checkpoint: only the head is copied."""
    from tiny_whisper import save_tiny_whisper

    encoder = f"hf:{save_tiny_whisper(tmp_path / 'whisper', 2)}"
    head = {"encoder": encoder, "layer_pooling": "per_layer", "hidden": [8]}
    quick = {"model": "pretrained", "model_config": head, "feature_config": {}, "epochs": 2}
    source = tmp_path / "head"
    train(cnn_config(**quick), source, manifest=corpus)
    config = cnn_config(**quick, corpora=[], manifest=other_corpus, init_from=str(source))
    model, _, note = _fresh_model(config, ["angry", "neutral", "sad"])
    theirs = load_model(source)
    saved = model._saved_keys()
    assert saved and not any(k.startswith("encoder.") for k in saved)
    torch.testing.assert_close(model.state_dict()[saved[0]], theirs.state_dict()[saved[0]])
    assert note is not None and "fresh for neutral" in note.note
