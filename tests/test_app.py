"""The Streamlit demonstrator: every page through AppTest (the real browser: test_browser.py).

A module fixture trains two tiny demo models (``cnn``, ``svm``) on a synthetic corpus into a
temp folder and points ``SER_CHECKPOINTS`` at it (about 30 s on 2 CPUs); some tests use the
shipped checkpoints instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ser_core.app_support import cache, preload
from ser_core.app_support.samples import synthetic_vowel, to_wav_bytes

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = ["views/detect.py", "views/compare.py", "views/live.py", "views/bias.py", "views/models.py"]

pytestmark = pytest.mark.slow


def _app(page: str | None = None):  # -> AppTest
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def _errors(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.value for e in at.error]


# ----------------------------------------------------------------------------- loaders
def test_checkpoint_names_put_default_first(checkpoints: Path) -> None:
    assert cache.checkpoint_names() == ["default", "cnn", "svm"]
    assert cache.distinct_checkpoint_names() == ["cnn", "svm"]


def test_model_card_and_predictions(checkpoints: Path) -> None:
    predictor = cache.load("cnn")
    card = cache.model_card("cnn", predictor)
    assert card.architecture == "cnn" and card.corpora == ["synthetic"]
    assert card.parameters and card.parameters > 1000
    assert card.test_ua is not None and card.log is not None and "val_ua" in card.log
    assert card.readme.startswith("#")
    frame = cache.load_all_predictions(["cnn", "svm"])
    assert set(frame["model"]) == {"cnn", "svm"}
    assert cache.measure_latency(predictor, seconds=1.0, repeats=1) > 0


def test_default_preloads_in_the_background_once(checkpoints: Path) -> None:
    future = preload.preload("default")
    assert preload.preload("default") is future  # once per process and folder
    predictor = cache.load("default")
    assert predictor is future.result()
    assert not cache.needs_enrolment("default")


def test_a_failed_preload_raises_at_load_and_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ser_core.errors import CheckpointError

    monkeypatch.setenv("SER_CHECKPOINTS", str(tmp_path))
    assert preload.preload("default") is None  # nothing to load
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "config.json").write_text("{not json")
    failed = preload.preload("default")
    assert failed is not None
    with pytest.raises(CheckpointError, match=r"config\.json"):
        cache.load("default")
    assert preload.preload("default") is not failed


def test_the_first_page_needs_no_torch() -> None:
    """What the app imports before its first page is drawn leaves torch to the background load
    (importing torch alone takes about 2 s here)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import views._shared, ser_core.app_support.plots, ser_core.features\n"
        "print(sorted(m for m in ('torch', 'scipy.signal') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- AppTest
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(checkpoints: Path, page: str) -> None:
    at = _app(page)
    assert not at.exception, at.exception
    assert at.title, "the page shows a title"


def test_pages_explain_how_to_get_models_when_there_are_none(
    tmp_path: Path, checkpoints: Path
) -> None:
    os.environ["SER_CHECKPOINTS"] = str(tmp_path)
    try:
        at = _app()
        assert not at.exception
        assert any("No trained model" in w.value for w in at.warning)
    finally:
        os.environ["SER_CHECKPOINTS"] = str(checkpoints)


def test_detect_on_an_uploaded_clip_shows_label_and_chart(checkpoints: Path) -> None:
    at = _app()
    at.file_uploader(key="detect.upload").upload(
        "clip.wav", to_wav_bytes(synthetic_vowel(2.0)), "audio/wav"
    )
    at.run()
    at.button(key="detect.button").click().run()
    assert not at.exception, at.exception
    assert not _errors(at)
    own = cache.load("default").predict_signal(synthetic_vowel(2.0), 16_000)
    assert at.metric[0].value == own.label  # the predictor's own answer, not just any label
    assert any(f"Confidence {own.probabilities[own.label]:.0%}" in c.value for c in at.caption)
    charts = at.get("plotly_chart")
    assert len(charts) >= 4  # probabilities, waveform, mel, explanation


def test_detect_long_clip_shows_a_timeline(
    checkpoints: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The synthetic samples (the long clip among them) are offered when no corpora are configured.
    monkeypatch.delenv("SER_CORPORA", raising=False)
    at = _app()
    at.radio(key="detect.input_mode").set_value("Pick a sample").run()
    long_title = next(o for o in at.selectbox(key="detect.sample").options if "long clip" in o)
    at.selectbox(key="detect.sample").set_value(long_title).run()
    at.button(key="detect.button").click().run()
    assert not at.exception, at.exception
    assert any("Emotion over time" in s.value for s in at.subheader)
    assert any(b.label.startswith("Download the timeline") for b in at.get("download_button"))


LEAKS = ("Details", "UploadedFile", "file_id", "upload_url", "libsndfile", "FFmpeg:", "Errno")


def test_detect_says_a_file_is_not_audio_on_upload_without_internals(
    checkpoints: Path, caplog: pytest.LogCaptureFixture
) -> None:
    at = _app()
    at.file_uploader(key="detect.upload").upload(
        "bad.wav", b"this is not audio\n" * 20, "audio/wav"
    )
    with caplog.at_level("WARNING", logger="ser_core.app"):
        at.run()  # no Detect click: the upload alone is checked
    assert not at.exception, at.exception
    errors = _errors(at)
    assert errors and errors[0].startswith("bad.wav is not audio")
    assert not [leak for leak in LEAKS if leak in errors[0]], errors[0]
    assert not at.get("audio")  # no empty 0:00 player for a file that cannot play
    assert not at.button  # nothing to detect
    assert "libsndfile" in caplog.text  # the decoders' words went to the log
    assert not at.metric


@pytest.mark.corpora
def test_detect_samples_say_whether_the_model_heard_them_and_lacks_their_label(
    corpora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On shipped checkpoints: held-out clips come first and are marked; a boredom clip
    cannot 'differ from' the acted emotion of a model that has no boredom label."""
    monkeypatch.setenv("SER_CHECKPOINTS", str(ROOT / "checkpoints"))
    monkeypatch.setenv("SER_CORPORA", str(corpora_dir))
    at = _app()
    at.selectbox(key="detect.model").set_value("cnn-ravdess").run()
    at.radio(key="detect.input_mode").set_value("Pick a sample").run()
    options = at.selectbox(key="detect.sample").options
    ravdess = [o for o in options if o.startswith("ravdess")]
    assert ravdess and all(o.endswith("· held out") for o in ravdess), ravdess
    assert next(o for o in options if o.startswith("emodb")).endswith("· new corpus")
    at.selectbox(key="detect.model").set_value("default").run()
    options = at.selectbox(key="detect.sample").options
    boredom = next(o for o in options if o.startswith("emodb · boredom"))
    assert "boredom" not in cache.load("default").labels
    at.selectbox(key="detect.sample").set_value(boredom).run()
    at.button(key="detect.button").click().run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "The model has no **boredom** label" in captions
    assert "differs from" not in captions and "matches" not in captions


def test_detect_silent_upload_shows_the_core_message(checkpoints: Path) -> None:
    at = _app()
    silent = to_wav_bytes(synthetic_vowel(1.0) * 0.0)
    at.file_uploader(key="detect.upload").upload("silent.wav", silent, "audio/wav")
    at.run()  # said on upload, before any click
    assert not at.exception, at.exception
    assert any("silent" in e.lower() for e in _errors(at))
    assert not at.get("audio") and not at.metric


def test_compare_shows_every_model(checkpoints: Path) -> None:
    at = _app("views/compare.py")
    at.button(key="compare.button").click().run()
    assert not at.exception, at.exception
    table = at.table[0].value
    assert list(table["model"]) == cache.distinct_checkpoint_names()
    assert {"label", "confidence", "latency (ms)", "trained on", "test UA"} <= set(table.columns)
    assert len(at.metric) == 3
    assert len(at.get("plotly_chart")) == 2 + len(table)  # chart, ensemble, one map per model


def test_bias_page_breaks_down_and_lists_errors(checkpoints: Path) -> None:
    at = _app("views/bias.py")
    assert not at.exception, at.exception
    at.selectbox(key="bias.by").set_value("gender").run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) >= 3  # groups, two confusion matrices
    assert any(b.label.startswith("Download the errors") for b in at.get("download_button"))


@pytest.fixture(scope="module")
def adapted_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A speaker-adapted whisper_tiny head as ``default`` (trained on the demo corpus)."""
    from ser_core.app_support.demo import write_demo_corpus
    from ser_core.data import get_corpus_info
    from ser_core.training import TrainConfig, train

    base = tmp_path_factory.mktemp("adapted")
    corpus = write_demo_corpus(base / "corpus", speakers=4, per_emotion=2)
    manifest = get_corpus_info("folder").prepare(corpus, name="synthetic", speaker_from=r"(spk\d+)")
    config = TrainConfig(
        model="whisper_tiny",
        model_config={"layer_pooling": "per_layer", "hidden": []},
        corpora=["synthetic"],
        epochs=2,
        speaker_adapt=True,
        batch_size=8,
        progress=False,
        num_threads=1,
        split_options={"test_fraction": 0.25, "val_fraction": 0.25},
    )
    train(config, base / "checkpoints" / "default", manifest=manifest)
    return base / "checkpoints"


def test_detect_with_a_speaker_adapted_model_asks_for_an_enrolment(
    adapted_checkpoints: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SER_CHECKPOINTS", str(adapted_checkpoints))
    assert cache.needs_enrolment("default")
    at = _app()
    clip = ("clip.wav", to_wav_bytes(synthetic_vowel(2.0)), "audio/wav")
    at.file_uploader(key="detect.upload").set_value(clip).run()
    at.button(key="detect.button").click().run()
    assert not at.exception, at.exception
    errors = _errors(at)
    assert any("needs a few clips of the speaker's voice" in e for e in errors), errors
    assert not [e for e in errors if "Predictor" in e or "adapted_to" in e]  # no API names
    assert not at.metric
    enrolment = [
        (f"me{i}.wav", to_wav_bytes(synthetic_vowel(2.0, 120.0 + 15 * i)), "audio/wav")
        for i in range(2)
    ]
    at.file_uploader(key="detect.enrol_upload").set_value(enrolment).run()
    at.audio_input(key="detect.enrol_record").upload(  # a third clip, from the microphone
        "recording.wav", to_wav_bytes(synthetic_vowel(2.0, 160.0))
    ).run()
    at.button(key="detect.enrol").click().run()
    assert not at.exception, at.exception
    assert any("Enrolled 3 clip(s)" in s.value for s in at.success)
    at.button(key="detect.button").click().run()
    assert not at.exception, at.exception
    assert not _errors(at)
    assert at.metric and at.metric[0].value in cache.load("default").labels
    assert "speaker-adapted" in at.metric[0].label


@pytest.fixture(scope="module")
def exported_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An (untrained) whisper_tiny head as ``default``, with its exported pipeline in the cache."""
    from ser_core.inference import load_predictor
    from ser_core.inference.exported import export_head
    from ser_core.models import create_model

    base = tmp_path_factory.mktemp("exported") / "checkpoints"
    model = create_model("whisper_tiny", 2, layer_pooling="per_layer")
    model.labels = ["calm", "loud"]
    model.save_pretrained(base / "default")
    with pytest.MonkeyPatch.context() as patch:  # the tests' cache, as conftest sets it
        patch.setenv("SER_CACHE", str(tmp_path_factory.getbasetemp() / "ser_cache"))
        export_head(load_predictor(base / "default"))
    return base


def test_detect_is_one_pass_on_one_runtime(
    exported_checkpoints: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Detect click on a Whisper head (issue 22): one ``analyse`` call, one encoder run (its
    explanation's pass gives the label), nothing from the exported ONNX head or a separate
    ``predict_signal`` / ``explain``; the label, the explanation and the mel still show."""
    from ser_core.features.encoder_states import cached_encoder
    from ser_core.inference import Predictor
    from ser_core.inference.exported import ExportedPredictor

    monkeypatch.setenv("SER_CHECKPOINTS", str(exported_checkpoints))
    preload.preload("default")  # the app's own background load, done before the spies
    predictor = cache.load("default")  # (its load predicts once to warm up)
    clip = synthetic_vowel(2.0)
    own = predictor.predict_signal(clip, 16_000)
    predictor.analyse(clip, 16_000)  # warm the attention graph too

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a second pass")

    monkeypatch.setattr(ExportedPredictor, "predict_signal", refuse)
    monkeypatch.setattr(Predictor, "predict_signal", refuse)
    monkeypatch.setattr(Predictor, "explain", refuse)
    analysed: list[float] = []
    original = Predictor.analyse

    def counted(self, source, *args, **kwargs):  # type: ignore[no-untyped-def]
        analysed.append(source.duration)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(Predictor, "analyse", counted)
    encoder = cached_encoder("whisper_tiny")
    runs: list[int] = []
    owner, name = (encoder.graphs, "run") if hasattr(encoder, "graphs") else (encoder, "forward")
    run = getattr(owner, name)

    def counted_run(*args, **kwargs):  # type: ignore[no-untyped-def]
        runs.append(1)
        return run(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted_run)
    at = _app()
    at.file_uploader(key="detect.upload").upload("clip.wav", to_wav_bytes(clip), "audio/wav")
    at.run()
    at.button(key="detect.button").click().run()
    assert not at.exception, at.exception
    assert not _errors(at)
    assert at.metric[0].value == own.label
    assert len(analysed) == 1 and analysed[0] == pytest.approx(2.0, abs=0.01)
    assert len(runs) == 1, "one encoder pass per click"
    assert any("whisper_tiny" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) >= 4  # probabilities, waveform, mel, explanation
