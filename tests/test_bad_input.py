"""Bad input, measured (issue 7): a generated corpus of broken and awkward files through the
reader, ``ser predict`` (in process and as a real process) and the app's Detect page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bad_audio import CASES, BadAudioCase, write_bad_audio_corpus

from ser_core.audio import read_audio
from ser_core.cli import main
from ser_core.errors import AudioInputError

# A shipped model with a quick load; the default (whisper) runs in the subprocess test.
MODEL = "svm-emodb"
IDS = [c.name for c in CASES]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, BadAudioCase]]:
    return write_bad_audio_corpus(tmp_path_factory.mktemp("bad audio"))


def test_the_corpus_covers_the_issue_list() -> None:
    reasons = {c.reason for c in CASES}
    assert {"empty", "not_audio", "silent", "non_finite", "too_short", "too_long"} <= reasons
    suffixes = {Path(c.name).suffix for c in CASES if c.ok}
    assert {".wav", ".mp3", ".ogg", ".flac", ".aiff"} <= suffixes
    assert sum(c.ok for c in CASES) >= 10


@pytest.mark.parametrize("name", IDS)
def test_reader_accepts_or_names_the_problem(
    corpus: dict[str, tuple[Path, BadAudioCase]], name: str
) -> None:
    path, case = corpus[name]
    if case.ok:
        clip = read_audio(path, target_rate=16000)
        assert clip.signal.ndim == 1 and clip.duration > 1.0
        return
    with pytest.raises(AudioInputError) as info:
        read_audio(path, target_rate=16000)
    assert info.value.reason == case.reason
    assert path.name in str(info.value)  # the message says which file


@pytest.mark.parametrize("name", IDS)
def test_ser_predict_exit_status_and_one_line(
    corpus: dict[str, tuple[Path, BadAudioCase]], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, case = corpus[name]
    status = main(["predict", str(path), "--model", MODEL, "--format", "csv"])
    out, err = capsys.readouterr()
    if case.ok:
        assert status == 0, err
        import io

        import pandas as pd

        table = pd.read_csv(io.StringIO(out))
        assert table["file"].tolist() == [str(path)]
        assert table["label"].iloc[0] in table.columns
        return
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ser: error: ") and path.name in lines[0]


@pytest.mark.slow
def test_ser_predict_process_on_the_whole_corpus_with_the_default_model(
    corpus: dict[str, tuple[Path, BadAudioCase]],
) -> None:
    """The real command, default model, every file at once: valid files are scored, each
    unusable one gets exactly one line naming it, no traceback, exit status 2."""
    paths = [str(path) for path, _ in corpus.values()]
    done = subprocess.run(
        [sys.executable, "-m", "ser_core", "predict", *paths, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    import json

    scored = {r["file"] for r in json.loads(done.stdout)}
    errors = done.stderr.strip().splitlines()
    for path, case in corpus.values():
        if case.ok:
            assert str(path) in scored
        else:
            assert sum(path.name in line for line in errors) == 1, (path.name, errors)
    assert len(errors) == sum(not c.ok for c in CASES)


@pytest.mark.slow
def test_detect_page_shows_the_message_for_every_file(
    corpus: dict[str, tuple[Path, BadAudioCase]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app with the shipped default model: every valid file gets a label, every unusable
    one the reader's message (naming the file), and the page never raises."""
    from streamlit.testing.v1 import AppTest

    from ser_core.inference import available_checkpoints

    monkeypatch.delenv("SER_CHECKPOINTS", raising=False)  # the checkpoints the repo ships
    if "default" not in available_checkpoints():
        pytest.skip("no shipped default checkpoint")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.run()
    for name in IDS:
        path, case = corpus[name]
        if case.reason == "too_long":
            continue  # 57 MB: above the upload limit, and the reader test covers it
        at.file_uploader(key="detect.upload").upload(name, path.read_bytes(), "audio/wav")
        at.run()
        if case.ok:
            at.button(key="detect.button").click().run()
        assert not at.exception, (name, at.exception)
        errors = [e.value for e in at.error]
        if case.ok:
            assert not errors, (name, errors)
            assert at.metric, name
        else:  # said on upload, with no Detect button to press
            assert len(errors) == 1 and name in errors[0], (name, errors)
            assert not at.metric and not at.button, name


@pytest.mark.slow
def test_an_upload_is_never_written_to_disk(
    corpus: dict[str, tuple[Path, BadAudioCase]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads are decoded from memory: after Detect, no new file anywhere under the temp folder
    or the checkout holds the uploaded bytes."""
    import os
    import tempfile
    import time

    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("SER_CHECKPOINTS", raising=False)
    root = Path(__file__).resolve().parents[1]
    path, _ = corpus["clip.flac"]
    data = path.read_bytes()
    started = time.time() - 1.0
    at = AppTest.from_file(str(root / "app.py"), default_timeout=300)
    at.run()
    at.file_uploader(key="detect.upload").upload("private.flac", data, "audio/flac")
    at.run()
    at.button(key="detect.button").click().run()
    assert not at.exception and at.metric

    def new_files(top: Path):  # type: ignore[no-untyped-def]
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d != ".git" and not d.startswith("bad audio")]
            for name in files:
                file = Path(folder, name)
                try:
                    if file.stat().st_mtime >= started and file.stat().st_size >= len(data):
                        yield file
                except OSError:
                    continue

    holding = [
        f
        for top in (Path(tempfile.gettempdir()), root)
        for f in new_files(top)
        if data in f.read_bytes()
    ]
    assert holding == []
