"""The ``ser`` CLI: output on real corpora, JSON, and one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ser_core.cli import main

EXPECTED_SUMMARY = {
    # corpus: (files, speakers, male, female, emotions)
    "emodb": (535, 10, 5, 5, 7),
    "ravdess": (1440, 24, 12, 12, 8),
    "tess": (2798, 2, 0, 2, 7),
    "emovo": (588, 6, 3, 3, 7),
    "casia": (1200, 4, 2, 2, 6),
    "aesdd": (604, 6, 3, 3, 5),
    "nemo": (1793, 9, 5, 4, 6),
}


@pytest.mark.corpora
def test_data_summary_json_on_shared_corpora(
    corpora_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "summary", "--root", str(corpora_dir), "--json"]) == 0
    rows = {row["corpus"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(EXPECTED_SUMMARY)
    for corpus, (files, speakers, male, female, emotions) in EXPECTED_SUMMARY.items():
        row = rows[corpus]
        got = (row["files"], row["speakers"], row["male_speakers"], row["female_speakers"])
        assert got == (files, speakers, male, female), corpus
        assert row["emotions"] == emotions, corpus
        assert row["hours"] > 0.3


@pytest.mark.corpora
def test_data_summary_table_via_python_m(corpora_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ser_core", "data", "summary", "--root", str(corpora_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 + len(EXPECTED_SUMMARY)  # header + one line per corpus
    assert any(line.split()[0] == "ravdess" and " 1440 " in line for line in lines)


@pytest.mark.corpora
def test_data_manifest_writes_parquet(corpora_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "manifest.parquet"
    assert (
        main(
            ["data", "manifest", "--root", str(corpora_dir), "--corpus", "emodb", "--out", str(out)]
        )
        == 0
    )
    import pandas as pd

    manifest = pd.read_parquet(out)
    assert len(manifest) == 535
    assert manifest["human_recognized_pct"].notna().all()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["data", "summary", "--root", "/definitely/not/here"], "not a folder"),
        (["data", "manifest", "--root", "/definitely/not/here", "--out", "x.csv"], "not a folder"),
    ],
)
def test_user_errors_are_one_line_without_traceback(argv: list[str], needle: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ser_core", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert needle in result.stderr


def test_summary_without_root_explains_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SER_CORPORA", raising=False)
    assert main(["data", "summary"]) == 2
    assert "--root" in capsys.readouterr().err


def test_empty_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ser: error: ")
