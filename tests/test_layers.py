"""Imports run one way (../shared/docs/ARCHITECTURE.md): a static scan of every module.

What is guarded here: the app layer (``app_support``, ``cli``) is never imported from below; no
subpackage imports the package face (``ser_core/__init__``); ``ser_core`` never imports
streamlit; the app's views never import torch, nor features (they call ``ser_core``'s API:
one ``Predictor.analyse`` gives a page its prediction, explanation and spectrogram).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ser_core"
TOP = ("app_support", "cli")  # the layer just under the views


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every import in ``path``, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _subpackage(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_reaches_up_to_the_app_layer_or_the_package_face(path: Path) -> None:
    me = _subpackage(path)
    submodules = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()}
    for line, module, names in _imports(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        assert not module.startswith("streamlit"), f"{where}: ser_core never imports streamlit"
        parts = module.split(".")
        if parts[0] != "ser_core" or me in ("__init__", "__main__"):
            continue
        if len(parts) == 1:  # `import ser_core` / `from ser_core import X`
            faces = [n for n in names if n not in submodules] if names else ["ser_core"]
            assert not faces, f"{where}: imports the package face ({', '.join(faces)})"
            continue
        if me not in TOP:
            assert parts[1] not in TOP, f"{where}: {me} reaches up to ser_core.{parts[1]}"


@pytest.mark.parametrize("path", sorted((ROOT / "views").glob("*.py")), ids=lambda p: p.name)
def test_views_never_import_torch(path: Path) -> None:
    for line, module, _ in _imports(path):
        assert module.split(".")[0] != "torch", f"{path.name}:{line}: views call ser_core's API"


@pytest.mark.parametrize("path", sorted((ROOT / "views").glob("*.py")), ids=lambda p: p.name)
def test_views_never_import_features(path: Path) -> None:
    """Pages draw what the predictor returns; featurising (a display log-mel included) is the
    predictor's job, done once per click (issue 22)."""
    for line, module, names in _imports(path):
        where = f"{path.name}:{line}"
        assert not module.startswith("ser_core.features"), f"{where}: views import no features"
        if module == "ser_core":
            assert "features" not in names, f"{where}: views import no features"


def _module_graph() -> dict[str, set[str]]:
    """Module → the ``ser_core`` modules it imports (lazy imports inside functions included;
    edges into a package's ``__init__``, its re-exporting face, are left out)."""
    files = {}
    for path in _modules():
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        files[name.removesuffix(".__init__")] = path

    def resolve(module: str) -> str:
        while module and module not in files:
            module = module.rpartition(".")[0]
        return module

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target.startswith("ser_core"):
                    found.add(resolve(target))
                    break  # the most specific match of an import statement is enough
        graph[name] = {m for m in found if m and m != name and files[m].name != "__init__.py"}
    return graph


def test_no_import_cycle_between_modules() -> None:
    """No module of ser_core imports, directly or through others, a module that imports it
    (``models._config`` and ``models._registry`` once did, through a lazy import)."""
    graph = _module_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert "ser_core.models._config" in graph["ser_core.models._registry"]  # the graph is real


#: The package's layers, lowest first; a module may import only from lower layers (lazy imports
#: inside functions included), as an import-linter "layers" contract would check.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version"),
    ("paths", "checkpoint_config", "targets"),
    ("audio",),
    ("data", "encoders"),
    ("features", "scoring"),
    ("models", "adaptation"),
    ("pipeline",),
    ("training", "inference"),
    ("evaluation",),
    ("app_support", "cli"),
)
#: Known exceptions to the order (none left: scoring, the pure functions of a predictions table,
#: sits below training, so the trainer scores and writes its card without importing evaluation).
ALLOWED_UPWARD: set[tuple[str, str]] = set()


def test_imports_run_one_way_through_the_layers() -> None:
    rank = {name: level for level, names in enumerate(LAYERS) for name in names}
    top = {p.stem if p.suffix == ".py" else p.name for p in PACKAGE.iterdir()}
    top -= {"__init__", "__main__", "__pycache__", "py"}
    assert top - {"py.typed"} <= set(rank), f"add {sorted(top - set(rank))} to LAYERS"
    found = []
    for path in _modules():
        me = _subpackage(path)
        if me in ("__init__", "__main__"):
            continue  # the package face may import every layer
        for line, module, _ in _imports(path):
            parts = module.split(".")
            if parts[0] != "ser_core" or len(parts) < 2 or parts[1] == me:
                continue
            where = str(path.relative_to(ROOT))
            if rank[parts[1]] >= rank[me] and (where, parts[1]) not in ALLOWED_UPWARD:
                found.append(f"{where}:{line}: {me} imports ser_core.{parts[1]}")
    assert not found, "imports against the layer order:\n" + "\n".join(found)
