"""The benchmark's markdown tables: results, generalisation, validation, candidates, probes.

Pure functions of the rows :mod:`ser_core.evaluation._bench_sources` builds (and of two optional
text files in ``benchmarks/results``); :mod:`ser_core.evaluation.benchmark` assembles them into
the page and the README blocks (and re-exports the public names).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.errors import SERError
from ser_core.scoring.report import markdown_table
from ser_core.targets import SEED_ARCHITECTURES, SEED_UA_BEST, SEED_UA_FLOOR, TINY_UA_GAP

__all__ = [
    "CANDIDATES_FILE",
    "PROBE_STUDY_FILE",
    "render_generalisation_table",
    "render_readme_table",
    "render_validation_table",
    "render_zoo_targets_table",
]

#: The default model's candidates, compared on validation UA by
#: ``benchmarks/train_shipped.py --candidates`` (a text table: ``candidate val_ua``).
CANDIDATES_FILE = "default-candidates.txt"
#: Leave-one-corpus-out linear-probe study of clip representations
#: (``benchmarks/loco_fusion.py``: ``representation, corpus, n, classes, chance, ua, wa``).
PROBE_STUDY_FILE = "loco-fusion.csv"

ZOO_CORPORA = tuple(SEED_UA_FLOOR)
ZOO_FLOOR = {corpus: 100 * ua for corpus, ua in SEED_UA_FLOOR.items()}
ZOO_BEST = {corpus: 100 * ua for corpus, ua in SEED_UA_BEST.items()}

_CORPUS_TITLES = {
    "emodb": "EMO-DB",
    "ravdess": "RAVDESS",
    "tess": "TESS",
    "emovo": "EMOVO",
    "casia": "CASIA",
    "aesdd": "AESDD",
    "nemo": "nEMO",
}


def render_validation_table(rows: pd.DataFrame) -> str:
    """The validation UA of every cross-validation run (the README's ``validation`` block)."""
    if rows.empty:
        return "No committed cross-validation runs yet."
    body = [
        [
            _CORPUS_TITLES.get(r["corpus"], r["corpus"]),
            f"`{r['name']}`",
            r["model"],
            r["protocol"],
            r["folds"],
            r["speed_perturb"],
            f"{r['val_ua']:.1f}",
            f"{r['val_ua_min']:.1f}–{r['val_ua_max']:.1f}",
        ]
        for _, r in rows.iterrows()
    ]
    header = [
        "corpus",
        "run",
        "model",
        "protocol",
        "folds",
        "speed copies",
        "validation UA (mean of folds)",
        "range over folds",
    ]
    return (
        markdown_table(header, body)
        + "\n\nValidation UA in %: UA on each fold's validation speakers (held out from its"
        " training and distinct from its test speakers), averaged over the folds with equal"
        " weight; from `val_ua` in `benchmarks/results/<run>/folds.csv`."
    )


def _candidates_table(results: str | Path | None) -> str | None:
    path = Path(results) / CANDIDATES_FILE if results is not None else None
    if path is None or not path.exists():
        return None
    try:
        table = pd.read_csv(path, sep=r"\s+", comment="#")
    except (OSError, ValueError) as exc:
        raise SERError(f"cannot read {path}: {exc}") from exc
    if not {"candidate", "val_ua"} <= set(table.columns):
        raise SERError(f"{path}: expected the columns 'candidate' and 'val_ua'")
    return markdown_table(
        ["candidate", "validation UA"],
        [[f"`{r['candidate']}`", f"{100 * float(r['val_ua']):.1f}"] for _, r in table.iterrows()],
    )


def _probe_study_table(results: str | Path | None) -> str | None:
    """One row per representation: the probe's UA on each held-out corpus, mean and lowest."""
    path = Path(results) / PROBE_STUDY_FILE if results is not None else None
    if path is None or not path.exists():
        return None
    try:
        study = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SERError(f"cannot read {path}: {exc}") from exc
    needed = {"representation", "corpus", "ua"}
    if not needed <= set(study.columns):
        raise SERError(f"{path}: expected the columns {', '.join(sorted(needed))}")
    corpora = sorted(study["corpus"].unique())
    body = []
    for name, run in study.groupby("representation", sort=False):
        ua = run.set_index("corpus")["ua"]
        cells = [f"{ua[c]:.1f}" if c in ua else "" for c in corpora]
        body.append([f"`{name}`", *cells, f"**{ua.mean():.1f}**", f"{ua.min():.1f}"])
    header = ["representation", *[_CORPUS_TITLES.get(c, c) for c in corpora], "mean", "lowest"]
    return markdown_table(header, body)


def _metric_cell(row: pd.Series, metric: str) -> str:
    return f"{row[metric]:.1f} [{row[f'{metric}_low']:.1f}, {row[f'{metric}_high']:.1f}]"


def _split_cell(row: pd.Series) -> str:
    kind = "speaker-independent" if row["speaker_independent"] else "speaker-dependent"
    return f"{row['protocol']} ({kind})"


def _minutes(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{float(value) / 60:.1f}"


def _results_table(rows: pd.DataFrame) -> str:
    rows = rows[rows["protocol"] != "loco"]  # their own table: render_generalisation_table
    ordered = rows.sort_values(["corpus", "kind", "ua"], ascending=[True, True, False])
    body = [
        [
            _CORPUS_TITLES.get(r["corpus"], r["corpus"]),
            f"`{r['name']}`",
            r["model"],
            r["classes"],
            _split_cell(r),
            r["n"],
            _metric_cell(r, "ua"),
            _metric_cell(r, "wa"),
            _metric_cell(r, "weighted_f1"),
        ]
        for _, r in ordered.iterrows()
    ]
    header = ["corpus", "source", "model", "classes", "split", "n", "UA", "WA", "weighted F1"]
    return markdown_table(header, body)


def render_generalisation_table(rows: pd.DataFrame, names: Sequence[str] | None = None) -> str:
    """Leave-one-corpus-out runs (those in ``names``, in that order; default all, by name): per
    held-out corpus UA (over its own classes) beside chance, then the mean and the lowest corpus
    of each run."""
    loco = rows[(rows["protocol"] == "loco") & ~rows["adapted"].astype(bool)] if len(rows) else rows
    if names is not None and len(loco):
        loco = loco[loco["name"].isin(list(names))]
    if loco.empty:
        return "No leave-one-corpus-out run committed yet."
    body = []
    runs = dict(tuple(loco.groupby("name", sort=True)))
    for name in [n for n in names if n in runs] if names is not None else runs:
        run = runs[name]
        for _, r in run.sort_values("corpus").iterrows():
            language = r.get("language", "")
            body.append(
                [
                    f"`{name}`",
                    _CORPUS_TITLES.get(r["corpus"], r["corpus"]),
                    language,
                    r["classes"],
                    f"{100 / r['classes']:.1f}",
                    r["n"],
                    _metric_cell(r, "ua"),
                    _metric_cell(r, "wa"),
                    _metric_cell(r, "weighted_f1"),
                ]
            )
        worst = run.loc[run["ua"].idxmin()]
        lowest = f"{_CORPUS_TITLES.get(worst['corpus'], worst['corpus'])} {worst['ua']:.1f}"
        body.append(
            [
                f"`{name}`",
                "**mean**",
                "",
                "",
                f"{float(np.mean(100 / run['classes'])):.1f}",
                int(run["n"].sum()),
                f"**{run['ua'].mean():.1f}** (lowest: {lowest})",
                f"{run['wa'].mean():.1f}",
                f"{run['weighted_f1'].mean():.1f}",
            ]
        )
    header = [
        "run",
        "held-out corpus",
        "language",
        "classes",
        "chance UA",
        "n",
        "UA",
        "WA",
        "weighted F1",
    ]
    return (
        markdown_table(header, body)
        + "\n\nEach row trains on the other corpora and tests on every utterance of the held-out "
        "one (speakers, studio and often language never heard), scored over that corpus's own "
        "classes (the argmax restricted to them; utterances of classes the model does not have, "
        "such as RAVDESS's calm and EMO-DB's boredom for the seven shared classes, are left out); "
        "UA, WA, weighted F1 in % with 95 % bootstrap intervals over utterances. The mean weighs "
        "every corpus the same."
    )


def render_readme_table(rows: pd.DataFrame) -> str:
    """The README's results table (plain rows only: speaker-adapted rows are left out)."""
    if rows.empty:
        return "No committed predictions yet."
    plain = rows[~rows["adapted"].astype(bool)]
    return (
        _results_table(plain)
        + "\n\nUA = unweighted average recall (macro), WA = accuracy, in %, with 95 % bootstrap"
        " intervals over utterances. `checkpoint` rows are the shipped models on their held-out"
        " test set; cross-validation rows pool every fold's held-out predictions. Details,"
        " breakdowns and the published numbers beside them: [docs/benchmark.md]"
        "(docs/benchmark.md)."
    )


def _against(value: float, target: float) -> str:
    """ "met", or by how much a figure falls short (judged as shown, to one decimal)."""
    shown = round(value, 1)
    return "met" if shown >= target else f"short by {target - shown:.1f}"


def render_zoo_targets_table(rows: pd.DataFrame) -> str | None:
    """Each seed architecture's shipped checkpoints against the zoo's targets (test UA of the
    ``speaker-holdout`` split), then the best seed model per corpus and whisper_tiny's gap to
    whisper_base; None when no such checkpoint is committed."""
    if rows.empty:
        return None
    shipped = rows[(rows["kind"] == "checkpoint") & ~rows["adapted"].astype(bool)]
    ua = {(r["name"], r["corpus"]): float(r["ua"]) for _, r in shipped.iterrows()}
    body, best = [], {}
    for model in SEED_ARCHITECTURES:
        cells: list[str] = []
        for corpus in ZOO_CORPORA:
            value = ua.get((f"{model}-{corpus}", corpus))
            if value is None:
                cells += ["–", "not shipped"]
                continue
            cells += [f"{value:.1f}", _against(value, ZOO_FLOOR[corpus])]
            if value > best.get(corpus, ("", -1.0))[1]:
                best[corpus] = (model, value)
        body.append([model, *cells])
    if not best:
        return None
    titles = [_CORPUS_TITLES.get(c, c) for c in ZOO_CORPORA]
    header = ["architecture"]
    for corpus, title in zip(ZOO_CORPORA, titles, strict=True):
        header += [f"{title} UA", f"target ≥ {ZOO_FLOOR[corpus]:.0f}"]
    lines = [markdown_table(header, body), ""]
    for corpus, title in zip(ZOO_CORPORA, titles, strict=True):
        if corpus in best:
            model, value = best[corpus]
            verdict = _against(value, ZOO_BEST[corpus])
            lines.append(
                f"- Best seed model on {title}: `{model}-{corpus}` {value:.1f} "
                f"(target ≥ {ZOO_BEST[corpus]:.0f}: {verdict})."
            )
        tiny = ua.get((f"whisper_tiny-{corpus}", corpus))
        base = ua.get((f"whisper_base-{corpus}", corpus))
        if tiny is not None and base is not None:
            verdict = _against(round(tiny, 1), round(base, 1) - TINY_UA_GAP)
            lines.append(
                f"- `whisper_tiny-{corpus}` {tiny:.1f} against `whisper_base-{corpus}` {base:.1f} "
                f"(target: within {TINY_UA_GAP:.0f} points: {verdict})."
            )
    lines += [
        "",
        "Test UA (%) of the shipped checkpoints on their held-out speakers (EMO-DB speakers 15 "
        "and 16, RAVDESS actors 19-24), from the results table above; each model card says why "
        "a model falls short.",
    ]
    return "\n".join(lines)
