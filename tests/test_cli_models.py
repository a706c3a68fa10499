"""``ser models``, ``ser train``, ``ser evaluate`` and ``ser predict``: output formats, one-line
errors without tracebacks, and an end-to-end run on a small subset of EMO-DB."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ser_core.cli import main
from ser_core.evaluation import load_predictions
from ser_core.inference.bench import side_by_side
from ser_core.models import list_models
from ser_core.training.synthetic import synthetic_manifest, write_synthetic_corpus


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny MLP trained through ``ser train --manifest`` on the synthetic corpus."""
    base = tmp_path_factory.mktemp("cli")
    manifest = synthetic_manifest(write_synthetic_corpus(base / "synth", per_speaker=3))
    manifest.to_parquet(base / "manifest.parquet", index=False)
    out = base / "mlp"
    status = main([
        "train", "--model", "mlp", "--manifest", str(base / "manifest.parquet"),
        "--model-config", "features=mfcc_stats", "--model-config", "hidden=[16]",
        "--epochs", "3", "--batch-size", "8", "--num-threads", "1", "--no-progress",
        "--out", str(out),
    ])  # fmt: skip
    assert status == 0
    return out


def test_models_lists_every_registered_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:4] == ["name", "input", "features", "parameters"]
    assert [line.split()[0] for line in lines[1:]] == list_models()
    cnn_lstm = next(line for line in lines if line.startswith("cnn_lstm "))
    assert "logmel" in cnn_lstm and "," in cnn_lstm  # a formatted parameter count
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list_models()
    assert all(r["reference"] for r in rows)


def test_train_writes_a_checkpoint_and_its_config(checkpoint: Path) -> None:
    for name in ("model.safetensors", "config.json", "train_log.csv", "README.md"):
        assert (checkpoint / name).is_file()
    saved = json.loads((checkpoint / "train_config.json").read_text())
    assert saved["model_config"] == {"features": "mfcc_stats", "hidden": [16]}
    assert saved["epochs"] == 3


def test_train_config_file_and_overrides(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "again"
    assert main(["train", "--config", str(checkpoint / "train_config.json"), "--epochs", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    assert json.loads((out / "train_config.json").read_text())["epochs"] == 1
    assert "checkpoint written" in capsys.readouterr().out
    # speed-perturbed copies and the refit, from the command line
    out = tmp_path / "speed"
    assert main(["train", "--config", str(checkpoint / "train_config.json"), "--epochs", "2",
                 "--speed-perturb", "0.9,1.1", "--refit", "--out", str(out)]) == 0  # fmt: skip
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["speed_perturb"] == [0.9, 1.1] and saved["refit"] is True
    notes = " ".join(json.loads((out / "config.json").read_text())["data"]["notes"])
    assert "copies (speed ×0.9, ×1.1)" in notes and "refit" in notes
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "--config", str(checkpoint / "train_config.json"),
              "--speed-perturb", "fast", "--out", str(out)])  # fmt: skip
    assert "expected numbers like 0.9,1.1" in capsys.readouterr().err


def test_every_train_config_field_has_a_train_option() -> None:
    """A TrainConfig field added without a ``ser train`` option (or a conversion) fails here:
    options are copied by field name, with no hand-kept list to forget."""
    import dataclasses

    from ser_core.cli import build_parser, train_config_from_args
    from ser_core.cli.train import _CONVERTED_TRAIN_FIELDS
    from ser_core.training import TrainConfig

    argv = ["train", "--model", "mlp", "--corpus", "emodb", "--epochs", "7", "--lr", "0.01"]
    args = build_parser().parse_args([*argv, "--out", "x"])
    options = set(vars(args))
    for field in dataclasses.fields(TrainConfig):
        assert field.name in options or field.name in _CONVERTED_TRAIN_FIELDS, field.name
    config = train_config_from_args(args)
    assert (config.model, config.epochs, config.lr) == ("mlp", 7, 0.01)


def test_predict_json_format(checkpoint: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (checkpoint.parent / "synth" / "angry").glob("*.wav"))[:2]
    assert main(["predict", *files, "--model", str(checkpoint), "--format", "json"]) == 0
    results = json.loads(capsys.readouterr().out)
    labels = json.loads((checkpoint / "config.json").read_text())["labels"]
    assert [r["file"] for r in results] == files
    for result in results:
        assert set(result) == {"file", "label", "probabilities", "model"}
        assert list(result["probabilities"]) == labels
        assert sum(result["probabilities"].values()) == pytest.approx(1.0)
        assert result["label"] == max(result["probabilities"], key=result["probabilities"].get)
        assert result["model"] == checkpoint.name
    assert main(["predict", files[0], "--model", str(checkpoint), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join(["file", "label", *labels])
    assert main(["predict", files[0], "--model", str(checkpoint)]) == 0
    assert files[0] in capsys.readouterr().out


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ser_core", *args], capture_output=True, text=True, check=False
    )


def test_bad_input_exits_with_one_line_and_no_traceback(checkpoint: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.wav"
    fake.write_text("a text file renamed .wav")
    missing = tmp_path / "missing.wav"
    for target, message in ((fake, "is not audio"), (missing, "no such file")):
        result = _run("predict", str(target), "--model", str(checkpoint))
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert message in lines[0] and "Traceback" not in result.stderr
        assert result.stdout == ""


def test_user_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ["predict", "x.wav", "--model", str(tmp_path / "nowhere")],
        ["train", "--model", "nope", "--corpus", "emodb", "--data-root", str(tmp_path),
         "--out", str(tmp_path / "o")],
        ["train", "--corpus", "emodb", "--optimizer", "rmsprop", "--out", str(tmp_path / "o")],
        ["evaluate", "--checkpoint", str(tmp_path / "nowhere")],
    ]  # fmt: skip
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("ser: error:"), (argv, err)


@pytest.mark.corpora
def test_train_and_evaluate_end_to_end_on_emodb(
    corpora_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ser train`` + ``ser evaluate`` on a small EMO-DB subset (about a minute on 2 cores)."""
    out = tmp_path / "emodb-mlp"
    status = main([
        "train", "--model", "mlp", "--corpus", "emodb", "--data-root", str(corpora_dir),
        "--protocol", "speaker-holdout", "--max-files", "2", "--epochs", "8",
        "--batch-size", "16", "--lr", "3e-3", "--no-progress", "--out", str(out),
    ])  # fmt: skip
    assert status == 0
    assert "test (" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["feature_config"]["kind"] == "egemaps"
    assert len(config["data"]["test_speakers"]) == 2  # one man, one woman
    assert config["metrics"]["test"]["n"] == config["data"]["n_test"]

    assert main(["evaluate", "--checkpoint", str(out), "--n-boot", "100", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "UA" in printed and "95% CI" in printed
    evaluation = out / "evaluation"  # beside the training run's own files, never over them
    assert (out / "predictions.parquet").is_file()
    predictions = load_predictions(evaluation / "predictions.parquet")
    assert set(predictions["speaker"]) == set(config["data"]["test_speakers"])
    assert "human_recognized_pct" in predictions.columns
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["metrics"]["ua"] == pytest.approx(config["metrics"]["test"]["ua"])
    assert metrics["human_agreement"] is not None  # EMO-DB's listener ratings
    assert {"gender", "speaker"} <= set(metrics["breakdowns"])
    assert (evaluation / "report.md").read_text().startswith("# Evaluation report")


def test_predict_without_model_uses_the_default_checkpoint(
    checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No ``--model``: the checkpoint named ``default`` in ``$SER_CHECKPOINTS`` (else the
    repository's ``checkpoints/``); without one, a clear error naming how to get one."""
    files = sorted(str(p) for p in (checkpoint.parent / "synth" / "sad").glob("*.wav"))[:1]
    empty = tmp_path / "none"
    empty.mkdir()
    monkeypatch.setenv("SER_CHECKPOINTS", str(empty))
    assert main(["predict", *files]) == 2
    assert "no checkpoint named 'default'" in capsys.readouterr().err
    shipped = tmp_path / "shipped"
    shutil.copytree(checkpoint, shipped / "default")
    monkeypatch.setenv("SER_CHECKPOINTS", str(shipped))
    assert main(["predict", *files, "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["model"] == "default" and result["file"] == files[0]


def test_bench_runs_and_reports_every_figure(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ser bench` measures a checkpoint (a smoke test: the figures are for benchmarks/)."""
    args = ["bench", str(checkpoint), "--repeats", "2", "--batch", "2", "--live-seconds", "3"]
    assert main([*args, "--no-isolate", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["parameters"] > 0 and row["threads"] == 2
    for key in ("load_s", "latency_median_s", "batch_clips_per_s", "peak_rss_mb", "live_rtf"):
        assert row[key] > 0, key
    assert row["latency_p90_s"] >= row["latency_median_s"]
    assert main(args) == 0  # in a fresh process, as a table
    out = capsys.readouterr().out
    assert "live_rtf" in out
    # Compare's pass, measured: every model in one process on new clips.
    assert re.search(r"all 1 side by side .*: \d+\.\d+ s per 3 s clip", out), out
    assert side_by_side([str(checkpoint), str(checkpoint)], repeats=2) > 0
