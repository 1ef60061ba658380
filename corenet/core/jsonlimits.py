"""JSON from peers, parsed within limits (RFC 8259 §9: "An implementation may set limits on the
size of texts that it accepts ... [and] on the maximum depth of nesting").

Python's `json` parser recurses once per nesting level: a document of 30,000 brackets raises
RecursionError, which the callers' `except ValueError` does not catch. `loads` measures the depth
first (strings skipped, one linear pass) and refuses a text over the limits with
`JsonLimitError`, a ValueError like every other malformed-JSON answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
MAX_SIZE = 1024 * 1024

# a JSON string (RFC 8259 §7), or one bracket outside strings
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


class JsonLimitError(ValueError):
    """A JSON text over the size or nesting limit; the message says which."""


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in `data` (0 for a scalar)."""
    deepest = level = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            level += 1
            deepest = max(deepest, level)
        elif token in (b"]", b"}"):
            level -= 1
    return deepest


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, max_size: int = MAX_SIZE) -> Any:
    """`json.loads` that raises only ValueError: JsonLimitError over `max_size` bytes or
    `max_depth` levels, JSONDecodeError / UnicodeDecodeError on malformed text."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_size:
        raise JsonLimitError(f"JSON text of {len(raw)} bytes (limit {max_size})")
    opening = raw.count(b"[") + raw.count(b"{")
    nesting = depth(raw) if opening > max_depth else 0
    if nesting > max_depth:
        raise JsonLimitError(f"JSON nested {nesting} levels deep (limit {max_depth})")
    return json.loads(raw)
