"""What every page shares: cached loaders (``st.cache_resource`` / ``st.cache_data``), the
sidebar, and the way errors are shown. Streamlit-only glue over ``ser_core.app_support``."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from ser_core.app_support import cache, samples, session
from ser_core.audio import AudioClip, read_audio
from ser_core.errors import AudioInputError, SERError
from ser_core.inference import checkpoints_dir
from ser_core.paths import CORPORA_ENV

_LOG = logging.getLogger("ser_core.app")

if TYPE_CHECKING:  # (torch is imported by the background load, not before the first page)
    from ser_core.inference import Predictor


# The checkpoint folder is part of every cache key: a name ("default") means another model
# once $SER_CHECKPOINTS points elsewhere.
@st.cache_resource(show_spinner="Loading the model…")
def _predictor(name: str, folder: str) -> Predictor:
    return cache.load(name)


def get_predictor(name: str) -> Predictor:
    """The predictor of a checkpoint, loaded once per process."""
    return _predictor(name, str(checkpoints_dir()))


@st.cache_resource(show_spinner="Measuring latency on this machine…")
def _latency(name: str, folder: str) -> float:
    return cache.measure_latency(get_predictor(name))


def get_latency(name: str) -> float:
    """Median seconds to predict a 3 s clip with this checkpoint, on this machine."""
    return _latency(name, str(checkpoints_dir()))


@st.cache_data(show_spinner=False)
def _card(name: str, folder: str) -> cache.ModelCard:
    return cache.model_card(name, get_predictor(name))


def get_card(name: str) -> cache.ModelCard:
    """The model card data of a checkpoint."""
    return _card(name, str(checkpoints_dir()))


@st.cache_data(show_spinner="Reading predictions…")
def _predictions(names: tuple[str, ...], folder: str) -> pd.DataFrame:
    return cache.load_all_predictions(list(names))


def get_predictions(names: tuple[str, ...]) -> pd.DataFrame:
    """The committed test predictions of these checkpoints, with a ``model`` column."""
    return _predictions(names, str(checkpoints_dir()))


@st.cache_resource(show_spinner="Making synthetic samples…")
def get_synthetic_samples() -> tuple[samples.Sample, ...]:
    """The synthetic sample clips (espeak-ng speech, or generated vowels)."""
    return samples.synthetic_samples()


@st.cache_data(show_spinner="Looking for corpora…")
def _corpus_manifest(root: str) -> pd.DataFrame | None:
    return samples.find_corpus_manifest(root)


@st.cache_data(show_spinner=False)
def _training_data(name: str, folder: str) -> samples.TrainingData:
    return samples.TrainingData.of_checkpoint(checkpoints_dir() / name)


def get_training_data(name: str) -> samples.TrainingData:
    """What checkpoint ``name`` was trained, validated and tested on (labels, speakers)."""
    return _training_data(name, str(checkpoints_dir()))


@st.cache_data(show_spinner=False)
def get_corpus_samples(root: str, model: str) -> list[samples.Sample]:
    """A few clips per corpus and emotion under ``root``, the model's held-out files first
    (empty when no corpus is found)."""
    manifest = _corpus_manifest(root)
    if manifest is None:
        return []
    return samples.corpus_samples(manifest, prefer=get_training_data(model).test_files)


def model_names(distinct: bool = False) -> list[str]:
    """Checkpoint names, ``default`` first (``distinct``: without a duplicate ``default``)."""
    return cache.distinct_checkpoint_names() if distinct else cache.checkpoint_names()


def require_models(distinct: bool = False) -> list[str]:
    """The checkpoint names, or stop the page with instructions when there are none."""
    names = model_names(distinct)
    if not names:
        st.warning(
            f"No trained model found in `{checkpoints_dir()}`. Train one with `ser train …`, "
            "point `SER_CHECKPOINTS` at a folder of checkpoints, or build tiny demo models with "
            "`python -m ser_core.app_support.demo /tmp/demo && SER_CHECKPOINTS=/tmp/demo "
            "streamlit run app.py`."
        )
        st.stop()
    return names


def corpora_root() -> str:
    """The corpora folder chosen in the sidebar (default ``$SER_CORPORA``), or ``""``."""
    return str(st.session_state.get(session.CORPORA_ROOT, "") or "").strip()


def sidebar() -> None:
    """The sidebar every page shows: the corpora folder and where models come from."""
    with st.sidebar:
        if session.CORPORA_ROOT not in st.session_state:
            st.session_state[session.CORPORA_ROOT] = os.environ.get(CORPORA_ENV, "")
        st.text_input(
            "Corpora folder",
            key=session.CORPORA_ROOT,
            help="Folder holding emodb/, ravdess/, tess/, … (default: $SER_CORPORA). Used for "
            "sample clips.",
            placeholder="/path/to/corpora",
        )
        st.caption(f"Models: `{checkpoints_dir()}` ({len(model_names())} found)")


def show_error(error: Exception) -> None:
    """Show a ``ser_core`` error's message (written for people) without a traceback; the
    decoders' own words (``AudioInputError.detail``) go to the server log."""
    if isinstance(error, SERError):
        detail = getattr(error, "detail", "")
        if detail:
            _LOG.warning("%s | details: %s", error, detail)
        st.error(str(error), icon="⚠️")
    else:
        _LOG.exception("unexpected error", exc_info=error)
        st.error(f"Something went wrong: {error}", icon="⚠️")


def _decode(source: Any) -> AudioClip | AudioInputError:
    """The decoded clip, or the reason it cannot be used."""
    try:
        return read_audio(source)
    except AudioInputError as error:
        return error


def _shown(outcome: AudioClip | AudioInputError) -> AudioClip | None:
    """The clip, or None after showing why there is none."""
    if isinstance(outcome, AudioInputError):
        show_error(outcome)
        return None
    return outcome


def read_clip(source: Any) -> AudioClip | None:
    """Decode an upload, recording, path or bytes; show the error and return None if unusable."""
    return _shown(_decode(source))


def decode_once(source: Any, key: str, state_key: str) -> AudioClip | None:
    """The decoded clip of ``source``, decoded when it first appears (an upload is checked at
    once, not at the first click) and kept in the session under ``state_key`` while ``key``
    stays the same; a problem is shown every run until another input is chosen."""
    kept = st.session_state.get(state_key)
    if kept is None or kept[0] != key:
        kept = (key, _decode(source))
        st.session_state[state_key] = kept
    return _shown(kept[1])


def clip_id(source: Any, *extra: str) -> str:
    """A key that changes when the input (or a setting in ``extra``) changes."""
    if hasattr(source, "file_id"):
        base = f"{source.name}:{source.file_id}"
    elif isinstance(source, bytes):
        base = f"bytes:{len(source)}:{hash(source)}"
    else:
        base = str(source)
    return "|".join([base, *extra])
