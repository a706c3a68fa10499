"""``ser predict --batch``: a folder or manifest into one parquet table, resumable, windowed,
error rows, the local and the Ray engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_core.app_support.samples import synthetic_vowel
from ser_core.cli import main
from ser_core.errors import SERError
from ser_core.inference import load_predictor
from ser_core.inference.batch import (
    BASE_COLUMNS,
    EXTRA_COLUMNS,
    batch_inputs,
    decode_for,
    parts_dir,
    read_scores,
    score_batch,
    score_batch_ray,
    score_clips,
)

MODEL = "svm-emodb"  # shipped, quick to load


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calls")
    (root / "sub").mkdir()
    for i in range(9):
        sf.write(
            root / ("sub" if i % 2 else ".") / f"clip{i}.wav", synthetic_vowel(1.5 + 0.1 * i), 16000
        )
    sf.write(root / "long.flac", np.tile(synthetic_vowel(5.0), 5), 16000)  # 25 s: windowed
    (root / "broken.wav").write_bytes(b"not audio at all")
    (root / "notes.txt").write_text("not listed")
    return root


@pytest.fixture(scope="module")
def predictor():  # type: ignore[no-untyped-def]
    return load_predictor(MODEL)


def test_inputs_from_folder_and_manifest(folder: Path, tmp_path: Path) -> None:
    files = batch_inputs(folder)
    assert len(files) == 11 and not any(f.endswith(".txt") for f in files)
    assert files == sorted(files)
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"path": [str(Path(f).relative_to(folder)) for f in files[:3]]}).to_csv(
        manifest, index=False
    )
    (tmp_path / "sub").symlink_to(folder / "sub")
    for name in ("long.flac", "broken.wav", "clip0.wav"):
        (tmp_path / name).symlink_to(folder / name)
    assert batch_inputs(manifest) == [str(tmp_path / p) for p in pd.read_csv(manifest)["path"]]
    with pytest.raises(SERError, match="does not exist"):
        batch_inputs(tmp_path / "missing")
    pd.DataFrame({"file": ["a.wav"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SERError, match="no 'path' column"):
        batch_inputs(tmp_path / "bad.csv")


def test_rows_windows_and_errors(folder: Path, predictor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = batch_inputs(folder)
    out = tmp_path / "scores.parquet"
    summary = score_batch(predictor, files, out, workers=2, chunk_files=4)
    table = pd.read_parquet(out)
    assert list(table.columns) == [*BASE_COLUMNS, *predictor.labels]
    assert (summary.files, summary.scored, summary.skipped, summary.errors) == (11, 11, 0, 1)
    assert summary.rows == len(table) and not parts_dir(out).exists()
    assert table["file"].drop_duplicates().tolist() == files  # input order kept
    broken = table[table["file"].str.endswith("broken.wav")]
    assert len(broken) == 1 and broken["reason"].iloc[0] == "not_audio"
    assert broken[predictor.labels].isna().all(axis=None)
    long = table[table["file"].str.endswith("long.flac")]
    assert len(long) > 5 and long["window"].tolist() == list(range(len(long)))
    assert long["end"].max() == pytest.approx(25.0, abs=0.01)
    ok = table[table["error"].isna()]
    np.testing.assert_allclose(ok[predictor.labels].sum(axis=1), 1.0, atol=1e-5)
    assert set(ok["label"]) <= set(predictor.labels)
    # The same as predicting each file on its own.
    first = ok["file"].iloc[0]
    one = predictor.predict_file(first)
    row = table[table["file"] == first].iloc[0]
    assert row["label"] == one.label
    np.testing.assert_allclose(
        row[predictor.labels].astype(float), list(one.probabilities.values()), atol=1e-5
    )


def test_scored_rows_share_the_prediction_table_shape(
    folder: Path, predictor, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    files = batch_inputs(folder)
    scored = score_clips(predictor, [(f, decode_for(predictor, f)) for f in files])
    assert isinstance(scored.index, pd.MultiIndex)
    assert list(scored.index.names) == ["file", "start", "end"]
    assert [str(t) for t in scored.index.dtypes] == ["string", "float64", "float64"]
    assert list(scored.columns) == [*predictor.labels, "label", *EXTRA_COLUMNS]
    # Windows of the long file, as predict_windows gives them.
    long = scored.xs(str(folder / "long.flac"), level="file")
    windows = predictor.predict_windows(*sf.read(folder / "long.flac", dtype="float32"))
    np.testing.assert_allclose(
        long.index.get_level_values("start"), windows.index.get_level_values("start")
    )
    np.testing.assert_allclose(
        long.index.get_level_values("end"), windows.index.get_level_values("end")
    )
    assert long["window"].tolist() == list(range(len(windows)))
    np.testing.assert_allclose(long[predictor.labels], windows[predictor.labels], atol=1e-6)
    # A short file: one row from 0 to its duration, as predict_files gives it.
    clip = str(folder / "clip0.wav")
    one = predictor.predict_files([clip])
    row = scored.loc[[clip]]
    np.testing.assert_allclose(
        row.index.get_level_values("end"), one.index.get_level_values("end"), atol=1e-3
    )
    assert row.index.get_level_values("start").tolist() == [0.0]
    np.testing.assert_allclose(row[predictor.labels], one[predictor.labels], atol=1e-5)
    # An unusable file: NaN start and end, its error as columns.
    broken = scored.xs(str(folder / "broken.wav"), level="file", drop_level=False)
    assert len(broken) == 1 and broken.index.get_level_values("start").isna().all()
    assert broken["reason"].iloc[0] == "not_audio"
    # The parquet keeps flat columns; read_scores gives the table back.
    out = tmp_path / "scores.parquet"
    score_batch(predictor, files, out, workers=0)
    back = read_scores(out)
    assert list(back.index.names) == ["file", "start", "end"]
    assert [str(t) for t in back.index.dtypes] == ["string", "float64", "float64"]
    assert list(back.columns) == list(scored.columns)
    same = scored.reset_index().set_index(["file", "window"])
    again = back.reset_index().set_index(["file", "window"]).loc[same.index]
    pd.testing.assert_frame_equal(again, same, check_exact=False, atol=1e-6)


def test_resumes_an_older_flat_parquet(folder: Path, predictor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Tables written before the (file, start, end) index (flat columns) resume unchanged."""
    files = batch_inputs(folder)
    first = score_clips(predictor, [(f, decode_for(predictor, f)) for f in files[:4]])
    flat = first.reset_index()[[*BASE_COLUMNS, *predictor.labels]]
    out = tmp_path / "scores.parquet"
    flat.iloc[: len(flat) // 2].to_parquet(out, index=False)  # an earlier run's merged table
    parts_dir(out).mkdir()
    flat.iloc[len(flat) // 2 :].to_parquet(parts_dir(out) / "part-0-old.parquet", index=False)
    summary = score_batch(predictor, files, out, workers=0)
    assert (summary.skipped, summary.scored) == (4, 7)
    table = pd.read_parquet(out)
    assert list(table.columns) == [*BASE_COLUMNS, *predictor.labels]
    assert table["file"].drop_duplicates().tolist() == files
    assert not table.duplicated(["file", "window"]).any()
    scores = read_scores(out)
    assert list(scores.index.names) == ["file", "start", "end"] and len(scores) == len(table)
    # A part written with the index (a table saved as is) is read too.
    indexed = tmp_path / "indexed.parquet"
    parts_dir(indexed).mkdir()
    first.to_parquet(parts_dir(indexed) / "part-1-indexed.parquet")
    assert score_batch(predictor, files, indexed, workers=0).skipped == 4
    assert read_scores(indexed).index.equals(scores.index)


def test_resumes_after_a_stop(
    folder: Path, predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import ser_core.inference.batch as batch

    files = batch_inputs(folder)
    out = tmp_path / "scores.parquet"
    calls: list[int] = []
    original = batch.score_clips

    def stop_on_the_third_batch(p, decoded):  # type: ignore[no-untyped-def]
        calls.append(len(decoded))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(p, decoded)

    monkeypatch.setattr(batch, "score_clips", stop_on_the_third_batch)
    monkeypatch.setattr(predictor, "batch_size", 2)
    with pytest.raises(KeyboardInterrupt):
        score_batch(predictor, files, out, chunk_files=2)
    assert not out.exists() and len(list(parts_dir(out).glob("*.parquet"))) == 2
    monkeypatch.setattr(batch, "score_clips", original)
    summary = score_batch(predictor, files, out)
    assert (summary.skipped, summary.scored) == (4, 7)
    table = pd.read_parquet(out)
    assert table["file"].drop_duplicates().tolist() == files
    assert not table.duplicated(["file", "window"]).any()
    again = score_batch(predictor, files, out)
    assert (again.skipped, again.scored, again.rows) == (11, 0, len(table))
    assert score_batch(predictor, files, out, restart=True).scored == 11


def test_cli_batch(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.parquet"
    argv = ["predict", "--batch", str(folder), "--out", str(out), "--quiet"]
    assert main([*argv, "--model", MODEL]) == 0
    assert "scored 11 file(s) (1 unusable" in capsys.readouterr().out
    assert main([*argv, "--model", "mlp-emodb"]) == 2
    assert "holds predictions of svm-emodb" in capsys.readouterr().err
    assert main(["predict", "--batch", str(folder), "--out", str(tmp_path / "x.csv")]) == 2
    assert main(["predict"]) == 2
    assert "--batch" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_engine_on_a_local_instance(folder: Path, predictor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("ray.data")
    import ray

    files = batch_inputs(folder)
    local = tmp_path / "local.parquet"
    score_batch(predictor, files, local)
    out = tmp_path / "ray.parquet"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # Resume a local run's first files with Ray: both engines share the parts.
        score_batch(predictor, files[:3], out)
        summary = score_batch_ray(predictor, files, out, actors=2)
    finally:
        ray.shutdown()
    assert (summary.skipped, summary.scored, summary.errors) == (3, 8, 0)  # broken.wav: local
    a = pd.read_parquet(local)
    b = pd.read_parquet(out)
    assert b["file"].tolist() == a["file"].tolist()
    np.testing.assert_allclose(
        b[predictor.labels].to_numpy(float), a[predictor.labels].to_numpy(float), atol=1e-6
    )
