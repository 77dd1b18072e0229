"""`crs submit --depth 56 --lr-schedule cosine --no-augment`: job fields from command-line flags.

Any field of `POST /jobs` is a flag, so the CLI never lags behind the service: the service
declares the fields and checks them, and a wrong one comes back as a 422 naming it. Values are
read as JSON where they parse as a number, true, false, null or a list, and as text
otherwise.
"""

from __future__ import annotations

import json
from typing import Any

from client.errors import CrsError


class FieldSyntaxError(CrsError):
    """A flag that cannot be a job field (no leading --, an empty name)."""


def parse_value(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    # Numbers, true/false/null and lists (`--webhook-events '["status", "epoch"]'`); anything
    # else is the text as typed (a quoted JSON string would surprise more than it helps).
    return value if isinstance(value, bool | int | float | list) or value is None else text


def parse_fields(tokens: list[str]) -> dict[str, Any]:
    """`["--depth", "56", "--augment=false", "--no-augment", "--cosine-flag"]` → fields.

    `--name value` and `--name=value` set a field; `--name` alone sets it true and
    `--no-name` false. Dashes in names become underscores (`--lr-schedule` is `lr_schedule`).
    """
    fields: dict[str, Any] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("--") or len(token) == 2:
            raise FieldSyntaxError(f"unexpected argument {token!r}: job fields are --name value")
        name, equals, text = token[2:].partition("=")
        name = name.replace("-", "_")
        if not name:
            raise FieldSyntaxError(f"unexpected argument {token!r}: job fields are --name value")
        if equals:
            fields[name] = parse_value(text)
        elif index < len(tokens) and not tokens[index].startswith("--"):
            fields[name] = parse_value(tokens[index])
            index += 1
        elif name.startswith("no_"):
            fields[name.removeprefix("no_")] = False
        else:
            fields[name] = True
    return fields
