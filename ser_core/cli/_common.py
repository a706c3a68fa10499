"""Helpers the ``ser`` subcommands share: option parsing and JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ser_core.errors import SERError
from ser_core.paths import corpora_root

Handler = Callable[[argparse.Namespace], int]


def default_root() -> Path | None:
    return corpora_root()


def json_default(value: object) -> object:
    # numpy scalars and pandas NA are not JSON-serialisable as they are.
    if hasattr(value, "item"):
        return value.item()  # type: ignore[no-any-return]
    return None if value is None or str(value) in {"<NA>", "nan"} else str(value)


def fmt_metric(value: object) -> str:
    return f"{100 * float(value):.1f}%" if isinstance(value, int | float) else "-"


def parse_value(text: str) -> object:
    """A ``key=value`` value: JSON when it parses (numbers, true, [..]), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def key_values(items: Sequence[str] | None, option: str) -> dict[str, object]:
    """``["a=1", "b=x"]`` or one JSON object string → dict."""
    out: dict[str, object] = {}
    for item in items or []:
        text = item.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SERError(f"{option}: not valid JSON: {exc}") from exc
            if not isinstance(value, dict):
                raise SERError(f"{option}: expected a JSON object")
            out.update(value)
            continue
        if "=" not in text:
            raise SERError(f"{option} takes KEY=VALUE (or a JSON object), got {item!r}")
        key, value = text.split("=", 1)
        out[key.strip()] = parse_value(value.strip())
    return out


def flag_or_json(text: str, option: str) -> object:
    if text in ("", "on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SERError(f"{option}: give on/off or a JSON object of settings ({exc})") from exc
    if not isinstance(value, dict):
        raise SERError(f"{option}: give on/off or a JSON object of settings")
    return value
