"""Corpus loaders, manifests, registry and summary on tiny files the tests write themselves.

Every file is named exactly as in the real releases (including their quirks), but holds 0.3-0.5 s
of noise, so these tests need no corpus and run in a second.
"""

from __future__ import annotations

import json
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_core.data import (
    EMOTIONS,
    MANIFEST_COLUMNS,
    CorpusWarning,
    find_corpora,
    list_corpora,
    load_corpora,
    load_corpus,
    make_manifest,
    normalize_emotion,
    summarize,
    validate_manifest,
)
from ser_core.data.corpora.cremad import prepare_cremad
from ser_core.data.corpora.emodb import prepare_emodb
from ser_core.data.corpora.esd import prepare_esd
from ser_core.data.corpora.folder import prepare_folder
from ser_core.data.corpora.jl import prepare_jl
from ser_core.data.corpora.ravdess import prepare_ravdess
from ser_core.data.corpora.savee import prepare_savee
from ser_core.data.corpora.tess import prepare_tess
from ser_core.errors import CorpusError

SR = 16_000


def write_audio(path: Path, seconds: float = 0.4) -> Path:
    """A short noise clip at ``path`` (format from the extension), parents created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    signal = (0.1 * rng.standard_normal(round(seconds * SR))).astype(np.float32)
    sf.write(path, signal, SR)
    return path


def write_files(root: Path, names: list[str], seconds: float = 0.4) -> None:
    for name in names:
        write_audio(root / name, seconds)


def by_name(manifest: pd.DataFrame) -> dict[str, pd.Series]:
    """Rows keyed by file name, for readable assertions."""
    return {
        Path(p).name: row for p, (_, row) in zip(manifest["path"], manifest.iterrows(), strict=True)
    }


def check_manifest_shape(manifest: pd.DataFrame, corpus: str) -> None:
    assert tuple(manifest.columns[: len(MANIFEST_COLUMNS)]) == MANIFEST_COLUMNS
    assert list(manifest["path"]) == sorted(manifest["path"])
    assert (manifest["corpus"] == corpus).all()
    assert manifest["emotion"].isin(EMOTIONS).all()
    for column in ("path", "speaker", "gender", "emotion", "intensity", "text", "language"):
        assert manifest[column].dtype == object, column
    assert manifest["age"].dtype == np.float64
    assert manifest["duration"].dtype == np.float64
    assert isinstance(manifest.index, pd.RangeIndex)
    validate_manifest(manifest)


# --------------------------------------------------------------------------------------- EMO-DB


@pytest.fixture
def emodb_root(tmp_path: Path) -> Path:
    root = tmp_path / "emodb"
    write_files(
        root / "wav",
        ["03a01Fa.wav", "08a02Lb.wav", "16b10Ec.flac", "09b03Td.WAV", "bad_name.wav"],
    )
    (root / "wav" / "notes.txt").write_text("not audio")
    write_audio(root / "wav" / "._03a01Fa.wav")  # macOS AppleDouble litter: ignored silently
    (root / "human_ratings.tsv").write_text(
        "file\trecognized_pct\tnatural_pct\n03a01Fa\t90.00\t75.00\n08a02Lb\t100.00\t95.00\n"
    )
    return root


def test_emodb_fields_and_ratings(emodb_root: Path) -> None:
    with pytest.warns(CorpusWarning, match="bad_name.wav"):
        manifest = prepare_emodb(emodb_root)
    check_manifest_shape(manifest, "emodb")
    rows = by_name(manifest)
    assert set(rows) == {"03a01Fa.wav", "08a02Lb.wav", "16b10Ec.flac", "09b03Td.WAV"}
    happy = rows["03a01Fa.wav"]
    assert (happy.speaker, happy.gender, happy.age) == ("emodb:03", "m", 31.0)
    assert (happy.emotion, happy.text, happy.language, happy.version) == ("happy", "a01", "de", "a")
    assert happy.intensity is pd.NA
    assert happy.duration == pytest.approx(0.4, abs=1e-3)
    assert (happy.human_recognized_pct, happy.human_natural_pct) == (90.0, 75.0)
    assert happy.transcript == "Der Lappen liegt auf dem Eisschrank."
    assert rows["08a02Lb.wav"].emotion == "boredom"
    assert (rows["16b10Ec.flac"].emotion, rows["16b10Ec.flac"].gender) == ("disgust", "f")
    assert rows["09b03Td.WAV"].emotion == "sad"
    assert np.isnan(rows["16b10Ec.flac"].human_recognized_pct)  # not in the ratings file


def test_emodb_wav_folder_as_root_is_the_same(emodb_root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorpusWarning)
        from_corpus = prepare_emodb(emodb_root)
        from_wav = prepare_emodb(emodb_root / "wav")
    pd.testing.assert_frame_equal(from_corpus, from_wav)


def test_emodb_is_idempotent(emodb_root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorpusWarning)
        pd.testing.assert_frame_equal(prepare_emodb(emodb_root), prepare_emodb(emodb_root))


def test_emodb_without_ratings(tmp_path: Path) -> None:
    write_files(tmp_path / "wav", ["03a01Wa.wav"])
    manifest = prepare_emodb(tmp_path)
    assert manifest.loc[0, "emotion"] == "angry"
    assert np.isnan(manifest.loc[0, "human_recognized_pct"])


def test_emodb_ratings_without_columns_raise(tmp_path: Path) -> None:
    write_files(tmp_path / "wav", ["03a01Wa.wav"])
    (tmp_path / "human_ratings.tsv").write_text("name\tscore\n03a01Wa\t1\n")
    with pytest.raises(CorpusError, match="recognized_pct"):
        prepare_emodb(tmp_path)


# -------------------------------------------------------------------------------------- RAVDESS


def test_ravdess_fields_speech_only_and_modalities(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        [
            "Actor_01/03-01-05-02-01-01-01.wav",  # angry, strong, statement 1, male
            "Actor_02/03-01-01-01-02-02-02.flac",  # neutral, normal, statement 2, female
            "Actor_01/03-02-05-01-01-01-01.wav",  # song: excluded
            "Actor_02/01-01-01-01-02-02-02.wav",  # the same recording from the AV file: deduped
            "Actor_01/01-01-08-02-02-01-01.wav",  # AV-extracted audio without twin: kept
            "Actor_01/README.wav",  # does not parse
        ],
    )
    with pytest.warns(CorpusWarning) as caught:
        manifest = prepare_ravdess(tmp_path)
    messages = " ".join(str(w.message) for w in caught)
    assert "README.wav" in messages
    assert "duplicate" in messages
    check_manifest_shape(manifest, "ravdess")
    rows = by_name(manifest)
    assert set(rows) == {
        "03-01-05-02-01-01-01.wav",
        "03-01-01-01-02-02-02.flac",
        "01-01-08-02-02-01-01.wav",
    }
    angry = rows["03-01-05-02-01-01-01.wav"]
    assert (angry.speaker, angry.gender, angry.emotion, angry.intensity) == (
        "ravdess:01",
        "m",
        "angry",
        "strong",
    )
    assert (angry.text, angry.language, angry.repetition, angry.modality) == ("01", "en", 1, "03")
    assert angry.utterance_id == "03-01-05-02-01-01-01"
    assert angry.transcript == "Kids are talking by the door"
    assert np.isnan(angry.age)
    neutral = rows["03-01-01-01-02-02-02.flac"]
    assert (neutral.speaker, neutral.gender, neutral.emotion, neutral.intensity) == (
        "ravdess:02",
        "f",
        "neutral",
        "normal",
    )
    assert (neutral.text, neutral.repetition) == ("02", 2)
    assert rows["01-01-08-02-02-01-01.wav"].emotion == "surprised"


def test_ravdess_song_only_raises(tmp_path: Path) -> None:
    write_files(tmp_path, ["Actor_01/03-02-05-01-01-01-01.wav"])
    with pytest.raises(CorpusError, match="song"):
        prepare_ravdess(tmp_path)


# ----------------------------------------------------------------------------------------- TESS


def test_tess_quirks(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        [
            "OAF_angry/OAF_back_angry.wav",
            "OAF_neutral/OA_bite_neutral.wav",  # the release's OA prefix
            "OAF_Pleasant_surprise/OAF_dog_ps.wav",  # ps in file names
            "YAF_pleasant_surprised/YAF_dog_ps.flac",
            "YAF_fear/YAF_dog_fear.wav",
            "YAF_sad/YAF_germ_sad.WAV",
            "YAF_happy/YAF_rain_sad.wav",  # folder disagrees: the file name wins
            "copy/TESS/OAF_angry/OAF_back_angry.wav",  # Kaggle's nested second copy
            "YAF_sad/YAF_germ.wav",  # does not parse
        ],
    )
    with pytest.warns(CorpusWarning) as caught:
        manifest = prepare_tess(tmp_path)
    messages = " ".join(str(w.message) for w in caught)
    assert "YAF_germ.wav" in messages
    assert "YAF_rain_sad.wav" in messages
    assert "duplicate" in messages
    check_manifest_shape(manifest, "tess")
    assert len(manifest) == 7
    rows = by_name(manifest)
    bite = rows["OA_bite_neutral.wav"]
    assert (bite.speaker, bite.gender, bite.age, bite.emotion, bite.text) == (
        "tess:OAF",
        "f",
        64.0,
        "neutral",
        "bite",
    )
    assert rows["OAF_dog_ps.wav"].emotion == "surprised"
    assert (rows["YAF_dog_ps.flac"].emotion, rows["YAF_dog_ps.flac"].age) == ("surprised", 26.0)
    assert rows["YAF_dog_fear.wav"].emotion == "fearful"
    assert rows["YAF_rain_sad.wav"].emotion == "sad"
    assert set(manifest["speaker"]) == {"tess:OAF", "tess:YAF"}
    assert (manifest["language"] == "en").all()
    assert manifest["intensity"].isna().all()


# -------------------------------------------------------------------------------------- CREMA-D

CREMAD_FILES = [
    "1001_DFA_ANG_XX.wav",
    "1002_IEO_HAP_HI.wav",
    "1002_IEO_SAD_LO.flac",
    "1091_TSI_FEA_MD.wav",
]


def test_cremad_with_demographics(tmp_path: Path) -> None:
    write_files(tmp_path / "AudioWAV", CREMAD_FILES)
    write_audio(tmp_path / "AudioMP3" / "1001_DFA_ANG_XX.mp3")  # the lossy twin: dropped
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n"
        "1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n"
        "1091,29,Female,Asian,Not Hispanic\n"
    )
    with pytest.warns(CorpusWarning, match="duplicate"):
        manifest = prepare_cremad(tmp_path)
    check_manifest_shape(manifest, "cremad")
    rows = by_name(manifest)
    assert set(rows) == set(CREMAD_FILES)
    angry = rows["1001_DFA_ANG_XX.wav"]
    assert (angry.speaker, angry.gender, angry.age, angry.emotion) == (
        "cremad:1001",
        "m",
        51.0,
        "angry",
    )
    assert (angry.intensity, angry.text, angry.race) == ("unspecified", "DFA", "Caucasian")
    assert angry.transcript == "Don't forget a jacket"
    happy = rows["1002_IEO_HAP_HI.wav"]
    assert (happy.gender, happy.emotion, happy.intensity) == ("f", "happy", "high")
    assert rows["1002_IEO_SAD_LO.flac"].intensity == "low"
    assert (rows["1091_TSI_FEA_MD.wav"].emotion, rows["1091_TSI_FEA_MD.wav"].intensity) == (
        "fearful",
        "medium",
    )


def test_cremad_audio_folder_as_root_finds_demographics_in_parent(tmp_path: Path) -> None:
    write_files(tmp_path / "AudioWAV", CREMAD_FILES[:1])
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,X,Y\n"
    )
    manifest = prepare_cremad(tmp_path / "AudioWAV")
    assert manifest.loc[0, "gender"] == "m"


def test_cremad_without_demographics(tmp_path: Path) -> None:
    write_files(tmp_path / "AudioWAV", CREMAD_FILES)
    manifest = prepare_cremad(tmp_path)
    check_manifest_shape(manifest, "cremad")
    assert manifest["gender"].isna().all()
    assert manifest["age"].isna().all()
    assert manifest["gender"].iloc[0] is pd.NA


def test_cremad_empty_clip_is_skipped(tmp_path: Path) -> None:
    write_files(tmp_path, CREMAD_FILES[:1])
    write_audio(tmp_path / "1076_MTI_SAD_XX.wav", seconds=0.0)  # a header without samples
    with pytest.warns(CorpusWarning, match="1076_MTI_SAD_XX"):
        manifest = prepare_cremad(tmp_path)
    assert list(manifest["speaker"]) == ["cremad:1001"]


# ---------------------------------------------------------------------------------------- SAVEE


def test_savee_original_layout(tmp_path: Path) -> None:
    write_files(
        tmp_path / "AudioData",
        ["DC/a01.wav", "DC/sa03.wav", "JK/su15.wav", "KL/n30.flac", "JE/d02.wav", "JE/f07.wav"],
    )
    (tmp_path / "AudioData" / "Info.txt").write_text("SAVEE")
    manifest = prepare_savee(tmp_path / "AudioData")
    check_manifest_shape(manifest, "savee")
    rows = by_name(manifest)
    assert (rows["a01.wav"].speaker, rows["a01.wav"].emotion, rows["a01.wav"].text) == (
        "savee:DC",
        "angry",
        "a01",
    )
    assert rows["sa03.wav"].emotion == "sad"
    assert (rows["su15.wav"].emotion, rows["su15.wav"].speaker) == ("surprised", "savee:JK")
    assert rows["n30.flac"].emotion == "neutral"
    assert rows["d02.wav"].emotion == "disgust"
    assert rows["f07.wav"].emotion == "fearful"
    assert (manifest["gender"] == "m").all()
    assert (manifest["language"] == "en").all()


def test_savee_flat_kaggle_layout(tmp_path: Path) -> None:
    write_files(
        tmp_path / "ALL", ["DC_a01.wav", "JE_h02.wav", "KL_sa01.wav", "KL_su02.wav", "XX.wav"]
    )
    with pytest.warns(CorpusWarning, match="XX.wav"):
        manifest = prepare_savee(tmp_path)
    rows = by_name(manifest)
    assert (rows["DC_a01.wav"].speaker, rows["DC_a01.wav"].emotion) == ("savee:DC", "angry")
    assert (rows["JE_h02.wav"].emotion, rows["JE_h02.wav"].text) == ("happy", "h02")
    assert (rows["KL_sa01.wav"].emotion, rows["KL_su02.wav"].emotion) == ("sad", "surprised")
    assert set(manifest["speaker"]) == {"savee:DC", "savee:JE", "savee:KL"}


# ------------------------------------------------------------------------------------------ ESD


def test_esd_nested_layout(tmp_path: Path) -> None:
    root = tmp_path / "Emotion Speech Dataset"
    write_files(
        root,
        [
            "0011/Angry/train/0011_000351.wav",
            "0011/Neutral/evaluation/0011_000001.wav",
            "0001/Surprise/test/0001_001750.wav",
            "0015/Happy/0015_000701.flac",  # copies without the subset level
            "0011/0011_000002.wav",  # outside an emotion folder: skipped
        ],
    )
    (root / "0011" / "0011.txt").write_text("0011_000001\tsome text\tNeutral\n")
    with pytest.warns(CorpusWarning, match="0011_000002"):
        manifest = prepare_esd(root)
    check_manifest_shape(manifest, "esd")
    rows = by_name(manifest)
    angry = rows["0011_000351.wav"]
    assert (angry.speaker, angry.gender, angry.language, angry.emotion) == (
        "esd:0011",
        "m",
        "en",
        "angry",
    )
    assert (angry.text, angry.official_split) == ("en:001", "train")
    neutral = rows["0011_000001.wav"]
    assert (neutral.text, neutral.emotion, neutral.official_split) == (
        "en:001",
        "neutral",
        "evaluation",
    )
    surprise = rows["0001_001750.wav"]
    assert (surprise.speaker, surprise.gender, surprise.language) == ("esd:0001", "f", "zh")
    assert (surprise.emotion, surprise.text, surprise.official_split) == (
        "surprised",
        "zh:350",
        "test",
    )
    happy = rows["0015_000701.flac"]
    assert (happy.gender, happy.emotion, happy.text) == ("f", "happy", "en:001")
    assert happy.official_split is pd.NA


# -------------------------------------------------------------------------------------- JL-Corpus

JL_FILES = [
    "female1_angry_1a_1.wav",
    "male2_sad_10b_2.wav",
    "female2_neutral_3a_1.wav",
    "male1_happy_2b_1.flac",
    "female1_excited_1a_1.wav",
    "female1_anxious_1a_1.wav",
    "male1_apologetic_4b_2.wav",
    "female2_encouraging_15b_1.wav",
]


def test_jl_primary_kept_secondary_skipped(tmp_path: Path) -> None:
    root = tmp_path / "Raw JL corpus (unchecked and unannotated)" / "JL(wav+txt)"
    write_files(root, [*JL_FILES, "female1_bogus_1a_1.wav"])
    (root / "female1_angry_1a_1.txt").write_text("transcript")
    with pytest.warns(CorpusWarning, match="female1_bogus_1a_1") as caught:
        manifest = prepare_jl(tmp_path)
    assert len(caught) == 1  # documented skips (excited, secondary) do not warn
    check_manifest_shape(manifest, "jl")
    rows = by_name(manifest)
    assert set(rows) == {
        "female1_angry_1a_1.wav",
        "male2_sad_10b_2.wav",
        "female2_neutral_3a_1.wav",
        "male1_happy_2b_1.flac",
    }
    angry = rows["female1_angry_1a_1.wav"]
    assert (angry.speaker, angry.gender, angry.emotion, angry.text, angry.session) == (
        "jl:female1",
        "f",
        "angry",
        "1a",
        1,
    )
    sad = rows["male2_sad_10b_2.wav"]
    assert (sad.speaker, sad.gender, sad.text, sad.session) == ("jl:male2", "m", "10b", 2)


def test_jl_excited_as_happy_option(tmp_path: Path) -> None:
    write_files(tmp_path, JL_FILES)
    manifest = load_corpus("jl-corpus", tmp_path, excited_as_happy=True)
    rows = by_name(manifest)
    assert rows["female1_excited_1a_1.wav"].emotion == "happy"
    assert len(manifest) == 5


def test_jl_only_secondary_raises(tmp_path: Path) -> None:
    write_files(tmp_path, ["female1_anxious_1a_1.wav", "male1_worried_2a_1.wav"])
    with pytest.raises(CorpusError, match="leaves out"):
        prepare_jl(tmp_path)


# ------------------------------------------------------------------------------- generic folders


def test_folder_synonyms(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        [
            "anger/a.wav",
            "Happiness/b.wav",
            "ps/c.wav",
            "pleasant_surprise/d.wav",
            "sadness/e.flac",
            "fear/f.wav",
            "neutral/g.wav",
            "calm/h.wav",
            "boredom/i.wav",
            "disgust/j.wav",
            "Surprised/k.ogg",
            "misc/l.wav",  # not an emotion: skipped
            "m.wav",  # no folder: skipped
        ],
    )
    with pytest.warns(CorpusWarning, match="not inside a folder named after an emotion"):
        manifest = prepare_folder(tmp_path, language="en")
    check_manifest_shape(manifest, "folder")
    emotions = {Path(p).stem: e for p, e in zip(manifest["path"], manifest["emotion"], strict=True)}
    assert emotions == {
        "a": "angry",
        "b": "happy",
        "c": "surprised",
        "d": "surprised",
        "e": "sad",
        "f": "fearful",
        "g": "neutral",
        "h": "calm",
        "i": "boredom",
        "j": "disgust",
        "k": "surprised",
    }
    assert manifest["speaker"].isna().all()
    assert manifest["gender"].isna().all()
    assert (manifest["language"] == "en").all()


def test_folder_speaker_from_and_name(tmp_path: Path) -> None:
    write_files(tmp_path, ["spk1/angry/x.wav", "spk2/sad/y.wav", "angry/spk3_z.wav", "angry/q.wav"])
    with pytest.warns(CorpusWarning, match="speaker_from"):
        manifest = prepare_folder(tmp_path, name="mydata", speaker_from=r"spk(?P<speaker>\d)")
    check_manifest_shape(manifest, "mydata")
    rows = by_name(manifest)
    assert rows["x.wav"].speaker == "mydata:1"
    assert (rows["y.wav"].speaker, rows["y.wav"].emotion) == ("mydata:2", "sad")
    assert rows["spk3_z.wav"].speaker == "mydata:3"
    assert "q.wav" not in rows
    assert manifest["language"].isna().all()


def test_folder_speaker_from_callable(tmp_path: Path) -> None:
    write_files(tmp_path, ["happy/anna_1.wav"])
    manifest = prepare_folder(tmp_path, speaker_from=lambda rel: rel.stem.split("_")[0])
    assert manifest.loc[0, "speaker"] == "folder:anna"


def test_folder_rejects_bad_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="corpus name"):
        prepare_folder(tmp_path, name="My Data")


# -------------------------------------------------------------------------------- shared rules

LOADERS = {
    "emodb": prepare_emodb,
    "ravdess": prepare_ravdess,
    "tess": prepare_tess,
    "cremad": prepare_cremad,
    "savee": prepare_savee,
    "esd": prepare_esd,
    "jl": prepare_jl,
    "folder": prepare_folder,
}


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_empty_root_raises(tmp_path: Path, name: str) -> None:
    (tmp_path / "readme.txt").write_text("no audio here")
    with pytest.raises(CorpusError, match="no audio files"):
        LOADERS[name](tmp_path)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_missing_root_raises(tmp_path: Path, name: str) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        LOADERS[name](tmp_path / "nowhere")


@pytest.mark.parametrize("name", sorted(set(LOADERS) - {"folder"}))
def test_wrong_corpus_raises_after_warning(tmp_path: Path, name: str) -> None:
    write_files(tmp_path, ["some/recording_without_a_scheme.wav"])
    with pytest.raises(CorpusError, match="right folder"), pytest.warns(CorpusWarning):
        LOADERS[name](tmp_path)


def test_unreadable_audio_is_skipped(tmp_path: Path) -> None:
    write_files(tmp_path / "wav", ["03a01Wa.wav"])
    (tmp_path / "wav" / "03a02Wa.wav").write_bytes(b"RIFF garbage, not a wave file")
    with pytest.warns(CorpusWarning, match="cannot be read"):
        manifest = prepare_emodb(tmp_path)
    assert [Path(p).name for p in manifest["path"]] == ["03a01Wa.wav"]


# ------------------------------------------------------------------------------ manifest rules


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "path": "/x/a.wav",
        "speaker": "demo:1",
        "gender": "f",
        "age": 30.0,
        "emotion": "happy",
        "intensity": pd.NA,
        "text": "t1",
        "language": "en",
        "duration": 1.0,
    }
    row.update(overrides)
    return row


def test_make_manifest_sorts_and_types() -> None:
    manifest = make_manifest([_row(path="/x/b.wav"), _row(path="/x/a.wav", gender=None)], "demo")
    assert list(manifest["path"]) == ["/x/a.wav", "/x/b.wav"]
    assert manifest.loc[0, "gender"] is pd.NA
    check_manifest_shape(manifest, "demo")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"emotion": "joyful"}, "non-canonical emotion"),
        ({"speaker": "1"}, "not prefixed"),
        ({"gender": "male"}, "gender"),
        ({"language": "eng"}, "ISO 639-1"),
        ({"duration": 0.0}, "positive duration"),
        ({"age": -3.0}, "age"),
    ],
)
def test_validate_manifest_rejects(override: dict[str, object], message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        make_manifest([_row(**override)], "demo")


def test_validate_manifest_rejects_duplicate_paths_and_missing_columns() -> None:
    with pytest.raises(CorpusError, match="duplicate path"):
        make_manifest([_row(), _row()], "demo")
    with pytest.raises(CorpusError, match="lacks column"):
        validate_manifest(pd.DataFrame({"path": ["/x"]}))


def test_normalize_emotion() -> None:
    assert normalize_emotion("Pleasant_Surprise") == "surprised"
    assert normalize_emotion("pleasant surprised") == "surprised"
    assert normalize_emotion("ANGER") == "angry"
    assert normalize_emotion("excited") is None


# ------------------------------------------------------------------------------------ registry


def test_registry_lists_every_corpus() -> None:
    assert list_corpora() == ["emodb", "ravdess", "tess", "cremad", "savee", "esd", "jl", "folder"]


def test_load_corpus_unknown_name_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"unknown corpus 'iemocap'.*emodb, ravdess"):
        load_corpus("iemocap", tmp_path)


@pytest.fixture
def corpora_parent(tmp_path: Path) -> Path:
    write_files(tmp_path / "EMO-DB" / "wav", ["03a01Fa.wav", "16b10Ec.wav"])
    write_files(tmp_path / "RAVDESS" / "Actor_01", ["03-01-05-02-01-01-01.wav"])
    write_files(tmp_path / "crema-d" / "AudioWAV", ["1001_DFA_ANG_XX.wav"])
    write_files(tmp_path / "tess", ["unrelated/recording.wav"])  # named tess but is not TESS
    write_files(tmp_path / "misc", ["03a01Fa.wav"])  # EMO-DB-like files, unknown folder name
    return tmp_path


def test_find_corpora(corpora_parent: Path) -> None:
    found = find_corpora(corpora_parent)
    assert found == {
        "emodb": corpora_parent / "EMO-DB",
        "ravdess": corpora_parent / "RAVDESS",
        "cremad": corpora_parent / "crema-d",
    }
    assert find_corpora(corpora_parent / "EMO-DB") == {"emodb": corpora_parent / "EMO-DB"}


def test_find_corpora_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a folder"):
        find_corpora(tmp_path / "nowhere")


def test_load_corpora_and_summary(corpora_parent: Path) -> None:
    manifest = load_corpora(corpora_parent)
    assert list(manifest["corpus"].unique()) == ["emodb", "ravdess", "cremad"]
    assert isinstance(manifest.index, pd.RangeIndex)
    validate_manifest(manifest)
    assert manifest["speaker"].is_unique  # one file per speaker here; ids are corpus-prefixed
    only = load_corpora(corpora_parent, names=["EMO-DB"])
    assert set(only["corpus"]) == {"emodb"}
    with pytest.raises(CorpusError, match="tess"):
        load_corpora(corpora_parent, names=["tess"])

    summary = summarize(manifest, total=True)
    assert list(summary["corpus"]) == ["emodb", "ravdess", "cremad", "all"]
    emodb = summary.iloc[0]
    assert (emodb.files, emodb.speakers, emodb.male_speakers, emodb.female_speakers) == (2, 2, 1, 1)
    assert (emodb.emotions, emodb.emotion_list) == (2, "happy, disgust")
    assert emodb.hours == pytest.approx(0.8 / 3600, abs=1e-3)
    cremad = summary.iloc[2]
    assert (cremad.speakers, cremad.male_speakers, cremad.female_speakers) == (1, 0, 0)
    assert summary.iloc[3].files == 4
    json.dumps(summary.to_dict(orient="records"))  # plain Python values only


def test_load_corpora_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no known corpus"):
        load_corpora(tmp_path)
