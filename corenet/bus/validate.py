"""Every bus payload is checked against its JSON Schema (schemas/*.json, draft 2020-12).

A payload that fails is answered by an error event naming the field (``area.tacs[0]``) and is
otherwise ignored: nothing changes on the receiving side. Payloads are parsed within limits
(RFC 8259 §9): MAX_PAYLOAD bytes, MAX_DEPTH levels of nesting; over them, field "$".
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from corenet.bus.topics import Kind
from corenet.core import jsonlimits
from corenet.core.errors import CorenetError

# our payloads nest a few levels (an order: request, area, tacs); a wide margin over that
MAX_DEPTH = 40
MAX_PAYLOAD = 256 * 1024


class PayloadError(CorenetError):
    """A bus payload is not JSON or does not match its schema; `field` names where."""

    def __init__(self, kind: Kind, field: str, message: str) -> None:
        super().__init__(f"{kind.value}: {field}: {message}")
        self.kind = kind
        self.field = field
        self.message = message


@functools.cache
def schema(kind: Kind) -> dict[str, Any]:
    text = resources.files("corenet.bus").joinpath("schemas", f"{kind.value}.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator(kind: Kind) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(kind))


def _field_of(error: ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        if missing:
            path += f".{missing[0]}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(n for n in error.instance if n not in allowed)
        if extra:
            path += f".{extra[0]}"
    return path.lstrip(".") or "$"


def validate(kind: Kind, payload: Any) -> dict[str, Any]:
    """The payload itself when it matches the schema of `kind`; PayloadError otherwise."""
    errors = sorted(_validator(kind).iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise PayloadError(kind, _field_of(first), first.message)
    result: dict[str, Any] = payload
    return result


def load(kind: Kind, data: bytes | str) -> dict[str, Any]:
    """Bytes from the bus -> validated payload; PayloadError on bad UTF-8, JSON or schema."""
    try:
        payload = jsonlimits.loads(data, max_depth=MAX_DEPTH, max_size=MAX_PAYLOAD)
    except jsonlimits.JsonLimitError as exc:
        raise PayloadError(kind, "$", str(exc)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(kind, "$", f"not JSON: {exc}") from exc
    return validate(kind, payload)


def dump(kind: Kind, payload: dict[str, Any]) -> bytes:
    """Validated payload -> bytes for the bus (we never publish what a peer would refuse)."""
    return json.dumps(validate(kind, payload), sort_keys=True, ensure_ascii=False).encode()
