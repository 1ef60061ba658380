"""README vs the commands: every option a command's `--help` shows is in the README's command
reference (and only those), and every `--option` the README names exists on the command its
line runs (or, in prose, on some command or benchmark)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import click
from click.testing import CliRunner

from corenet.cli.main import cli as corenet_cli
from sim_ue.cli import cli as sim_ue_cli

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ROOTS: dict[str, click.Group] = {"corenet": corenet_cli, "sim-ue": sim_ue_cli}
OPTION = re.compile(r"--[a-z0-9][a-z0-9-]*")


def _help(path: str) -> str:
    root, *args = path.split()
    result = CliRunner().invoke(ROOTS[root], [*args, "--help"], prog_name=root)
    assert result.exit_code == 0, (path, result.output)
    return result.output


def _section(text: str, title: str) -> list[str]:
    """The lines of a help section ("Options:", "Commands:") up to the next blank line."""
    lines = text.splitlines()
    if title not in lines:
        return []
    out = []
    for line in lines[lines.index(title) + 1:]:
        if not line.strip():
            break
        out.append(line)
    return out


def _options(text: str) -> set[str]:
    """Long options declared in a help text (an entry's name part, before its description)."""
    found = set()
    for line in _section(text, "Options:"):
        stripped = line.strip()
        if stripped.startswith("-"):
            declaration = re.split(r"\s{2,}", stripped)[0]
            found |= set(OPTION.findall(declaration))
    return found - {"--help"}


@cache
def commands() -> dict[str, set[str]]:
    """Each runnable command path -> the long options its `--help` (and its groups') show."""
    out: dict[str, set[str]] = {}

    def walk(path: str, inherited: set[str]) -> None:
        text = _help(path)
        options = inherited | _options(text)
        subcommands = [line.split()[0] for line in _section(text, "Commands:")
                       if line.startswith("  ") and not line.startswith("   ")]
        if not subcommands:
            out[path] = options
        for name in subcommands:
            walk(f"{path} {name}", options - ROOT_ONLY.get(path.split()[0], set()))

    for root in ROOTS:
        top = _options(_help(root))
        if top:
            out[root] = top
        walk(root, set())
    return out


# options of a root group that belong before any command only (not inherited in the table)
ROOT_ONLY = {"corenet": {"--version"}}


def _reference() -> dict[str, set[str]]:
    """The README's command reference table: command path -> options of its row."""
    start = README.index("## Command reference")
    end = README.index("\n## ", start + 1)
    rows = {}
    for line in README[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = set(OPTION.findall(cells[1]))
    return rows


def test_help_is_parsed() -> None:
    found = commands()
    assert found["corenet storm"] >= {"--out", "--json", "--seed"}
    assert "--endpoint" in found["corenet ctl status"]
    assert found["sim-ue attach"] >= {"--detach", "--no-detach"}
    assert "corenet hss subscriber add" in found and "corenet hss" not in found


def test_every_command_and_option_is_in_the_reference() -> None:
    reference = _reference()
    found = commands()
    missing_commands = sorted(set(found) - set(reference))
    assert not missing_commands, f"commands missing from README's command reference: " \
                                 f"{missing_commands}"
    unknown_commands = sorted(set(reference) - set(found))
    assert not unknown_commands, f"README documents commands that do not exist: {unknown_commands}"
    problems = []
    for path, options in found.items():
        if reference[path] - options:
            problems.append(f"{path}: README lists {sorted(reference[path] - options)}, "
                            "which --help does not show")
        if options - reference[path]:
            problems.append(f"{path}: {sorted(options - reference[path])} missing from README")
    assert not problems, "\n".join(problems)


def _benchmark_options() -> set[str]:
    found = set()
    for script in (ROOT / "benchmarks").glob("*.py"):
        found |= set(re.findall(r"add_argument\(\s*\"(--[a-z0-9-]+)\"",
                                script.read_text(encoding="utf-8")))
    return found


def _command_paths(line: str, found: dict[str, set[str]]) -> list[str]:
    """The commands a README command line runs ("corenet hss subscriber add|list ..." is four
    of them); none for a line that does not start with a command below a root."""
    words = line.split()
    if not words or words[0] not in ROOTS:
        return []
    paths = [words[0]]
    matched: list[str] = []
    for word in words[1:]:
        longer = [f"{p} {alt}" for p in paths for alt in word.split("|")]
        longer = [p for p in longer if any(c == p or c.startswith(p + " ") for c in found)]
        if not longer:
            break
        paths = longer
        matched = [p for p in paths if p in found]
    return matched


def test_every_documented_option_exists() -> None:
    found = commands()
    known = set().union(*found.values()) | _benchmark_options()
    problems = []
    for number, line in enumerate(README.splitlines(), 1):
        stripped = line.strip()
        # a command line of a code block: its options belong to that command
        paths = _command_paths(stripped, found)
        if paths:
            allowed = set().union(*(found[p] for p in paths))
            for opt in OPTION.findall(stripped.split("#")[0]):
                if opt not in allowed and opt != "--help":
                    problems.append(f"README line {number}: {' / '.join(paths)} has no {opt}")
            continue
        for opt in OPTION.findall(line):
            if opt not in known and opt != "--help":
                problems.append(f"README line {number}: no command has {opt}")
    assert not problems, "\n".join(problems)


def test_every_command_states_its_output() -> None:
    start = README.index("## Command reference")
    end = README.index("\n## ", start + 1)
    for line in README[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            assert cells[2], f"{cells[0]}: no output format stated"
