"""``ser report``: committed predictions → docs/benchmark.md and the README table."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ser_core.cli import main
from ser_core.errors import SERError
from ser_core.evaluation import summary_metrics
from ser_core.evaluation.benchmark import (
    PUBLISHED,
    README_BEGIN,
    README_END,
    VALIDATION_BEGIN,
    VALIDATION_END,
    benchmark_rows,
    find_sources,
    render_validation_table,
    update_readme,
    validation_rows,
    write_report,
)
from ser_core.scoring.predictions import save_predictions

LABELS = ["neutral", "happy", "sad", "angry"]
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def fake_predictions(corpus: str, speakers: list[str], n: int, accuracy: float, seed: int):
    rng = np.random.default_rng(seed)
    true = rng.choice(LABELS, size=n)
    wrong = rng.random(n) > accuracy
    predicted = np.where(wrong, rng.choice(LABELS, size=n), true)
    proba = np.full((n, len(LABELS)), 0.1)
    for i, label in enumerate(predicted):
        proba[i, LABELS.index(label)] = 0.7
    frame = pd.DataFrame(
        {
            "path": [f"{corpus}/{i}.flac" for i in range(n)],
            "corpus": corpus,
            "speaker": rng.choice(speakers, size=n),
            "gender": rng.choice(["f", "m"], size=n),
            "emotion": true,
            "true": true,
            "predicted": predicted,
        }
    )
    for i, label in enumerate(LABELS):
        frame[f"prob_{label}"] = proba[:, i]
    frame["model"] = "svm"
    return frame


def write_checkpoint(folder: Path, predictions: pd.DataFrame, heard: list[str], protocol: str):
    folder.mkdir(parents=True)
    config = {
        "name": "svm",
        "config": {"speaker_adapted": False},
        "training_seconds": 120.0,
        "data": {
            "protocol": protocol,
            "train_speakers": heard,
            "val_speakers": [],
            "split": {"description": f"{protocol} split"},
        },
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    save_predictions(predictions, folder / "predictions.parquet")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    # a multi-corpus checkpoint: alpha's test speakers unseen, beta's (words held out) heard
    alpha = fake_predictions("alpha", ["alpha:01", "alpha:02"], 120, 0.8, seed=0)
    beta = fake_predictions("beta", ["beta:A"], 80, 0.9, seed=1)
    write_checkpoint(
        tmp_path / "checkpoints" / "default",
        pd.concat([alpha, beta], ignore_index=True),
        heard=["alpha:03", "beta:A"],
        protocol="per-corpus",
    )
    cv = tmp_path / "benchmarks" / "results" / "svm-alpha-loso"
    cv.mkdir(parents=True)
    folds = fake_predictions("alpha", [f"alpha:{i:02d}" for i in range(1, 5)], 200, 0.6, seed=2)
    folds["fold"] = folds["speaker"].str[-1].astype(int) - 1
    save_predictions(folds, cv / "predictions.parquet")
    (cv / "train_config.json").write_text(
        json.dumps({"model": "svm", "protocol": "loso", "corpora": ["alpha"]}), encoding="utf-8"
    )
    pd.DataFrame({"fold": [0, 1, 2, 3], "val_ua": [0.5, 0.6, 0.7, 0.85]}).to_csv(
        cv / "folds.csv", index=False
    )
    (tmp_path / "README.md").write_text(
        f"# Project\n\n{README_BEGIN}\nold table\n{README_END}\n\nmore text\n", encoding="utf-8"
    )
    return tmp_path


def test_rows_per_source_and_corpus_with_split_labels(repo: Path) -> None:
    sources = find_sources(repo / "checkpoints", repo / "benchmarks" / "results")
    assert [(s.name, s.kind) for s in sources] == [
        ("default", "checkpoint"),
        ("svm-alpha-loso", "cross-validation"),
    ]
    rows = benchmark_rows(sources, n_boot=200).set_index(["name", "corpus"])
    assert len(rows) == 3
    # the per-corpus checkpoint is speaker-independent on alpha, speaker-dependent on beta
    assert rows.loc[("default", "alpha"), "speaker_independent"]
    assert not rows.loc[("default", "beta"), "speaker_independent"]
    assert rows.loc[("svm-alpha-loso", "alpha"), "speaker_independent"]
    # the numbers are the metrics of exactly that corpus's rows
    frame = sources[0].predictions
    alpha = frame[frame["corpus"] == "alpha"]
    expected = summary_metrics(alpha["true"], alpha["predicted"], LABELS)
    row = rows.loc[("default", "alpha")]
    assert row["ua"] == pytest.approx(100 * expected["ua"])
    assert row["wa"] == pytest.approx(100 * expected["wa"])
    assert row["ua_low"] < row["ua"] < row["ua_high"]
    assert row["n"] == len(alpha)
    assert row["ua_by_gender"].startswith("f ") and " · m " in row["ua_by_gender"]


def test_write_report_then_check_is_clean(repo: Path) -> None:
    kwargs = {
        "checkpoints": repo / "checkpoints",
        "results": repo / "benchmarks" / "results",
        "out": repo / "docs" / "benchmark.md",
        "readme": repo / "README.md",
        "n_boot": 200,
    }
    assert write_report(**kwargs, check=True) == [
        repo / "docs" / "benchmark.md",
        repo / "README.md",
    ]
    assert not (repo / "docs").exists()  # check writes nothing
    assert len(write_report(**kwargs)) == 2
    assert write_report(**kwargs, check=True) == []  # deterministic: same files, same page
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert "old table" not in readme and readme.endswith(f"{README_END}\n\nmore text\n")
    assert "`default`" in readme and "per-corpus (speaker-dependent)" in readme
    page = (repo / "docs" / "benchmark.md").read_text(encoding="utf-8")
    assert "loso (speaker-independent)" in page
    assert "Published numbers" in page and "98.9" in page


def test_cli_check_exit_codes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "report",
        "--checkpoints",
        str(repo / "checkpoints"),
        "--results",
        str(repo / "benchmarks" / "results"),
        "--out",
        str(repo / "docs" / "benchmark.md"),
        "--readme",
        str(repo / "README.md"),
        "--n-boot",
        "100",
    ]
    assert main([*args, "--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert main(args) == 0
    assert main([*args, "--check"]) == 0


def test_readme_without_markers_is_a_clear_error() -> None:
    with pytest.raises(SERError, match="no generated block"):
        update_readme("# a README\n", "table")


def test_every_published_figure_cites_its_source(repo: Path) -> None:
    for peer in PUBLISHED:
        # a full citation: authors, then the title in double quotes
        assert re.search(r'^[^"]+, "[^"]{10,}"', peer.source), peer.source
        assert "issue tracker" not in peer.source.lower(), peer.source
        assert not peer.source.lower().startswith("the "), peer.source
    write_report(
        checkpoints=repo / "checkpoints",
        results=repo / "benchmarks" / "results",
        out=repo / "docs" / "benchmark.md",
        readme=None,
        n_boot=0,
    )
    page = (repo / "docs" / "benchmark.md").read_text(encoding="utf-8")
    published = page.split("## Published numbers", 1)[1]
    header = next(line for line in published.splitlines() if line.startswith("| system |"))
    assert header.endswith("| source |")
    for peer in PUBLISHED:
        assert f"| {peer.value:.1f} | {peer.source} |" in published


def test_validation_block_is_the_mean_of_the_folds(repo: Path) -> None:
    rows = validation_rows(repo / "benchmarks" / "results").set_index("name")
    assert rows.loc["svm-alpha-loso", "val_ua"] == pytest.approx(66.25)
    assert rows.loc["svm-alpha-loso", "folds"] == 4
    assert rows.loc["svm-alpha-loso", "speed_perturb"] == "–"
    readme = repo / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8") + f"\n{VALIDATION_BEGIN}\n95.0\n{VALIDATION_END}\n",
        encoding="utf-8",
    )
    kwargs = {
        "checkpoints": repo / "checkpoints",
        "results": repo / "benchmarks" / "results",
        "out": repo / "docs" / "benchmark.md",
        "readme": readme,
        "n_boot": 0,
    }
    write_report(**kwargs)
    text = readme.read_text(encoding="utf-8")
    block = text.split(VALIDATION_BEGIN, 1)[1].split(VALIDATION_END, 1)[0]
    assert "| `svm-alpha-loso` | svm | loso | 4 | – | 66.2 | 50.0–85.0 |" in block
    assert "95.0" not in block
    assert "## Validation UA" in (repo / "docs" / "benchmark.md").read_text(encoding="utf-8")
    assert write_report(**kwargs, check=True) == []


def _fold_mean(csv_text: str) -> float:
    return round(100 * float(pd.read_csv(StringIO(csv_text))["val_ua"].mean()), 1)


def test_readme_validation_figures_are_the_committed_folds() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(VALIDATION_BEGIN, 1)[1].split(VALIDATION_END, 1)[0]
    assert block.strip() == render_validation_table(validation_rows(RESULTS)).strip()
    for run in ("whisper_base-emodb-loso", "whisper_base-ravdess-6fold"):
        mean = _fold_mean((RESULTS / run / "folds.csv").read_text(encoding="utf-8"))
        assert re.search(rf"`{run}` \|[^\n]*\| 0\.9, 1\.1 \| {mean:.1f} \|", block), run
    # the figures the README once typed by hand match no committed run
    # The old hand-typed figures are gone from the prose (generated blocks may hold any value).
    prose = re.sub(r"<!-- (\w+):begin.*?<!-- \1:end -->", "", readme, flags=re.DOTALL)
    assert "73.9" not in prose and "77.3" not in prose


#: The runs without speed copies, committed in c967ca3 and replaced by the current ones in d6a351c.
WITHOUT_SPEED_COMMIT = "c967ca3"


def test_readme_without_speed_copies_figures_are_the_committed_folds() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for run, folds in (("whisper_base-emodb-loso", "LOSO"), ("whisper_base-ravdess-6fold", "6")):
        shown = subprocess.run(
            ["git", "show", f"{WITHOUT_SPEED_COMMIT}:benchmarks/results/{run}/folds.csv"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode != 0:
            pytest.skip(f"commit {WITHOUT_SPEED_COMMIT} is not in this clone's history")
        config = subprocess.run(
            ["git", "show", f"{WITHOUT_SPEED_COMMIT}:benchmarks/results/{run}/train_config.json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert not json.loads(config.stdout).get("speed_perturb")
        mean = _fold_mean(shown.stdout)
        assert re.search(rf"{mean:.1f} over [^ ]+ {folds} folds", readme), (run, mean)
    assert f"commit {WITHOUT_SPEED_COMMIT}" in readme


def test_a_leave_one_corpus_out_run_gets_a_generalisation_table(repo: Path) -> None:
    """Per held-out corpus: language, classes, chance and UA with its interval; then the mean
    over corpora (each weighing the same) and the lowest one; in the page and the README."""
    from ser_core.evaluation.benchmark import (
        GENERALISATION_BEGIN,
        GENERALISATION_END,
        render_generalisation_table,
    )

    loco = repo / "benchmarks" / "results" / "default-loco"
    loco.mkdir(parents=True)
    alpha = fake_predictions("alpha", ["alpha:01"], 120, 0.8, seed=3).assign(fold=0, language="de")
    beta = fake_predictions("beta", ["beta:A"], 60, 0.5, seed=4).assign(fold=1, language="it")
    beta = beta[beta["true"] != "neutral"]  # beta has three classes: chance 33.3
    save_predictions(pd.concat([alpha, beta], ignore_index=True), loco / "predictions.parquet")
    (loco / "train_config.json").write_text(
        json.dumps({"model": "whisper_base", "protocol": "loco", "corpora": ["alpha", "beta"]}),
        encoding="utf-8",
    )
    rows = benchmark_rows(find_sources(None, repo / "benchmarks" / "results"), n_boot=100)
    table = render_generalisation_table(rows)
    run = rows[rows["name"] == "default-loco"].set_index("corpus")
    lines = [line for line in table.splitlines() if line.startswith("| `default-loco`")]
    assert len(lines) == 3  # alpha, beta, mean
    assert "| de |" in lines[0] and "| 4 | 25.0 |" in lines[0]
    assert "| it |" in lines[1] and "| 3 | 33.3 |" in lines[1]
    mean = (run.loc["alpha", "ua"] + run.loc["beta", "ua"]) / 2
    assert f"**{mean:.1f}**" in lines[2]
    worst = min(("alpha", "beta"), key=lambda c: run.loc[c, "ua"])
    assert f"lowest: {worst} {run.loc[worst, 'ua']:.1f}" in lines[2]
    readme = repo / "README.md"
    readme.write_text(
        readme.read_text() + f"\n{GENERALISATION_BEGIN}\nold\n{GENERALISATION_END}\n",
        encoding="utf-8",
    )
    write_report(
        repo / "checkpoints",
        repo / "benchmarks" / "results",
        repo / "docs" / "benchmark.md",
        readme,
        n_boot=100,
    )
    assert table in readme.read_text()  # the README shows the default's run
    assert render_generalisation_table(rows, ["other-loco"]).startswith("No leave-one-corpus-out")
    # runs named explicitly come in the order given (the README: the shipped recipe first)
    twin = rows[rows["name"] == "default-loco"].assign(name="a-loco")
    both = pd.concat([rows, twin], ignore_index=True)
    ordered = render_generalisation_table(both, ["default-loco", "a-loco"])
    assert ordered.index("| `default-loco` |") < ordered.index("| `a-loco` |")
    by_name = render_generalisation_table(both)
    assert by_name.index("| `a-loco` |") < by_name.index("| `default-loco` |")
    page = (repo / "docs" / "benchmark.md").read_text()
    assert "| alpha | `default-loco` | whisper_base |" not in page  # not in the results table
    assert "## Generalisation to unseen corpora (leave one corpus out)" in page
    assert render_generalisation_table(rows.iloc[:0]).startswith("No leave-one-corpus-out")
    # the default's model card carries the same table
    from ser_core.evaluation.cards import generalisation_section

    section = "\n".join(generalisation_section(loco))
    assert section.startswith("## Generalisation to unseen corpora")
    assert "| `default-loco` | alpha | de | 4 | 25.0 |" in section and f"**{mean:.1f}**" in section
    assert "other seeds" not in section
    assert generalisation_section(repo / "benchmarks" / "results" / "missing") == []
    # the same recipe's other seeds (sibling folders <name>-seed<N>) come below it
    seed1 = repo / "benchmarks" / "results" / "default-loco-seed1"
    seed1.mkdir()
    for item in ("predictions.parquet", "train_config.json"):
        (seed1 / item).write_bytes((loco / item).read_bytes())
    section = "\n".join(generalisation_section(loco))
    assert "other seeds (`default-loco-seed1`)" in section
    assert section.index("| `default-loco` |") < section.index("| `default-loco-seed1` |")


def test_the_probe_study_is_rendered_from_its_csv(repo: Path) -> None:
    """The representation study's table: one row per representation, a cell per held-out
    corpus, the mean over corpora and the lowest one, all from the committed CSV."""
    from ser_core.evaluation.benchmark import PROBE_STUDY_FILE

    study = pd.DataFrame(
        {
            "representation": ["base", "base", "base+egemaps", "base+egemaps"],
            "corpus": ["alpha", "beta", "alpha", "beta"],
            "ua": [60.0, 41.0, 62.0, 45.0],
        }
    )
    study.to_csv(repo / "benchmarks" / "results" / PROBE_STUDY_FILE, index=False)
    write_report(
        repo / "checkpoints",
        repo / "benchmarks" / "results",
        repo / "docs" / "benchmark.md",
        None,
        n_boot=100,
    )
    page = (repo / "docs" / "benchmark.md").read_text()
    assert "| `base` | 60.0 | 41.0 | **50.5** | 41.0 |" in page
    assert "| `base+egemaps` | 62.0 | 45.0 | **53.5** | 45.0 |" in page


def test_the_seed_zoo_is_judged_against_its_targets(tmp_path: Path) -> None:
    """Each seed architecture's shipped checkpoints against the floors (EMO-DB 50, RAVDESS 35):
    "met" or the shortfall; the best per corpus against 75 / 60; whisper_tiny's gap to base."""
    from ser_core.evaluation.benchmark import render_zoo_targets_table

    accuracy = {
        "cnn-emodb": 0.95,
        "lstm-emodb": 0.2,
        "cnn-ravdess": 0.0,  # chance: UA near 25
        "whisper_tiny-emodb": 0.5,
        "whisper_base-emodb": 0.95,
    }
    for seed, (name, acc) in enumerate(accuracy.items()):
        corpus = name.rsplit("-", 1)[1]
        speakers = [f"{corpus}:{i}" for i in range(1, 4)]
        frame = fake_predictions(corpus, speakers, 150, acc, seed=seed)
        write_checkpoint(tmp_path / name, frame, heard=[f"{corpus}:9"], protocol="speaker-holdout")
    rows = benchmark_rows(find_sources(tmp_path, None), n_boot=50)
    ua = rows.set_index("name")["ua"].round(1)
    table = render_zoo_targets_table(rows)
    assert table is not None
    cnn = f"| cnn | {ua['cnn-emodb']:.1f} | met | {ua['cnn-ravdess']:.1f} | short by "
    assert cnn + f"{35 - ua['cnn-ravdess']:.1f} |" in table
    assert f"| lstm | {ua['lstm-emodb']:.1f} | short by {50 - ua['lstm-emodb']:.1f} |" in table
    assert "| vit | – | not shipped | – | not shipped |" in table
    assert (
        f"Best seed model on EMO-DB: `cnn-emodb` {ua['cnn-emodb']:.1f} (target ≥ 75: met)" in table
    )
    gap = ua["whisper_base-emodb"] - 3 - ua["whisper_tiny-emodb"]
    assert f"within 3 points: short by {gap:.1f})" in table
    assert render_zoo_targets_table(rows.iloc[:0]) is None


def test_a_run_with_other_corpora_in_training_says_so(repo: Path) -> None:
    cv = repo / "benchmarks" / "results" / "svm-alpha-loso"
    config = {"model": "svm", "protocol": "loso", "corpora": ["alpha"], "train_also": ["beta"]}
    (cv / "train_config.json").write_text(json.dumps(config), encoding="utf-8")
    (source,) = find_sources(None, repo / "benchmarks" / "results")
    assert source.description == (
        "loso, 4 folds, out-of-fold predictions pooled; every clip of beta also in each fold's "
        "training, each fold scored over its corpus's own classes"
    )
