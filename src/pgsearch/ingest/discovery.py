"""Find the input files: paths as given, and the supported files inside folders."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pgsearch.ingest.files import FileParseError, reader_for, unsupported_reason


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield files as given and supported files inside folders, recursively and sorted."""
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            if reader_for(path.name) is None:
                raise FileParseError(path, unsupported_reason(path.name))
            yield path
        elif path.exists():
            raise FileParseError(path, "not a regular file or folder")
        else:
            raise FileParseError(path, "no such file or folder")


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, onerror=_raise_walk_error):
        # Pruning and sorting in place makes os.walk skip hidden folders and go in order.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if not name.startswith(".") and reader_for(name) is not None and path.is_file():
                yield path


def _raise_walk_error(error: OSError) -> None:
    raise FileParseError(error.filename or "?", error.strerror or str(error))
