"""Safety (issue 7): weights never unpickle; checked on the source, so a new call cannot slip in."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted((ROOT / "ser_core").rglob("*.py")),
    ROOT / "app.py",
    *sorted((ROOT / "pages").glob("*.py")),
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
