"""Package layering of corenet/ and sim_ue/, read from the source (AST) without importing it.

Every import statement counts: module level, TYPE_CHECKING blocks and imports inside functions
alike (a cycle hidden behind TYPE_CHECKING or a late import is still a cycle of dependencies).
Importing `a.b.c` also depends on the packages `a.b` and `a` (their __init__ run first), except
the importer's own enclosing packages, which are already being imported.

Rules (see corenet/orchestration/__init__.py):
- no import circle between modules;
- only corenet.cli and corenet.orchestration import sim_ue;
- nothing in corenet imports corenet.orchestration except corenet.cli;
- the packages the network functions are built on (BELOW_NF) import no network function, no
  runtime, no orchestration and no CLI: a control endpoint's generic types in corenet.control,
  a network function's own operations in its folder (corenet.nf.mme.control);
- sim_ue imports neither corenet.activation, corenet.nf nor corenet.orchestration.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("corenet", "sim_ue")

# what the network functions are built on
BELOW_NF = ("corenet.core", "corenet.codecs", "corenet.crypto", "corenet.protocols",
            "corenet.transport", "corenet.pcap", "corenet.bus", "corenet.config", "corenet.control")
ABOVE_BELOW_NF = ("corenet.nf", "corenet.runtime", "corenet.orchestration", "corenet.cli")

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first import}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    return {module_name(p, root): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Fully qualified names an import statement may refer to (modules or attributes)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        if not is_package:
            anchor = anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base] + [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]


def imports_of(source: str, module: str, known: set[str], is_package: bool = False) -> dict[str, int]:
    """Modules of `known` that `module` depends on, with the line of the first import of each."""
    found: dict[str, int] = {}
    own_packages = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    if is_package:
        own_packages.add(module)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        for name in _imported(node, module, is_package):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                target = ".".join(parts[:i])
                if target in known and target != module and target not in own_packages:
                    found.setdefault(target, node.lineno)
    return found


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> Graph:
    files = sources(root, packages)
    known = set(files)
    return {
        module: imports_of(path.read_text(encoding="utf-8"), module, known, path.name == "__init__.py")
        for module, path in files.items()
    }


def components(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (each a knot of circles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(start: str) -> None:  # Tarjan, iterative so deep chains do not hit the recursion limit
        work = [(start, iter(sorted(graph.get(start, {}))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return sorted(found)


def cycles(graph: Graph) -> list[list[str]]:
    """One shortest circle through each knot (strongly connected component)."""
    return [_shortest_circle(graph, set(c), c[0]) for c in components(graph)]


def _shortest_circle(graph: Graph, members: set[str], start: str) -> list[str]:
    """Breadth-first from start back to start, inside one strongly connected component."""
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is not on a circle")


def _describe(graph: Graph, circle: list[str]) -> str:
    steps = [f"{a} (line {graph[a][b]})" for a, b in zip(circle, circle[1:], strict=False)]
    return " -> ".join([*steps, circle[-1]])


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(graph: Graph) -> list[str]:
    """Imports that break the layering rules of the module docstring."""
    out = []
    for module, targets in sorted(graph.items()):
        for target, line in sorted(targets.items()):
            if _inside(module, "sim_ue"):
                forbidden = ("corenet.activation", "corenet.nf", "corenet.orchestration")
                if any(_inside(target, f) for f in forbidden):
                    out.append(f"{module} (line {line}) imports {target}: sim_ue is below them")
            elif _inside(target, "sim_ue"):
                if not (_inside(module, "corenet.cli") or _inside(module, "corenet.orchestration")):
                    out.append(f"{module} (line {line}) imports {target}: only corenet.cli and "
                               "corenet.orchestration drive sim_ue")
            elif _inside(target, "corenet.orchestration") and not _inside(module, "corenet.orchestration"):
                if not _inside(module, "corenet.cli"):
                    out.append(f"{module} (line {line}) imports {target}: only corenet.cli runs "
                               "the orchestration")
            elif (any(_inside(module, b) for b in BELOW_NF)
                  and any(_inside(target, a) for a in ABOVE_BELOW_NF)):
                out.append(f"{module} (line {line}) imports {target}: the network functions are "
                           "built on it")
    return out


def test_no_import_circle() -> None:
    graph = import_graph()
    knots = components(graph)
    assert not knots, "import circles:\n" + "\n".join(
        f"{_describe(graph, _shortest_circle(graph, set(k), k[0]))}\n"
        f"  (the circles join {len(k)} modules: {', '.join(k)})" for k in knots)


def test_layering_rules() -> None:
    graph = import_graph()
    # the walk reads the real tree: late imports and the orchestration's use of sim_ue are seen
    assert {"corenet.nf.mme.service", "sim_ue.ue", "corenet.orchestration.storm"} <= set(graph)
    assert "sim_ue.runner" in graph["corenet.orchestration.storm"]
    assert "corenet.nf.mme.service" in graph["corenet.runtime.supervisor"]
    found = violations(graph)
    assert not found, "layering violations:\n" + "\n".join(found)


def _tree(tmp_path: Path, files: dict[str, str]) -> Graph:
    """The import graph of a tree of these files, every folder a package."""
    for name, text in {"sim_ue/ue.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for folder in path.relative_to(tmp_path).parents[:-1]:
            (tmp_path / folder / "__init__.py").touch()
    return import_graph(tmp_path, ("corenet", "sim_ue"))


def test_a_circle_behind_type_checking_is_found(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "corenet/nf/core.py": "from corenet.nf import emm\n",
        "corenet/nf/emm.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from corenet.nf.core import Core\n"),
        "corenet/nf/other.py": "from . import emm\n",
    })
    assert graph["corenet.nf.other"] == {"corenet.nf.emm": 1}
    assert cycles(graph) == [["corenet.nf.core", "corenet.nf.emm", "corenet.nf.core"]]
    assert _describe(graph, cycles(graph)[0]) == (
        "corenet.nf.core (line 1) -> corenet.nf.emm (line 3) -> corenet.nf.core")


def test_late_imports_count_and_a_module_is_inside_its_own_package(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "corenet/a/__init__.py": "from corenet.a.x import X\n",
        "corenet/a/x.py": "X = 1\n",
        "corenet/b.py": "def f():\n    from corenet.a.x import X\n",
        "corenet/c.py": "import corenet.b\n",
    })
    # corenet.a.x inside its own package: not a circle with corenet.a
    assert graph["corenet.a"] == {"corenet.a.x": 1}
    assert graph["corenet.b"] == {"corenet.a": 2, "corenet.a.x": 2}
    assert cycles(graph) == []


def test_layering_violations_are_named(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "corenet/nf/mme.py": "from corenet.orchestration import demo\n",
        "corenet/orchestration/demo.py": "import sim_ue.ue\n",
        "corenet/cli/demo_cmd.py": "from corenet.orchestration.demo import run\nimport sim_ue\n",
        "corenet/runtime.py": "from sim_ue.ue import Ue\n",
        "corenet/control/api.py": "from corenet.nf.mme import Mode\n",
        "sim_ue/ue.py": "from corenet.nf import mme\n",
    })
    assert violations(graph) == [
        "corenet.control.api (line 1) imports corenet.nf: the network functions are built on it",
        "corenet.control.api (line 1) imports corenet.nf.mme: the network functions are built on it",
        "corenet.nf.mme (line 1) imports corenet.orchestration: only corenet.cli runs the orchestration",
        "corenet.nf.mme (line 1) imports corenet.orchestration.demo: only corenet.cli runs the "
        "orchestration",
        "corenet.runtime (line 1) imports sim_ue: only corenet.cli and corenet.orchestration drive sim_ue",
        "corenet.runtime (line 1) imports sim_ue.ue: only corenet.cli and corenet.orchestration "
        "drive sim_ue",
        "sim_ue.ue (line 1) imports corenet.nf: sim_ue is below them",
        "sim_ue.ue (line 1) imports corenet.nf.mme: sim_ue is below them",
    ]
