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
KEYED_PAGES = ["views/compare.py", "views/live.py", "views/bias.py", "views/models.py"]

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
    at = _app("views/models.py")
    assert not at.exception, at.exception
    counts = [m.value for m in at.metric if m.label == "Parameters"]
    assert len(counts) == len(cache.distinct_checkpoint_names())
    assert all(value != "–" for value in counts), counts


# ----------------------------------------------------------------------------- issue fixes:
# Models (latency of a speaker-adapted model, a broken card, the parameter metric), Compare (test
# set column, table height, speaker-adapted label) and Bias (corpora without the column).
ADAPTED = "whisper_base-emodb-adapted"  # shipped; its config says it needs an enrolment


@pytest.fixture(scope="module")
def adapted_folder(checkpoints: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo models and the shipped speaker-adapted whisper head (tests point
    ``SER_CHECKPOINTS`` here with monkeypatch, so later tests keep the demo folder)."""
    folder = tmp_path_factory.mktemp("adapted") / "checkpoints"
    shutil.copytree(checkpoints, folder)
    shutil.copytree(ROOT / "checkpoints" / ADAPTED, folder / ADAPTED)
    return folder


@pytest.fixture(scope="module")
def broken_folder(adapted_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``adapted_folder`` and a ``broken`` checkpoint (unreadable weights), listed before it."""
    folder = tmp_path_factory.mktemp("broken") / "checkpoints"
    shutil.copytree(adapted_folder, folder)
    shutil.copytree(folder / "cnn", folder / "broken")
    (folder / "broken" / "model.safetensors").write_bytes(b"not a safetensors file")
    return folder


def test_models_page_renders_every_card_with_a_speaker_adapted_and_a_broken_model(
    broken_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SER_CHECKPOINTS", str(broken_folder))
    names = cache.distinct_checkpoint_names()
    assert ADAPTED in names and names.index("broken") < names.index(ADAPTED)
    at = _app("views/models.py")
    assert at.toggle(key=session.MODELS_LATENCY).value  # latency on, as on a first visit
    assert not at.exception, at.exception
    shown = [h.value.split(" · ")[0] for h in at.subheader]
    assert shown == [n for n in names if n != "broken"]  # every card after the broken one too
    assert any("broken" in m.value and "cannot be shown" in m.value for m in at.markdown)
    assert len(at.error) == 1  # the broken checkpoint's message, nothing else
    latencies = [m.value for m in at.metric if m.label.startswith("Latency")]
    assert len(latencies) == len(names) - 1
    assert all(v.endswith(" ms") for v in latencies), latencies  # the adapted one measured too
    # Said in the app's words: where to enrol, no API names.
    hint = [i.value for i in at.info if "Speaker enrolment" in i.value]
    assert len(hint) == 1 and "Detect page" in hint[0]
    texts = [e.value for e in (*at.info, *at.error, *at.markdown, *at.caption)]
    assert not [t for t in texts if re.search(r"Predictor\.|adapted_to|enrolment\(", t)]


def test_models_page_parameter_metric_fits_and_the_encoder_size_is_on_the_card(
    adapted_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SER_CHECKPOINTS", str(adapted_folder))
    at = _app("views/models.py")
    at.toggle(key=session.MODELS_LATENCY).set_value(False).run()  # (latency: the test above)
    assert not at.exception, at.exception
    values = [m.value for m in at.metric if m.label == "Parameters"]
    assert values and all(0 < len(v) <= 12 for v in values), values  # not cut off at 1400 px
    encoder = cache.model_card(ADAPTED).encoder_parameters
    assert encoder, "the whisper encoder is cached once its head has loaded"
    captions = [c.value for c in at.caption if "frozen encoder" in c.value]
    assert len(captions) == 1 and f"{encoder / 1e6:.1f}M" in captions[0], captions


def test_measure_latency_enrols_a_synthetic_voice_for_a_speaker_adapted_model(
    adapted_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SER_CHECKPOINTS", str(adapted_folder))
    predictor = cache.load(ADAPTED)
    assert predictor.speaker_adapted and predictor.speaker is None
    assert 0 < cache.measure_latency(predictor, seconds=1.0, repeats=1) < 60
    assert predictor.speaker is None  # the shared predictor is left without an enrolment


def test_describe_test_set_names_the_corpus_and_what_was_held_out() -> None:
    def config(**data: Any) -> dict[str, Any]:
        return {"data": data}

    emodb = config(
        corpora=["emodb"],
        split={"protocol": "speaker-holdout", "test_groups": ["emodb:15", "emodb:16"]},
        n_test=127,
    )
    assert cache.describe_test_set(emodb) == "emodb · speakers 15, 16 held out · 127 clips"
    ravdess = config(
        corpora=["ravdess"],
        split={
            "protocol": "speaker-holdout",
            "test_groups": [f"ravdess:{i}" for i in range(19, 25)],
        },
    )
    assert cache.describe_test_set(ravdess) == "ravdess · speakers 19–24 held out"
    tess = config(corpora=["tess"], protocol="text-holdout", split={"test_groups": ["tess:a"] * 3})
    assert cache.describe_test_set(tess) == "tess · 3 texts held out (same speakers)"
    groups = ["emodb:15", "tess:tess/tess:back", "tess:tess/tess:beg"]
    mixed = config(
        corpora=["emodb", "tess"], split={"protocol": "per-corpus", "test_groups": groups}
    )
    assert cache.describe_test_set(mixed) == (
        "emodb: speaker 15 held out; tess: 2 texts held out (same speakers)"
    )
    assert cache.describe_test_set({}) == ""
    for name in ("cnn-emodb", "lstm-tess", "default"):  # the shipped checkpoints
        shipped = json.loads((ROOT / "checkpoints" / name / "config.json").read_text())
        described = cache.describe_test_set(shipped)
        assert all(c in described for c in shipped["data"]["corpora"]), described


def test_compare_table_names_each_test_set_and_shows_every_row(checkpoints: Path) -> None:
    at = _app("views/compare.py")
    at.button(key=session.COMPARE_BUTTON).click().run()
    assert not at.exception, at.exception
    assert not at.dataframe  # a static table: no inner scroll bar, long cells wrap
    table = at.table[0].value
    assert len(table) == len(cache.distinct_checkpoint_names())  # every row
    columns = list(table.columns)
    assert columns.index("test set") == columns.index("test UA") + 1  # side by side
    assert "trained on" in columns
    assert all(v.startswith("synthetic · ") and "held out" in v for v in table["test set"])


def test_compare_labels_a_speaker_adapted_result(
    adapted_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SER_CHECKPOINTS", str(adapted_folder))
    predictor = cache.load(ADAPTED)
    from ser_core.app_support.samples import synthetic_vowel

    voice = synthetic_vowel(4.0, 140.0, 110.0, seed=5)
    at = _app("views/compare.py")
    at.session_state[session.ENROLMENTS] = {ADAPTED: predictor.enrolment([voice], 16000)}
    at.button(key=session.COMPARE_BUTTON).click().run()
    assert not at.exception, at.exception
    assert not at.error
    table = at.table[0].value.set_index("model")
    row = table.loc[f"{ADAPTED} (speaker-adapted)"]
    assert row["note"] == "adapted to the enrolled speaker"
    assert row["test set"] == "emodb · speakers 15, 16 held out · 127 clips"
    assert {"cnn", "svm"} <= set(table.index)
    assert not at.info  # nothing waits for an enrolment


def test_breakdown_within_corpus_leaves_out_corpora_without_the_column() -> None:
    import pandas as pd

    from ser_core.evaluation import UNKNOWN, breakdown
    from ser_core.scoring.groups import defined_rows

    n = 12
    frame = pd.DataFrame(
        {
            "path": [f"f{i}.wav" for i in range(2 * n)],
            "corpus": ["ravdess"] * n + ["emodb"] * n,  # EMO-DB has no intensity
            "intensity": ["normal", "strong"] * (n // 2) + [None] * n,
            "true": ["a", "b", "c"] * (2 * n // 3),
            "predicted": ["a", "a", "c", "b"] * (2 * n // 4),
            "prob_a": 0.5,
            "prob_b": 0.3,
            "prob_c": 0.2,
        }
    )
    assert defined_rows(frame, "intensity").tolist() == [True] * n + [False] * n
    report = breakdown(frame, "intensity", metrics=("ua",), n_boot=0, within="corpus")
    assert list(report.by_group.index) == ["normal", "strong"]  # no "unknown" bar of EMO-DB
    assert report.overall["n"] == n
    gap = report.difference()
    assert not gap.isna().any().any(), gap
    # A row missing the value in a corpus that does define the column is still "unknown".
    frame.loc[0, "intensity"] = None
    report = breakdown(frame, "intensity", metrics=("ua",), n_boot=0, within="corpus")
    assert list(report.by_group.index) == ["normal", "strong", UNKNOWN]
    # Without ``within`` nothing changes: the old pooled view.
    assert UNKNOWN in breakdown(frame, "intensity", metrics=("ua",), n_boot=0).by_group.index
    with pytest.raises(Exception, match="records intensity"):
        breakdown(frame[frame["corpus"] == "emodb"], "intensity", n_boot=0, within="corpus")


def test_bias_page_shows_no_none_and_no_unknown_group_for_a_corpus_without_the_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "checkpoints"
    for name in ("svm-ravdess", "svm-emodb"):  # RAVDESS records intensity, EMO-DB does not
        (folder / name).mkdir(parents=True)
        for file in ("config.json", "predictions.parquet"):
            shutil.copy(ROOT / "checkpoints" / name / file, folder / name / file)
    monkeypatch.setenv("SER_CHECKPOINTS", str(folder))
    at = _app("views/bias.py")
    at.selectbox(key=session.BIAS_BY).set_value("intensity").run()
    assert not at.exception, at.exception
    assert set(at.multiselect(key=session.BIAS_MODELS).value) == {"svm-ravdess", "svm-emodb"}
    gaps = at.dataframe[0].value  # the gap table, then the group table
    assert list(gaps["model"]) == ["svm-ravdess"]
    assert not gaps.isna().any().any(), gaps
    groups = at.dataframe[1].value
    assert "unknown" not in set(groups["intensity"].astype(str))
    assert set(groups["model"]) == {"svm-ravdess"}
    assert any("svm-emodb" in c.value and "no intensity labels" in c.value for c in at.caption)


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
    at = _app("views/compare.py")
    at.button(key=session.COMPARE_BUTTON).click().run()
    assert not at.exception, at.exception
    table = at.table[0].value
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

    at = _app("views/compare.py")
    at.button(key=session.COMPARE_BUTTON).click().run()
    assert not at.exception, at.exception
    assert not at.error
    table = at.table[0].value.set_index("model")
    adapted = {"cnn-adapted": "cnn-adapted (speaker-adapted)"}  # labelled wherever it is listed
    assert list(table.index) == [adapted.get(n, n) for n in cache.distinct_checkpoint_names()]
    assert table.loc["cnn-adapted (speaker-adapted)", "note"] == "needs enrolment"
    assert table["label"].isna().sum() == 1
    assert table.loc["cnn-adapted (speaker-adapted)", "trained on"] == "synthetic"
    assert any("cnn-adapted is speaker-adapted" in i.value for i in at.info)
    assert len(at.metric) == 3
    assert len(at.get("plotly_chart")) == 2 + 2  # chart, ensemble, maps of cnn and svm only


# ----------------------------------------------------------------------------- bias
def test_bias_page_offers_csv_downloads_and_always_intervals(checkpoints: Path) -> None:
    at = _app("views/bias.py")
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
