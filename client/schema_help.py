"""`crs submit --help` (and `crs estimate --help`): every job field with its default, bounds
and choices, read from the service's own schema (/openapi.json), so the list cannot drift from
what POST /jobs accepts (issue 18)."""

from __future__ import annotations

import textwrap
from typing import Any

import httpx

SCHEMA_TIMEOUT_S = 3.0


def _type_of(prop: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The property's own schema, without the `null` of an optional field or a $ref."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    found = dict(options[0]) if options else {}
    if "$ref" in found:
        found = {**schemas.get(found["$ref"].rsplit("/", 1)[-1], {}), **found}
    if found.get("type") == "array" and "$ref" in found.get("items", {}):
        ref = found["items"]["$ref"].rsplit("/", 1)[-1]
        found["items"] = schemas.get(ref, {})
    return found


def field_lines(schema: dict[str, Any], width: int = 100) -> list[str]:
    """One entry per field of the JobRequest schema: flag, default, bounds or choices, text."""
    schemas = schema.get("components", {}).get("schemas", {})
    request = schemas.get("JobRequest", {})
    required = set(request.get("required", []))
    lines: list[str] = []
    for name, prop in request.get("properties", {}).items():
        own = _type_of(prop, schemas)
        facts = []
        if name in required:
            facts.append("required")
        elif "default" in prop:
            facts.append(f"default {prop['default']}")
        choices = own.get("enum") or own.get("items", {}).get("enum")
        if choices:
            facts.append("choices " + "|".join(str(c) for c in choices))
        low, high = own.get("minimum"), own.get("maximum")
        if low is not None or high is not None:
            facts.append(f"{_number(low)}..{_number(high)}")
        head = f"  --{name.replace('_', '-')}" + (f" ({'; '.join(facts)})" if facts else "")
        lines.append(head)
        text = str(prop.get("description") or "").replace("`", "")
        lines += textwrap.wrap(text, width, initial_indent="      ", subsequent_indent="      ")
    return lines


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def fields_epilog(url: str) -> str:
    """The job fields as the service at `url` declares them, or why they cannot be listed."""
    try:
        answer = httpx.get(f"{url.rstrip('/')}/openapi.json", timeout=SCHEMA_TIMEOUT_S)
        answer.raise_for_status()
        lines = field_lines(answer.json())
    except (httpx.HTTPError, ValueError) as error:
        return f"job fields: the service at {url} did not give its schema ({error})"
    if not lines:
        return f"job fields: the schema of {url} has no JobRequest"
    return "\n".join(
        [f"job fields (from {url}/openapi.json; --no-FIELD sets a flag false):", *lines]
    )
