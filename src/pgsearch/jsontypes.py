"""Naming JSON value types in error messages ("got a list"), shared by every input parser."""

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
