"""Safety (issue 7): weights never unpickle; checked on the source, so a new call cannot slip in."""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ser_core.errors import CheckpointError
from ser_core.inference import load_predictor

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted((ROOT / "ser_core").rglob("*.py")),
    ROOT / "app.py",
    *sorted((ROOT / "views").glob("*.py")),
]


def _keyword_is(node: ast.Call, name: str, value: object) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value
        for k in node.keywords
    )


def _unsafe_loads(tree: ast.AST) -> list[int]:
    """Lines that may unpickle: ``pickle``/``joblib`` loads, ``torch.load`` without
    ``weights_only=True``, ``np.load`` with ``allow_pickle=True``."""
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        name = f"{owner.id}.{node.func.attr}" if isinstance(owner, ast.Name) else node.func.attr
        if (
            name in {"pickle.load", "pickle.loads", "joblib.load"}
            or (name == "torch.load" and not _keyword_is(node, "weights_only", True))
            or (name == "np.load" and _keyword_is(node, "allow_pickle", True))
        ):
            bad.append(node.lineno)
    return bad


def test_no_source_loads_weights_with_pickle() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for path in SOURCES
        if (lines := _unsafe_loads(ast.parse(path.read_text(), str(path))))
    }
    assert found == {}


def test_the_check_catches_an_unsafe_call() -> None:
    assert _unsafe_loads(ast.parse("torch.load(f)")) == [1]
    assert _unsafe_loads(ast.parse("torch.load(f, weights_only=False)")) == [1]
    assert _unsafe_loads(ast.parse("pickle.loads(b)")) == [1]
    assert _unsafe_loads(ast.parse("np.load(f, allow_pickle=True)")) == [1]
    assert _unsafe_loads(ast.parse("torch.load(f, weights_only=True)")) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["config"].update(hidden=[7]), "does not fit mlp"),
        (lambda c: c["config"].update(nonsense=1), "has no field"),
        (lambda c: c.update(num_classes="x"), "positive integer"),
        (None, "not valid JSON"),
    ],
    ids=["tensor-shapes", "unknown-field", "bad-type", "not-json"],
)
def test_a_tampered_checkpoint_is_a_clear_error(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None, message: str
) -> None:
    folder = tmp_path / "ck"
    shutil.copytree(ROOT / "checkpoints" / "mlp-emodb", folder)
    config_path = folder / "config.json"
    if edit is None:
        config_path.write_text("{not json")
    else:
        config = json.loads(config_path.read_text())
        edit(config)
        config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message):
        load_predictor(folder)
