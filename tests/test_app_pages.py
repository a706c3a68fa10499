"""The Compare, Live, Bias and Models pages: parameter counts, widget keys, enrolment rows and
the Bias page's downloads.

Like ``tests/test_app.py``, a module fixture trains two tiny demo models (``cnn``, ``svm``) on a
synthetic corpus into a temp folder and points ``SER_CHECKPOINTS`` at it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ser_core.app_support import cache, session

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
KEYED_PAGES = ["pages/compare.py", "pages/live.py", "pages/bias.py", "pages/models.py"]

pytestmark = pytest.mark.slow


def _app(page: str):  # -> AppTest
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(page).run()
    return at


def _write_config(folder: Path, config: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


# ----------------------------------------------------------------------------- model cards
@pytest.mark.parametrize("name", ["cnn", "svm"])
def test_cards_of_the_demo_models_count_parameters(checkpoints: Path, name: str) -> None:
    card = cache.model_card(name, cache.load(name))
    assert card.parameters is not None and card.parameters > 0
    assert card.encoder_parameters is None  # neither runs on a pretrained encoder


def test_a_frozen_encoder_head_counts_the_encoder_from_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.numpy import save_file

    monkeypatch.setenv("SER_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("SER_CACHE", str(tmp_path / "cache"))
    encoder_dir = tmp_path / "cache" / "encoders" / "tiny_encoder"
    encoder_dir.mkdir(parents=True)
    tensors = {"conv.weight": np.zeros((4, 3, 2), np.float32), "ln.bias": np.zeros(5, np.float16)}
    save_file(tensors, str(encoder_dir / "model.safetensors"))
    head = {"features": "encoder_states", "encoder": "tiny_encoder"}
    _write_config(tmp_path / "checkpoints" / "head", {"name": "whisper_base", "config": head})
    inside = {"features": "waveform", "encoder": "tiny_encoder"}  # counted with the model
    _write_config(tmp_path / "checkpoints" / "inside", {"name": "whisper_base", "config": inside})
    missing = {"features": "encoder_states", "encoder": "not_cached"}
    _write_config(tmp_path / "checkpoints" / "missing", {"name": "whisper_base", "config": missing})

    assert cache.model_card("head").encoder_parameters == 4 * 3 * 2 + 5
    assert cache.model_card("inside").encoder_parameters is None
    assert cache.model_card("missing").encoder_parameters is None
    assert not (tmp_path / "cache" / "encoders" / "not_cached").exists()


def test_models_page_shows_a_parameter_count_for_every_model(checkpoints: Path) -> None:
    at = _app("pages/models.py")
    assert not at.exception, at.exception
    counts = [m.value for m in at.metric if m.label == "Parameters"]
    assert len(counts) == len(cache.distinct_checkpoint_names())
    assert all(value != "–" for value in counts), counts


# ----------------------------------------------------------------------------- keys
@pytest.mark.parametrize("page", KEYED_PAGES)
def test_pages_spell_no_key_as_a_literal(page: str) -> None:
    source = (ROOT / page).read_text(encoding="utf-8")
    literals = re.findall(r"""\bkey\s*=\s*[rbfu]*["']""", source)
    assert not literals, f"{page} spells a key literally; use ser_core.app_support.session"


def test_session_keys_are_unique_and_chart_keys_namespaced() -> None:
    assert len(set(session.ALL_KEYS)) == len(session.ALL_KEYS)
    assert all(k.split(".")[0] in (*session.PAGES, "app") for k in session.ALL_KEYS)
    # The Detect page's keys keep the values its tests and browser sessions use.
    assert session.DETECT_BUTTON == "detect.button"
    assert session.ENROL_BUTTON == "detect.enrol"
    assert session.ENROL_RECORD == "detect.enrol_record"
    assert session.DETECT_TIMELINE_CSV == "detect.timeline_csv"
    assert session.chart_key("compare", "explain", "cnn") == "compare.explain.cnn"
    with pytest.raises(ValueError, match="unknown page"):
        session.chart_key("nowhere", "chart")
    with pytest.raises(ValueError, match="needs a name"):
        session.chart_key("bias")
    with pytest.raises(ValueError, match="already a session key"):
        session.chart_key("bias", "gaps")


# ----------------------------------------------------------------------------- compare
def test_compare_lists_every_checkpoint(checkpoints: Path) -> None:
    at = _app("pages/compare.py")
    at.button(key=session.COMPARE_BUTTON).click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["model"]) == cache.distinct_checkpoint_names()
    assert table["label"].notna().all()
    assert not at.info  # nothing waits for an enrolment


def test_compare_lists_a_speaker_adapted_model_as_needing_enrolment(
    checkpoints: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "checkpoints"
    shutil.copytree(checkpoints, folder)
    adapted = folder / "cnn-adapted"
    shutil.copytree(folder / "cnn", adapted)
    config = json.loads((adapted / "config.json").read_text(encoding="utf-8"))
    config["config"]["speaker_adapted"] = True  # only the flag matters: it is never loaded
    (adapted / "config.json").write_text(json.dumps(config), encoding="utf-8")
    monkeypatch.setenv("SER_CHECKPOINTS", str(folder))
    assert cache.needs_enrolment("cnn-adapted")

    at = _app("pages/compare.py")
    at.button(key=session.COMPARE_BUTTON).click().run()
    assert not at.exception, at.exception
    assert not at.error
    table = at.dataframe[0].value.set_index("model")
    assert list(table.index) == cache.distinct_checkpoint_names()
    assert table.loc["cnn-adapted", "note"] == "needs enrolment"
    assert table["label"].isna().sum() == 1
    assert table.loc["cnn-adapted", "trained on"] == "synthetic"
    assert any("cnn-adapted is speaker-adapted" in i.value for i in at.info)
    assert len(at.metric) == 3
    assert len(at.get("plotly_chart")) == 2 + 2  # chart, ensemble, maps of cnn and svm only


# ----------------------------------------------------------------------------- bias
def test_bias_page_offers_csv_downloads_and_always_intervals(checkpoints: Path) -> None:
    at = _app("pages/bias.py")
    assert not at.exception, at.exception
    labels = {b.label for b in at.get("download_button")}
    assert {
        "Download the gaps (CSV)",
        "Download the counts (CSV)",
        "Download the row-normalised shares (CSV)",
        "Download the top confusions (CSV)",
    } <= labels
    slider = at.select_slider(key=session.BIAS_N_BOOT)
    assert min(int(o) for o in slider.options) >= 100  # 0 resamples would drop the error bars
