"""Free text from clients (a sweep's name, a webhook URL, an idempotency key) without control
characters (issue 17): C0 and C1 controls (NUL included), DEL, and the bidirectional controls
that make a label display as something else (U+202E RIGHT-TO-LEFT OVERRIDE and its kin)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def control_problem(text: str) -> str | None:
    """Why the text is refused (the first control character), or None."""
    for i, char in enumerate(text):
        if unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS:
            return f"must not contain control characters (U+{ord(char):04X} at {i})"
    return None


def _no_controls(text: str) -> str:
    problem = control_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


PlainText = Annotated[str, AfterValidator(_no_controls)]
