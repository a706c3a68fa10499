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
    get_corpus_info,
    list_corpora,
    load_corpora,
    load_corpus,
    make_manifest,
    normalize_emotion,
    summarize,
    validate_manifest,
)
from ser_core.data.corpora.aesdd import prepare_aesdd
from ser_core.data.corpora.casia import prepare_casia
from ser_core.data.corpora.cremad import prepare_cremad
from ser_core.data.corpora.emodb import prepare_emodb
from ser_core.data.corpora.emovo import prepare_emovo
from ser_core.data.corpora.esd import prepare_esd
from ser_core.data.corpora.folder import prepare_folder
from ser_core.data.corpora.jl import prepare_jl
from ser_core.data.corpora.nemo import prepare_nemo
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
    "emovo": prepare_emovo,
    "casia": prepare_casia,
    "aesdd": prepare_aesdd,
    "nemo": prepare_nemo,
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
    assert list_corpora() == [
        "emodb",
        "ravdess",
        "tess",
        "cremad",
        "savee",
        "esd",
        "jl",
        "emovo",
        "casia",
        "aesdd",
        "nemo",
        "folder",
    ]


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


# ------------------------------------------------------------- EMOVO, CASIA, AESDD, nEMO (Opus)


def write_opus(path: Path, seconds: float = 0.4) -> Path:
    """A short noise clip as 16 kHz mono Ogg Opus, like the shared copies of these corpora."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    signal = (0.1 * rng.standard_normal(round(seconds * SR))).astype(np.float32)
    sf.write(path, signal, SR, format="OGG", subtype="OPUS")
    return path


def write_mixed(root: Path, names: list[str]) -> None:
    """``.ogg`` names as Ogg Opus, the others (``.wav``/``.flac``) in their own format."""
    for name in names:
        (write_opus if name.endswith(".ogg") else write_audio)(root / name)


def test_opus_files_are_read(tmp_path: Path) -> None:
    info = sf.info(write_opus(tmp_path / "clip.ogg"))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("OGG", "OPUS", SR, 1)
    assert info.duration == pytest.approx(0.4, abs=0.01)


@pytest.mark.parametrize(
    ("code", "emotion"),
    [
        ("dis", "disgust"),
        ("gio", "happy"),
        ("neu", "neutral"),
        ("pau", "fearful"),
        ("rab", "angry"),
        ("sor", "surprised"),
        ("tri", "sad"),
    ],
)
def test_emovo_emotion_codes(tmp_path: Path, code: str, emotion: str) -> None:
    write_opus(tmp_path / "emovo" / "m2" / f"{code}-m2-l3.ogg")
    row = prepare_emovo(tmp_path / "emovo").iloc[0]
    assert (row.emotion, row.speaker, row.gender, row.text) == (emotion, "emovo:m2", "m", "l3")


def test_emovo_fields(tmp_path: Path) -> None:
    root = tmp_path / "EMOVO"
    write_mixed(
        root,
        [
            "f1/dis-f1-b1.ogg",
            "f3/gio-f3-d2.wav",  # the original release's extension
            "m1/NEU-M1-N5.flac",  # any case
            "m3/tri-m3-n1.ogg",
            "m3/tri-m3-n1.wav",  # the same recording twice: the lossless copy is kept
            "m3/tri-m3.ogg",  # does not parse
            "f2/documentation.wav",  # does not parse
        ],
    )
    with pytest.warns(CorpusWarning) as caught:
        manifest = prepare_emovo(root)
    messages = " ".join(str(w.message) for w in caught)
    assert "tri-m3.ogg" in messages and "documentation.wav" in messages
    assert "duplicate" in messages
    check_manifest_shape(manifest, "emovo")
    rows = by_name(manifest)
    assert sorted(rows) == ["NEU-M1-N5.flac", "dis-f1-b1.ogg", "gio-f3-d2.wav", "tri-m3-n1.wav"]
    dis = rows["dis-f1-b1.ogg"]
    assert (dis.speaker, dis.gender, dis.emotion, dis.text, dis.language) == (
        "emovo:f1",
        "f",
        "disgust",
        "b1",
        "it",
    )
    assert np.isnan(dis.age)
    assert dis.duration == pytest.approx(0.4, abs=0.01)
    neu = rows["NEU-M1-N5.flac"]
    assert (neu.speaker, neu.gender, neu.emotion, neu.text) == ("emovo:m1", "m", "neutral", "n5")
    assert (rows["gio-f3-d2.wav"].emotion, rows["gio-f3-d2.wav"].gender) == ("happy", "f")
    assert manifest["intensity"].isna().all()


def test_casia_fields(tmp_path: Path) -> None:
    root = tmp_path / "casia"
    write_mixed(
        root / "CASIA database",  # copies nest the speaker folders one level deeper
        [
            "liuchanhg/angry/201.ogg",  # the release's spelling of the speaker
            "zhaoquanyin/fear/213.wav",
            "wangzhe/happy/250.flac",
            "ZhaoZuoxiang/surprise/224.ogg",
            "ZhaoZuoxiang/neutral/201.ogg",
            "wangzhe/sad/237.ogg",
            "wangzhe/sad/237.wav",  # the same recording twice
            "liuchanhg/201.ogg",  # outside an emotion folder
            "someone/angry/201.ogg",  # not one of the four speakers
            "liuchanhg/angry/notes.wav",  # not a text number
        ],
    )
    with pytest.warns(CorpusWarning) as caught:
        manifest = prepare_casia(root)
    messages = " ".join(str(w.message) for w in caught)
    assert "notes.wav" in messages and "duplicate" in messages
    check_manifest_shape(manifest, "casia")
    assert len(manifest) == 6
    got = {
        (row.speaker, row.emotion, row.text): (row.gender, row.language)
        for row in manifest.itertuples()
    }
    assert got == {
        ("casia:liuchanhg", "angry", "201"): ("f", "zh"),
        ("casia:zhaoquanyin", "fearful", "213"): ("f", "zh"),
        ("casia:wangzhe", "happy", "250"): ("m", "zh"),
        ("casia:ZhaoZuoxiang", "surprised", "224"): ("m", "zh"),
        ("casia:ZhaoZuoxiang", "neutral", "201"): ("m", "zh"),
        ("casia:wangzhe", "sad", "237"): ("m", "zh"),
    }
    assert manifest["age"].isna().all()
    assert not any("someone" in p or p.endswith("liuchanhg/201.ogg") for p in manifest["path"])


AESDD_FILES = [
    "anger/a01 (1).ogg",
    "disgust/d03 (01).ogg",  # speaker 1 written "01"
    "fear/f10 (01).ogg",
    "fear/f18 (5).ogg",  # two takes kept: the first has no letter ...
    "fear/f18 (5)b.ogg",  # ... the second is "b"
    "sadness/s01 (5)a.ogg",  # or both have a letter
    "sadness/s01 (5)b.ogg",
    "happiness/h20 (6).wav",  # the improvised utterance, original extension
    "disgust/d07 (3).flac",
    "anger/a02 (4).ogg",
]


def test_aesdd_fields_and_quirks(tmp_path: Path) -> None:
    root = tmp_path / "aesdd"
    write_mixed(root, AESDD_FILES)
    (root / "sadness" / "s05 (3).ogg").write_bytes(b"")  # the public copy's empty file
    write_opus(root / "happiness" / "a03 (2).ogg")  # folder disagrees: the file name wins
    write_opus(root / "anger" / "a01 (7).ogg")  # no speaker 7
    with pytest.warns(CorpusWarning) as caught:
        manifest = prepare_aesdd(root)
    messages = " ".join(str(w.message) for w in caught)
    assert "s05 (3).ogg" in messages
    assert "a03 (2).ogg" in messages and "disagrees" in messages
    assert "a01 (7).ogg" in messages
    check_manifest_shape(manifest, "aesdd")
    rows = by_name(manifest)
    assert len(rows) == len(AESDD_FILES) + 1
    a01 = rows["a01 (1).ogg"]
    assert (a01.speaker, a01.gender, a01.emotion, a01.text, a01.language) == (
        "aesdd:1",
        "f",
        "angry",
        "01",
        "el",
    )
    assert a01["take"] is pd.NA
    assert (rows["d03 (01).ogg"].speaker, rows["d03 (01).ogg"].emotion) == ("aesdd:1", "disgust")
    assert (rows["f10 (01).ogg"].speaker, rows["f10 (01).ogg"].emotion) == ("aesdd:1", "fearful")
    assert rows["f18 (5).ogg"]["take"] is pd.NA
    assert (rows["f18 (5)b.ogg"]["take"], rows["f18 (5)b.ogg"].text) == ("b", "18")
    assert [rows[f"s01 (5){t}.ogg"]["take"] for t in "ab"] == ["a", "b"]
    assert {rows[f"s01 (5){t}.ogg"].emotion for t in "ab"} == {"sad"}
    h20 = rows["h20 (6).wav"]
    assert (h20.speaker, h20.gender, h20.emotion, h20.text) == ("aesdd:6", "m", "happy", "20")
    assert (rows["d07 (3).flac"].gender, rows["a02 (4).ogg"].gender) == ("m", "m")
    assert rows["f18 (5).ogg"].gender == "f"
    assert rows["a03 (2).ogg"].emotion == "angry"
    assert manifest["age"].isna().all()
    assert set(manifest["emotion"]) == {"angry", "disgust", "fearful", "happy", "sad"}


NEMO_ROWS = [  # file_id, emotion, raw_text, speaker_id, gender, age (as in the release)
    ("KS0_fear_1.wav", "fear", "Lubię czytać przed snem.", "KS0", "male", "23"),
    ("EB0_happiness_86.wav", "happiness", "Myślmy pozytywnie.", "EB0", "female", "27"),
    ("MK0_neutral_2.wav", "neutral", "Nie waśmy się ze sobą.", "MK0", "female", "23"),
    ("WR0_surprised_12.wav", "surprised", "Naprawdę?", "WR0", "male", "23"),
    ("SM0_anger_7.wav", "sadness", "Dość!", "SM0", "male", "24"),
]
NEMO_TSV = "file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n" + "".join(
    f"{file}\t{emotion}\t{raw}\t{raw.lower().rstrip('.!?')}\t{' ' * 8}{speaker}\t{gender}\t{age}\n"
    for file, emotion, raw, speaker, gender, age in NEMO_ROWS
)
NEMO_FILES = [
    "KS0_fear_1.ogg",
    "EB0_happiness_86.ogg",
    "MK0_neutral_2.wav",
    "WR0_surprised_12.flac",
    "SM0_anger_7.ogg",  # its data.tsv row says sadness: the file name wins
    "TP0_sadness_11.ogg",  # not in data.tsv: speaker table
]


def test_nemo_with_metadata(tmp_path: Path) -> None:
    root = tmp_path / "nEMO"
    write_mixed(root / "samples", [*NEMO_FILES, "KS0_bored_1.ogg"])
    (root / "data.tsv").write_text(NEMO_TSV, encoding="utf-8")
    with pytest.warns(CorpusWarning) as caught:
        manifest = prepare_nemo(root)
    messages = " ".join(str(w.message) for w in caught)
    assert "KS0_bored_1.ogg" in messages  # not a nEMO emotion
    assert "SM0_anger_7.ogg" in messages and "disagrees" in messages
    assert "TP0_sadness_11.ogg" in messages and "missing from data.tsv" in messages
    check_manifest_shape(manifest, "nemo")
    rows = by_name(manifest)
    assert sorted(rows) == sorted(NEMO_FILES)
    ks0 = rows["KS0_fear_1.ogg"]
    assert (ks0.speaker, ks0.gender, ks0.age, ks0.emotion, ks0.text, ks0.language) == (
        "nemo:KS0",  # the table's "        KS0", stripped
        "m",
        23.0,
        "fearful",
        "01",
        "pl",
    )
    assert ks0.transcript == "Lubię czytać przed snem."
    eb0 = rows["EB0_happiness_86.ogg"]
    assert (eb0.speaker, eb0.gender, eb0.age, eb0.emotion, eb0.text) == (
        "nemo:EB0",
        "f",
        27.0,
        "happy",
        "86",
    )
    assert (rows["MK0_neutral_2.wav"].emotion, rows["MK0_neutral_2.wav"].gender) == ("neutral", "f")
    assert rows["WR0_surprised_12.flac"].emotion == "surprised"
    assert (rows["SM0_anger_7.ogg"].emotion, rows["SM0_anger_7.ogg"].speaker) == (
        "angry",
        "nemo:SM0",
    )
    tp0 = rows["TP0_sadness_11.ogg"]
    assert (tp0.speaker, tp0.gender, tp0.age, tp0.emotion, tp0.text) == (
        "nemo:TP0",
        "m",
        26.0,
        "sad",
        "11",
    )
    assert tp0.transcript is pd.NA


def test_nemo_samples_folder_as_root_finds_the_table(tmp_path: Path) -> None:
    write_mixed(tmp_path / "nemo" / "samples", NEMO_FILES[:2])
    (tmp_path / "nemo" / "data.tsv").write_text(NEMO_TSV, encoding="utf-8")
    a = prepare_nemo(tmp_path / "nemo")
    b = prepare_nemo(tmp_path / "nemo" / "samples")
    pd.testing.assert_frame_equal(a, b)
    assert list(a["transcript"]) == ["Myślmy pozytywnie.", "Lubię czytać przed snem."]


def test_nemo_without_metadata_uses_the_speaker_table(tmp_path: Path) -> None:
    write_mixed(tmp_path / "samples", ["IC0_sadness_90.ogg", "MP0_anger_5.ogg"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        manifest = prepare_nemo(tmp_path)
    rows = by_name(manifest)
    ic0 = rows["IC0_sadness_90.ogg"]
    assert (ic0.speaker, ic0.gender, ic0.age, ic0.emotion, ic0.text) == (
        "nemo:IC0",
        "f",
        28.0,
        "sad",
        "90",
    )
    assert (rows["MP0_anger_5.ogg"].gender, rows["MP0_anger_5.ogg"].age) == ("m", 24.0)
    assert manifest["transcript"].isna().all()


def test_nemo_table_without_columns_raises(tmp_path: Path) -> None:
    write_mixed(tmp_path / "samples", NEMO_FILES[:1])
    (tmp_path / "data.tsv").write_text("file\tlabel\nKS0_fear_1.wav\tfear\n")
    with pytest.raises(CorpusError, match="speaker_id"):
        prepare_nemo(tmp_path)


def test_new_corpora_registered_found_and_summarized(tmp_path: Path) -> None:
    expected = {
        "emovo": ("EMOVO", "it", "research use"),
        "casia": ("CASIA", "zh", "research use"),
        "aesdd": ("AESDD", "el", "research use"),
        "nemo": ("nEMO", "pl", "CC BY-NC-SA 4.0"),
    }
    for name, (display, language, licence) in expected.items():
        info = get_corpus_info(name.upper())
        assert info.name == name
        assert info.display_name.startswith(display)
        assert (info.language, info.licence.startswith(licence)) == (language, True)
        assert info.citation and info.url
    write_mixed(tmp_path / "EMOVO", ["f1/dis-f1-b1.ogg", "m1/rab-m1-b1.ogg"])
    write_mixed(tmp_path / "CASIA", ["wangzhe/angry/201.ogg", "liuchanhg/sad/201.ogg"])
    write_mixed(tmp_path / "AESDD", ["anger/a01 (1).ogg", "sadness/s01 (3).ogg"])
    write_mixed(tmp_path / "nemo", ["samples/KS0_fear_1.ogg", "samples/EB0_anger_2.ogg"])
    write_mixed(tmp_path / "not_casia", ["angry/201.ogg"])  # no speaker folder
    found = find_corpora(tmp_path)
    assert found == {
        "emovo": tmp_path / "EMOVO",
        "casia": tmp_path / "CASIA",
        "aesdd": tmp_path / "AESDD",
        "nemo": tmp_path / "nemo",
    }
    manifest = load_corpora(tmp_path)
    assert list(manifest["corpus"].unique()) == ["emovo", "casia", "aesdd", "nemo"]
    summary = summarize(manifest).set_index("corpus")
    for name in expected:
        row = summary.loc[name]
        assert (row.files, row.speakers, row.male_speakers, row.female_speakers) == (2, 2, 1, 1)
        assert row.language == expected[name][1]


# Exact counts on the shared copies (/work/shared/corpora/README.md).
SEVEN = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")
NEW_CORPORA_COUNTS: dict[str, tuple[int, int, int, int, dict[str, int]]] = {
    # corpus: files, speakers, male, female, files per emotion
    "emovo": (588, 6, 3, 3, dict.fromkeys(SEVEN, 84)),
    "casia": (1200, 4, 2, 2, dict.fromkeys(set(SEVEN) - {"disgust"}, 200)),
    "aesdd": (
        604,
        6,
        3,
        3,
        {"angry": 121, "disgust": 122, "fearful": 120, "happy": 119, "sad": 122},
    ),
    "nemo": (
        1793,
        9,
        5,
        4,
        {"angry": 299, "fearful": 295, "happy": 302, "neutral": 323, "sad": 309, "surprised": 265},
    ),
}


@pytest.fixture(scope="module")
def new_corpora(corpora_dir: Path) -> pd.DataFrame:
    """EMOVO, CASIA, AESDD and nEMO from the shared folder; any loader warning fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        return load_corpora(corpora_dir, names=list(NEW_CORPORA_COUNTS))


@pytest.mark.corpora
@pytest.mark.parametrize("name", sorted(NEW_CORPORA_COUNTS))
def test_new_corpus_counts_on_shared_copy(new_corpora: pd.DataFrame, name: str) -> None:
    files, speakers, male, female, per_emotion = NEW_CORPORA_COUNTS[name]
    manifest = new_corpora[new_corpora["corpus"] == name]
    assert len(manifest) == files
    assert manifest["speaker"].nunique() == speakers
    genders = manifest.drop_duplicates("speaker")["gender"].value_counts().to_dict()
    assert genders == {"m": male, "f": female}
    assert manifest["emotion"].value_counts().to_dict() == per_emotion
    assert manifest["path"].str.endswith(".ogg").all()
    assert manifest["duration"].between(0.9, 14.5).all()
    row = summarize(manifest).iloc[0]
    assert (row.files, row.speakers, row.emotions) == (files, speakers, len(per_emotion))


@pytest.mark.corpora
def test_new_corpora_details_on_shared_copy(new_corpora: pd.DataFrame) -> None:
    def corpus(name: str) -> pd.DataFrame:
        return new_corpora[new_corpora["corpus"] == name]

    emovo = corpus("emovo")
    assert emovo.groupby("speaker").size().eq(98).all()
    assert emovo["text"].nunique() == 14
    casia = corpus("casia")
    assert sorted(casia["speaker"].unique()) == [
        "casia:ZhaoZuoxiang",
        "casia:liuchanhg",
        "casia:wangzhe",
        "casia:zhaoquanyin",
    ]
    assert sorted(casia["text"].unique()) == [str(n) for n in range(201, 251)]
    aesdd = corpus("aesdd")
    assert set(aesdd["speaker"]) == {f"aesdd:{s}" for s in range(1, 7)}
    assert aesdd.groupby("speaker").size().between(98, 107).all()
    assert aesdd["take"].value_counts().to_dict() == {"b": 8, "a": 1}
    quirk = aesdd[aesdd["path"].str.contains("(01)", regex=False)]
    assert len(quirk) == 5 and set(quirk["speaker"]) == {"aesdd:1"}
    assert not aesdd["path"].str.endswith("s05 (3).ogg").any()
    nemo = corpus("nemo")
    assert nemo.drop_duplicates("speaker").set_index("speaker")["age"].to_dict() == {
        "nemo:EB0": 27.0,
        "nemo:IC0": 28.0,
        "nemo:KD0": 28.0,
        "nemo:KS0": 23.0,
        "nemo:MK0": 23.0,
        "nemo:MP0": 24.0,
        "nemo:SM0": 24.0,
        "nemo:TP0": 26.0,
        "nemo:WR0": 23.0,
    }
    assert nemo["text"].nunique() == 36
    assert nemo["transcript"].notna().all()
    assert nemo.groupby("text")["transcript"].nunique().eq(1).all()  # one number, one sentence
    assert "surprised" not in set(nemo.loc[nemo["speaker"] == "nemo:MK0", "emotion"])
    assert (nemo["speaker"] == "nemo:MP0").sum() == 103
