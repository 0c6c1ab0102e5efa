"""DOCX (python-docx): paragraphs and tables in body order are one document.

The caller checks the zip container against bombs first (`ingest.archives.check_zip`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from pgsearch.ingest.readers.base import (
    ParsedDocument,
    ReadError,
    clean_title,
    first_line_title,
    whole_file,
)

_TITLE_STYLES = frozenset({"Title", "Heading 1"})


@dataclass(frozen=True)
class DocxReader:
    """Reads Word documents (.docx); headers, footers and comments are not text."""

    def read(self, data: bytes, *, source: str) -> list[ParsedDocument]:
        """The body text as one document, titled by the core properties or a Title paragraph."""
        try:
            document = docx.Document(io.BytesIO(data))
            blocks = list(_blocks(document.iter_inner_content()))
            core_title = document.core_properties.title
        except Exception as e:
            # python-docx raises zip, XML and key errors of its libraries on damaged files.
            raise ReadError(f"cannot read DOCX: {_first_line(e)}") from e
        text = "\n\n".join(text for _, text in blocks if text).strip()
        if not text:
            raise ReadError("DOCX has no text")
        styled = next((t for style, t in blocks if style in _TITLE_STYLES and t), None)
        title = clean_title(core_title or "") or clean_title(styled or "") or first_line_title(text)
        return whole_file(text, source=source, fmt="docx", title=title)


def _blocks(items: Iterator[Paragraph | Table]) -> Iterator[tuple[str | None, str]]:
    """(style name, text) of each paragraph; a table is one block, a row per line."""
    for item in items:
        if isinstance(item, Paragraph):
            style = item.style.name if item.style is not None else None
            yield style, item.text.strip()
        else:
            rows = []
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                # Merged cells repeat their text in every grid cell they span.
                unique = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
                rows.append(" | ".join(unique))
            yield None, "\n".join(r for r in rows if r)


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
