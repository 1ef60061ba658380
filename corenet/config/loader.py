"""YAML configuration, validated at start. An error names the file, the field and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from corenet.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _line_index(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Map every key path of a composed YAML document to its 1-based line."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_index(value_node, path + (key,), out)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), out)


def _nearest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])
        if key in lines:
            return lines[key]
    return None


def load_yaml(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: {where}: invalid YAML: {problem}") from None
    except ValueError as exc:  # PyYAML's constructors (an impossible date, say) raise bare ValueErrors
        raise ConfigError(f"{source}: invalid value: {exc}") from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    return (data if data is not None else {}), lines


def validate(model: type[M], data: Any, source: str, lines: dict[tuple[Any, ...], int] | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = _nearest_line(lines or {}, loc)
        where = f"line {line}: " if line is not None else ""
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{source}: {where}{field}: {err['msg']}{more}") from None


def load(model: type[M], path: str | Path) -> M:
    return load_with_lines(model, path)[0]


def load_with_lines(model: type[M], path: str | Path) -> tuple[M, dict[tuple[Any, ...], int]]:
    """The validated model and the line of every key path, for checks across entries."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    data, lines = load_yaml(text, str(p))
    return validate(model, data, str(p), lines), lines


def load_text(model: type[M], text: str, source: str = "<config>") -> M:
    data, lines = load_yaml(text, source)
    return validate(model, data, source, lines)
