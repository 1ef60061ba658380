"""Every external program the test-suite runs comes from a Debian package that scripts/setup.sh
installs, and the README claims no more (and no less) than setup.sh installs.

The programs are found by reading the tests (AST): commands of subprocess / asyncio subprocess
calls whose program is a literal or a variable assigned a literal, and every `shutil.which("x")`.
A new program without an entry in PACKAGES fails here until it is mapped and setup.sh installs it.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

# program -> the Debian package providing it (checked against dpkg's file lists when installed)
PACKAGES = {
    "tshark": "tshark",
    "sipp": "sip-tester",
    "mosquitto": "mosquitto",
    "mosquitto_passwd": "mosquitto",
    "freeDiameterd": "freediameterd",  # its .fdx extensions: freediameter-extensions
}

_RUNNERS = {"run", "Popen", "check_output", "check_call", "call", "create_subprocess_exec"}


def _first_literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.List | ast.Tuple) and node.elts:
        node = node.elts[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _which(node: ast.AST) -> str | None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "which" and node.args):
        return _first_literal(node.args[0])
    return None


def _is_runner(func: ast.AST) -> bool:
    """subprocess.run(...), asyncio.create_subprocess_exec(...), or Popen(...) imported bare."""
    if isinstance(func, ast.Attribute):
        return (func.attr in _RUNNERS and isinstance(func.value, ast.Name)
                and func.value.id in {"subprocess", "asyncio"})
    return isinstance(func, ast.Name) and func.id in _RUNNERS - {"run", "call"}


def programs_in(source: str) -> set[str]:
    """Programs a test module runs."""
    tree = ast.parse(source)
    assigned: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            assigned.setdefault(node.target.id, []).append(node.value)

    def resolve(node: ast.AST | None) -> set[str]:
        if isinstance(node, ast.List | ast.Tuple) and node.elts:
            return resolve(node.elts[0])
        if isinstance(node, ast.BoolOp):  # shutil.which("x") or "/usr/sbin/x"
            return set().union(*(resolve(v) for v in node.values))
        if isinstance(node, ast.Name):
            return set().union(*(resolve(v) for v in assigned.get(node.id, [])))
        literal = _first_literal(node) or _which(node) if node is not None else None
        return {Path(literal).name} if literal else set()

    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        which = _which(node)
        if which:
            found.add(which)
        if _is_runner(node.func) and node.args:
            found |= resolve(node.args[0])
    return found


def programs_run_by_tests() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        for program in programs_in(path.read_text(encoding="utf-8")):
            out.setdefault(program, []).append(str(path.relative_to(ROOT)))
    return out


def setup_packages() -> list[str]:
    text = (ROOT / "scripts/setup.sh").read_text()
    match = re.search(r"^DEBIAN_PACKAGES=\(([^)]*)\)", text, re.MULTILINE)
    assert match, "scripts/setup.sh has no DEBIAN_PACKAGES=(...) list"
    return match.group(1).split()


def _dpkg_lists(package: str) -> list[Path]:
    info = Path("/var/lib/dpkg/info")
    return [p for p in (info / f"{package}.list", *info.glob(f"{package}:*.list")) if p.exists()]


def test_the_scan_finds_the_programs_we_know_of() -> None:
    found = programs_run_by_tests()
    assert {"tshark", "sipp", "mosquitto", "mosquitto_passwd", "freeDiameterd"} <= set(found)
    assert programs_in('import subprocess\ncmd = ["foo", "-x"]\nsubprocess.run(cmd)\n') == {"foo"}
    assert programs_in("X = shutil.which('bar') or '/usr/sbin/bar'\nsubprocess.Popen([X])\n") == {"bar"}
    assert programs_in("asyncio.create_subprocess_exec(str(BIN / 'corenet'), 'run')\n") == set()
    assert programs_in("ue.call('119')\n") == set()


def test_every_program_the_tests_run_comes_from_a_package_setup_installs() -> None:
    installed = set(setup_packages())
    for program, files in programs_run_by_tests().items():
        package = PACKAGES.get(program)
        assert package is not None, (
            f"{program} (run by {', '.join(files)}) has no Debian package in PACKAGES: map it and "
            f"add the package to DEBIAN_PACKAGES in scripts/setup.sh")
        assert package in installed, (
            f"{program} comes from {package}, which scripts/setup.sh does not install")


def test_the_package_table_matches_dpkg() -> None:
    # where the program is installed, dpkg's file list of the package names it
    for program, package in PACKAGES.items():
        path = shutil.which(program)
        lists = _dpkg_lists(package)
        if path is None or not lists:
            continue
        owned = {line.strip() for lst in lists for line in lst.read_text().splitlines()}
        real = str(Path(path).resolve())
        assert {path, real, "/usr" + real, real.removeprefix("/usr")} & owned, (
            f"{program} at {path} is not a file of Debian package {package}")


def test_readme_names_exactly_the_packages_setup_installs() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"install the Debian packages(.*?)scripts/setup\.sh", readme, re.DOTALL)
    assert match, "README.md no longer says which Debian packages setup installs"
    claimed = set(re.findall(r"`([a-z0-9][a-z0-9.+-]*)`", match.group(1)))
    assert claimed == set(setup_packages())
