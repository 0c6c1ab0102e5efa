"""JSON values from clients: naming their types in error messages ("got a list") and finding
strings PostgreSQL cannot store. Shared by every input parser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def json_type_name(value: Any) -> str:
    """The JSON type of a decoded value, with an article: "a string", "an object", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def unstorable(value: str) -> str | None:
    """Why PostgreSQL cannot store `value` (text and jsonb hold UTF-8 without NUL), or None.

    JSON can carry both: "\\u0000", and a lone surrogate such as "\\ud800", which no UTF-8
    encodes (nor can the tokenizers read it).
    """
    if "\x00" in value:
        return "a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"an unpaired surrogate (\\u{ord(value[exc.start]):04x})"
    return None


def unstorable_in(value: Any) -> str | None:
    """`unstorable()` for every string in a decoded JSON value, object keys included."""
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = unstorable_in(key) or unstorable_in(item)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            problem = unstorable_in(item)
            if problem:
                return problem
    return None
