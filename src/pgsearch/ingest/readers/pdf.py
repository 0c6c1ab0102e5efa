"""PDF (pypdf): the text of every page is one document, titled by the PDF's own title."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from pgsearch.ingest.readers.base import (
    ParsedDocument,
    ReadError,
    clean_title,
    first_line_title,
    whole_file,
)

# pypdf logs a warning for every oddity of a malformed file; the reader reports what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class PdfFileReader:
    """Reads PDFs with a text layer; encrypted ones only when no password is needed."""

    def read(self, data: bytes, *, source: str) -> list[ParsedDocument]:
        """Pages joined by blank lines, as one document."""
        try:
            # An encrypted PDF is opened with the empty password when it has one (many are
            # encrypted only to restrict editing); else reading a page raises.
            pdf = PdfReader(io.BytesIO(data), strict=False)
            pages = [page.extract_text() or "" for page in pdf.pages]
            info = pdf.metadata
            raw_title: Any = info.title if info is not None else None
        except FileNotDecryptedError as e:
            raise ReadError("encrypted PDF: a password is needed to read it") from e
        except DependencyError as e:
            raise ReadError(f"encrypted PDF: cannot decrypt ({_first_line(e)})") from e
        except Exception as e:
            # pypdf raises many kinds of errors (and some of Python's own) on damaged files.
            raise ReadError(f"cannot read PDF: {_first_line(e)}") from e
        # Text layers may hold NUL (PostgreSQL cannot store it) and form feeds between pages.
        text = "\n\n".join(p.replace("\x00", "").strip() for p in pages).strip()
        if not text:
            raise ReadError("PDF has no text layer (scanned pages? run OCR first)")
        title = clean_title(raw_title) if isinstance(raw_title, str) else None
        docs = whole_file(text, source=source, fmt="pdf", title=title or first_line_title(text))
        docs[0].metadata["pages"] = len(pages)
        return docs


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
