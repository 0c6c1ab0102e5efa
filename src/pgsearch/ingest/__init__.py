"""Ingest: find and parse input files, split text into chunks (pure functions, no database)."""

from pgsearch.ingest.chunking import chunk_text
from pgsearch.ingest.files import (
    SUPPORTED_SUFFIXES,
    FileParseError,
    ParsedDocument,
    iter_files,
    parse_file,
)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "FileParseError",
    "ParsedDocument",
    "chunk_text",
    "iter_files",
    "parse_file",
]
