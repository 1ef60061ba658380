"""The MME's modules: no import circle (TYPE_CHECKING blocks included) and none over 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import corenet.nf.mme as mme_package

PACKAGE = "corenet.nf.mme"
FOLDER = Path(mme_package.__file__).parent
MAX_LINES = 500
# The asyncio adapter still carries its own Diameter and GTP peer plumbing: held to its
# present size until the shared link adapters take that over.
CEILINGS: dict[str, int] = {}


def _imports(path: Path) -> set[str]:
    """The modules of the package that `path` imports, anywhere in the file (function
    bodies and `if TYPE_CHECKING:` blocks too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE:
                found.update(f"{PACKAGE}.{a.name}" for a in node.names)
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE + "."))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {f"{PACKAGE}.{p.stem}": p for p in FOLDER.glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path) & modules.keys() for name, path in modules.items()}


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, as the list of modules along it, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_walk_finds_a_circle_hidden_behind_type_checking(tmp_path: Path) -> None:
    a = tmp_path / "a.py"
    a.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                 f"    from {PACKAGE}.b import B\n")
    assert _imports(a) == {f"{PACKAGE}.b"}
    graph = {f"{PACKAGE}.a": {f"{PACKAGE}.b"}, f"{PACKAGE}.b": {f"{PACKAGE}.a"}}
    assert _circle(graph) == [f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.a"]


def test_no_import_circle_inside_the_mme() -> None:
    assert _circle(_graph()) is None


def test_procedures_never_import_the_core() -> None:
    importers = sorted(m for m, deps in _graph().items() if f"{PACKAGE}.core" in deps)
    assert importers == [f"{PACKAGE}.service"]


def test_no_module_over_500_lines() -> None:
    long = {p.name: n for p in FOLDER.glob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines()))
            > CEILINGS.get(p.name, MAX_LINES)}
    assert long == {}
