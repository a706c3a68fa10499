"""Markdown pieces of an evaluation report: metric titles, percentages, pipe tables, and the
breakdown and human-agreement sections.

Pipe tables are written here rather than with ``DataFrame.to_markdown``, which needs the optional
``tabulate`` package. Split from :mod:`ser_core.scoring.report`, which re-exports
:func:`markdown_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ser_core.scoring.groups import GroupReport, HumanAgreement

#: How metrics are named in Markdown.
METRIC_TITLES: dict[str, str] = {
    "ua": "UA (unweighted average recall)",
    "wa": "WA (accuracy)",
    "weighted_f1": "weighted F1",
    "macro_f1": "macro F1",
}
_SHORT_TITLES: dict[str, str] = {
    "ua": "UA",
    "wa": "WA",
    "weighted_f1": "wF1",
    "macro_f1": "mF1",
}


def _pct(value: Any, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage string; ``–`` when undefined."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{100 * float(value):.{digits}f}"


def _ci_text(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "–"
    return f"{_pct(low)}–{_pct(high)}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown pipe table; the first column left-aligned, others right.

    Cells are converted with ``str``; ``|`` and newlines in cells are escaped.

    Example:
        >>> print(markdown_table(["a", "b"], [["x", 1]]))
        | a | b |
        |:--|--:|
        | x | 1 |
    """

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join(":--" if i == 0 else "--:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _breakdown_markdown(name: str, report: GroupReport, max_rows: int) -> list[str]:
    out = [f"## By {name}", ""]
    header = [" / ".join(report.by), "n"]
    with_speakers = "n_speakers" in report.by_group.columns
    if with_speakers:
        header.append("speakers")
    for m in report.metrics:
        header += [_SHORT_TITLES[m], f"{_SHORT_TITLES[m]} CI"]
    rows = []
    for key, r in report.by_group.head(max_rows).iterrows():
        row: list[Any] = [" / ".join(map(str, key)) if isinstance(key, tuple) else key, int(r["n"])]
        if with_speakers:
            row.append(int(r["n_speakers"]))
        for m in report.metrics:
            row += [_pct(r[m]), _ci_text(r[f"{m}_low"], r[f"{m}_high"])]
        rows.append(row)
    out += [markdown_table(header, rows), ""]
    if len(report.by_group) > max_rows:
        out += [f"… and {len(report.by_group) - max_rows} more groups (see metrics.json).", ""]
    diff = report.difference()
    notes = []
    for m, r in diff.iterrows():
        if r["max_group"] is not None and np.isfinite(r["difference"]):
            notes.append(
                f"{_SHORT_TITLES[str(m)]} {_pct(r['difference'])} points "
                f"({r['max_group']} {_pct(r['max'])} vs {r['min_group']} {_pct(r['min'])})"
            )
    if notes:
        out += ["Largest gap between groups: " + "; ".join(notes) + ".", ""]
    return out


def _human_markdown(agreement: HumanAgreement) -> list[str]:
    s = agreement.summary
    out = ["## Agreement with human listeners (EMO-DB perception test)", ""]
    rows = [
        [
            name,
            int(r["n"]),
            _pct(r["model_accuracy"]),
            _pct(r["mean_p_true"]),
            f"{r['mean_human_pct']:.1f}" if np.isfinite(r["mean_human_pct"]) else "–",
        ]
        for name, r in agreement.by_bin.iterrows()
    ]
    out += [
        markdown_table(
            [
                "listeners recognising (%)",
                "files",
                "model accuracy",
                "mean p(true)",
                "mean human %",
            ],
            rows,
        ),
        "",
    ]
    rho, p = s.get("spearman_rho"), s.get("spearman_p")
    if rho is not None and np.isfinite(rho):
        out.append(
            f"Spearman correlation between the listeners' recognition rate and the model's "
            f"probability of the true class: ρ = {rho:.3f} (p = {p:.3g}, n = {s['n']})."
        )
    wrong, right = s.get("human_pct_when_wrong"), s.get("human_pct_when_correct")
    if wrong is not None and right is not None and np.isfinite(wrong) and np.isfinite(right):
        out.append(
            f"Files the model got wrong were recognised by {wrong:.1f} % of listeners on average, "
            f"files it got right by {right:.1f} %."
        )
    out.append("")
    return out
