"""The demonstrator as a person uses it: a real Chromium, a real server, the shipped models.

Chromium (Debian's, driven by the ``playwright`` package without ``playwright install``) starts
with a fake capture device fed with speech (``--use-file-for-fake-audio-capture``): a 48 kHz WAV
made from EMO-DB clips when ``SER_CORPORA`` is set, or espeak-ng / synthetic speech otherwise.
So the microphone path is the browser's own: getUserMedia → WebRTC → streamlit-webrtc → the
Live page's session, and getUserMedia → MediaRecorder → ``st.audio_input`` on Detect. The
labels shown are compared with the predictor's own output for the same audio.

Set ``SER_SCREENSHOT_DIR`` to keep the screenshots (the README's come from there).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from ser_core.app_support import server
from ser_core.app_support.samples import espeak_available, espeak_wav, synthetic_vowel
from ser_core.audio import read_audio, resample

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
SHIPPED = ROOT / "checkpoints"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        server.chromium_path() is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium)",
    ),
]

# What a page shows when something crashed, or a decoder's internals leaked into a message.
LEAKS = ("Traceback", "UploadedFile(", "file_id=", "libsndfile", "FFmpeg:", "Errno", "upload_url")


def _speech(corpora: str | None) -> tuple[np.ndarray, int]:
    """About 10 s of speech: EMO-DB sentences with short pauses, else synthetic speech."""
    if corpora and (Path(corpora) / "emodb" / "wav").is_dir():
        files = sorted((Path(corpora) / "emodb" / "wav").glob("03a0*.flac"))[:4]
        parts = []
        for path in files:
            clip = read_audio(path)
            parts += [np.asarray(clip.signal), np.zeros(clip.sample_rate // 2, np.float32)]
        return np.concatenate(parts), 16_000
    if espeak_available():
        clip = read_audio(espeak_wav("I cannot believe you did that again. Get out of here now."))
        return np.asarray(clip.signal), clip.sample_rate
    return synthetic_vowel(8.0), 16_000


@pytest.fixture(scope="module")
def fake_microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 48 kHz 16-bit WAV for Chromium's fake capture device (it loops the file)."""
    signal, rate = _speech(os.environ.get("SER_CORPORA"))
    path = tmp_path_factory.mktemp("microphone") / "speech48k.wav"
    sf.write(path, resample(signal, rate, 48_000), 48_000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("SER_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app on the shipped checkpoints, as ``streamlit run app.py`` serves it."""
    with server.serve_app(APP, env={"SER_CHECKPOINTS": str(SHIPPED)}, timeout=120) as base:
        yield base


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """One Playwright driver for the module (a second sync driver cannot start inside it)."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any, fake_microphone: Path) -> Iterator[Any]:
    chromium = playwright.chromium.launch(
        executable_path=server.chromium_path(),
        args=[*server.CHROMIUM_ARGS, *server.fake_microphone_args(fake_microphone)],
    )
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    context.grant_permissions(["microphone"], origin=app_url)
    tab = context.new_page()
    yield tab
    context.close()


def _open(page: Any, url: str, heading: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=120_000)


def _no_crash(page: Any) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    text = page.locator("body").inner_text()
    assert not [leak for leak in LEAKS if leak in text], text[-2000:]


def _predicted(page: Any) -> str:
    metric = page.locator("[data-testid='stMetricValue']").first
    metric.wait_for(timeout=120_000)
    return str(metric.inner_text()).strip()


def _shown_audio(page: Any, app_url: str) -> bytes:
    """The bytes of the last audio player on the page (what the server decoded)."""
    src = page.locator("[data-testid='stAudio']").last.get_attribute("src")
    assert src, "no audio player on the page"
    reply = page.request.get(src if src.startswith("http") else f"{app_url}{src}")
    assert reply.ok, reply.status
    return bytes(reply.body())


def _predictor_label(audio: bytes) -> str:
    from ser_core.inference import load_predictor

    clip = read_audio(audio)
    return load_predictor(SHIPPED / "default").predict_signal(clip.signal, clip.sample_rate).label


# ----------------------------------------------------------------------------- navigation
def test_a_page_opened_first_after_a_start_keeps_the_apps_navigation(browser: Any) -> None:
    """A bookmark to /live right after the server starts: the page runs inside app.py (its
    sidebar and navigation), not as a stand-alone legacy page, which Streamlit does for any
    script in a folder named ``pages/`` beside the entry script."""
    with server.serve_app(APP, env={"SER_CHECKPOINTS": str(SHIPPED)}, timeout=120) as base:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        _open(page, f"{base}/live", "Live microphone")
        nav = page.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Compare models").wait_for(timeout=30_000)
        assert "_shared" not in nav.inner_text() and "shared" not in nav.inner_text().split()
        corpora = page.get_by_text("Corpora folder")
        corpora.wait_for(timeout=30_000)  # the sidebar's deltas may follow the navigation's
        assert corpora.count() == 1  # app.py's sidebar ran
        context.close()


# ----------------------------------------------------------------------------- live microphone
def test_live_page_hears_the_microphone_and_labels_speech(
    page: Any, app_url: str, shots: Path
) -> None:
    """START → the fake microphone's speech reaches the page and is classified within 30 s."""
    _open(page, f"{app_url}/live", "Live microphone")
    webrtc = page.frame_locator("iframe[title*='streamlit_webrtc']")
    webrtc.get_by_role("button", name="START").click(timeout=120_000)  # after the model loads
    received = page.get_by_text(re.compile(r"received [1-9]\d* s of audio"))
    received.first.wait_for(timeout=30_000)
    label = page.locator("[data-testid='stMetricValue']").first
    label.wait_for(timeout=30_000)
    page.wait_for_function(
        "el => el.innerText.trim() !== '…'", arg=label.element_handle(), timeout=30_000
    )
    from ser_core.inference import load_predictor

    assert label.inner_text().strip() in load_predictor(SHIPPED / "default").labels
    assert page.locator("video").count() == 0  # audio only: no video placeholder
    assert page.frame_locator("iframe[title*='streamlit_webrtc']").locator("video").count() == 0
    page.wait_for_timeout(8000)  # a few more steps for the timeline
    page.screenshot(path=str(shots / "live.png"), full_page=True)
    _no_crash(page)
    webrtc.get_by_role("button", name="STOP").click()


def test_live_page_says_what_to_do_when_the_microphone_is_refused(
    playwright: Any, app_url: str
) -> None:
    """No permission (the headless prompt refuses): the player reports it and the page says how
    to allow the microphone; nothing crashes and nothing is classified."""
    chromium = playwright.chromium.launch(
        executable_path=server.chromium_path(),
        args=[*server.CHROMIUM_ARGS, "--use-fake-device-for-media-stream"],  # no fake UI
    )
    try:
        page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        _open(page, f"{app_url}/live", "Live microphone")
        webrtc = page.frame_locator("iframe[title*='streamlit_webrtc']")
        webrtc.get_by_role("button", name="START").click(timeout=120_000)
        webrtc.get_by_text(re.compile("Permission denied")).wait_for(timeout=30_000)
        assert page.get_by_text(re.compile("allow the microphone for this site")).count() == 1
        assert page.get_by_text(re.compile(r"received 0 s of audio")).count() == 1
        _no_crash(page)
    finally:
        chromium.close()


# ----------------------------------------------------------------------------- detect
def test_detect_records_from_the_microphone_and_labels_as_the_predictor_does(
    page: Any, app_url: str
) -> None:
    """st.audio_input records the fake device; Detect's label is the predictor's own."""
    _open(page, app_url, "Detect the emotion in a clip")
    page.get_by_text("Record from the microphone").click()
    recorder = page.locator("[data-testid='stAudioInput']")
    recorder.get_by_role("button", name=re.compile("record", re.I)).first.click(timeout=30_000)
    page.wait_for_timeout(4000)
    recorder.get_by_role("button", name=re.compile("stop", re.I)).first.click()
    page.get_by_role("button", name="Detect", exact=True).click(timeout=60_000)
    label = _predicted(page)
    _no_crash(page)
    assert label == _predictor_label(_shown_audio(page, app_url))


def test_detect_labels_an_upload_as_the_predictor_does(
    page: Any, app_url: str, fake_microphone: Path, shots: Path
) -> None:
    _open(page, app_url, "Detect the emotion in a clip")
    page.locator("input[type=file]").first.set_input_files(str(fake_microphone))
    page.get_by_role("button", name="Detect", exact=True).click(timeout=60_000)
    label = _predicted(page)
    assert label == _predictor_label(fake_microphone.read_bytes())
    page.get_by_role("tab", name="Mel spectrogram").click()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / "detect.png"), full_page=True)
    _no_crash(page)


def test_a_file_that_is_not_audio_gets_a_plain_message_on_upload(
    page: Any, app_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_text("this is not audio\n" * 20)
    _open(page, app_url, "Detect the emotion in a clip")
    page.locator("input[type=file]").first.set_input_files(str(bad))
    alert = page.locator("[data-testid='stAlertContentError']").first
    alert.wait_for(timeout=30_000)  # on upload, before any Detect click
    assert "audio" in alert.inner_text().lower()
    assert page.locator("[data-testid='stAudio']").count() == 0  # no empty 0:00 player
    _no_crash(page)


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("", "Detect the emotion in a clip"),
        ("compare", "Compare models on one clip"),
        ("live", "Live microphone"),
        ("bias", "Bias and accuracy explorer"),
        ("models", "Models"),
    ],
)
def test_every_page_opens_without_an_exception(
    page: Any, app_url: str, path: str, heading: str
) -> None:
    _open(page, f"{app_url}/{path}", heading)
    page.wait_for_timeout(3000 if path == "models" else 1000)
    _no_crash(page)
