"""HTML: the visible text is one document, titled by <title> or the first <h1>."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from pgsearch.ingest.readers.base import (
    ParsedDocument,
    ReadError,
    clean_title,
    decode_text,
    whole_file,
)

_SKIPPED_TAGS = frozenset({"head", "noscript", "script", "style", "svg", "template", "title"})
# Tags that separate paragraphs (blank line) or lines (line break) in the visible text.
_PARAGRAPH_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "dl", "fieldset", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav",
        "ol", "p", "pre", "section", "table", "ul",
    }
)  # fmt: skip
_LINE_TAGS = frozenset(
    {"br", "caption", "dd", "div", "dt", "figcaption", "li", "option", "summary", "tr"}
)
_CELL_TAGS = frozenset({"td", "th"})
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


class _TextExtractor(HTMLParser):
    """Collect visible text; block elements become line breaks, whitespace collapses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # decodes entities in text and attributes
        self.parts: list[str] = []
        self.title: str | None = None
        self.h1: str | None = None
        self._skip: list[str] = []  # open elements whose content is not visible
        self._pre = 0
        self._capture: list[str] | None = None  # text of the <title> or of the first <h1>
        self._capture_tag = ""
        self._pending_breaks = 0
        self._pending_space = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip.clear()  # </head> is optional in HTML
        if tag == "title" and self.title is None and all(t == "head" for t in self._skip):
            self._capture, self._capture_tag = [], "title"
        if tag in _SKIPPED_TAGS or (not self._skip and any(k == "hidden" for k, _ in attrs)):
            if tag not in _VOID_TAGS:
                self._skip.append(tag)
            return
        if self._skip:
            return
        if tag == "h1" and self.h1 is None and self._capture is None:
            self._capture, self._capture_tag = [], "h1"
        if tag == "pre":
            self._pre += 1
        self._block(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skip:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._capture is not None and tag == self._capture_tag:
            text = " ".join("".join(self._capture).split()) or None
            if tag == "title":
                self.title = text
            else:
                self.h1 = text
            self._capture = None
        if self._skip:
            if tag in self._skip:
                # Close the innermost matching element and anything left open inside it.
                del self._skip[len(self._skip) - 1 - self._skip[::-1].index(tag) :]
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        self._block(tag)

    def handle_data(self, data: str) -> None:
        if self._capture is not None and (self._capture_tag == "title" or not self._skip):
            self._capture.append(data)
        if self._skip:
            return
        if self._pre:
            self._emit(data)
            return
        collapsed = _HTML_SPACE.sub(" ", data)
        if collapsed.startswith(" "):
            self._pending_space = True
        words = collapsed.strip(" ")
        if words:
            self._emit(words)
            self._pending_space = collapsed.endswith(" ")

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self._pending_breaks = max(self._pending_breaks, 2)
        elif tag in _LINE_TAGS:
            self._pending_breaks = max(self._pending_breaks, 1)
        elif tag in _CELL_TAGS:
            self._pending_space = True

    def _emit(self, text: str) -> None:
        if self.parts:
            if self._pending_breaks:
                self.parts.append("\n" * self._pending_breaks)
            elif self._pending_space:
                self.parts.append(" ")
        self.parts.append(text)
        self._pending_breaks = 0
        self._pending_space = False


@dataclass(frozen=True)
class HtmlReader:
    """Reads HTML; scripts, styles, hidden elements and the head are not text."""

    def read(self, data: bytes, *, source: str) -> list[ParsedDocument]:
        """The visible text as one document."""
        html = decode_text(data)
        parser = _TextExtractor()
        try:
            parser.feed(html)
            parser.close()
        except Exception as e:  # html.parser is lenient; guard against its rare internal errors
            raise ReadError(f"cannot parse HTML: {e}") from e
        body = "".join(parser.parts).strip()
        if not body:
            raise ReadError("no visible text")
        title = clean_title(parser.title or parser.h1 or "")
        return whole_file(body, source=source, fmt="html", title=title)
