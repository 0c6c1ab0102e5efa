"""Plain text, Markdown and reStructuredText: the file is one document, titled by its heading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pgsearch.ingest.readers.base import (
    TITLE_MAX_CHARS,
    ParsedDocument,
    clean_title,
    decode_text,
    whole_file,
)

_ATX_HEADING = re.compile(r"#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")
_FENCE = re.compile(r"(`{3,}|~{3,})")
# RST section adornment: one repeated punctuation character.
_RST_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+[ \t]*")
_SETEXT = re.compile(r"(=+|-+)[ \t]*")


@dataclass(frozen=True)
class TextReader:
    """Reads "txt", "md" or "rst"; the title comes from front matter, a heading or line one."""

    fmt: Literal["txt", "md", "rst"]

    def read(self, data: bytes, *, source: str) -> list[ParsedDocument]:
        """The whole file as one document."""
        text = decode_text(data)
        return whole_file(text, source=source, fmt=self.fmt, title=self._title(text))

    def _title(self, text: str) -> str | None:
        lines = text.splitlines()
        if self.fmt == "md":
            lines, front_title = _split_front_matter(lines)
            title = front_title or _markdown_heading(lines)
        elif self.fmt == "rst":
            title = _rst_title(lines)
        else:
            title = None
        return title or _first_line(lines)


def _split_front_matter(lines: list[str]) -> tuple[list[str], str | None]:
    """Drop a leading YAML front-matter block; return its `title:` if it has one."""
    if not lines or lines[0].strip() != "---":
        return lines, None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            title = None
            for line in lines[1:i]:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "title":
                    title = value.strip().strip("\"'") or None
                    break
            return lines[i + 1 :], title
    return lines, None  # no closing line: not front matter


def _markdown_heading(lines: list[str]) -> str | None:
    fence: str | None = None
    previous = ""
    for line in lines:
        stripped = line.strip()
        fence_match = _FENCE.match(stripped)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            previous = ""
            continue
        if fence is not None:
            continue
        atx = _ATX_HEADING.fullmatch(stripped)
        if atx:
            return clean_title(atx.group(1))
        if previous and _SETEXT.fullmatch(stripped):
            return clean_title(previous)
        previous = stripped
    return None


def _rst_title(lines: list[str]) -> str | None:
    for i in range(len(lines) - 1):
        candidate = lines[i].strip()
        underline = lines[i + 1].rstrip()
        if (
            candidate
            and not _RST_ADORNMENT.fullmatch(candidate)
            and _RST_ADORNMENT.fullmatch(underline)
            and len(underline) >= len(candidate)
        ):
            return clean_title(candidate)
    return None


def _first_line(lines: list[str]) -> str | None:
    for line in lines:
        stripped = line.strip()
        if stripped:
            return stripped if len(stripped) <= TITLE_MAX_CHARS else None
    return None
