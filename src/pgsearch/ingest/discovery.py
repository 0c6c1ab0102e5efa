"""Find the input files: paths as given, and the readable files inside folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pgsearch.ingest.files import (
    NOT_TEXT_REASONS,
    FileParseError,
    file_kind,
    sniff_file,
    unsupported_reason,
)

# Why a file inside a folder was left out: "binary" or "unsupported .xyz" (counted by label).
SkipHandler = Callable[[Path, str], None]


def skip_reason(path: Path) -> str | None:
    """None if the file is for a reader, else a short label of why not: "unsupported .png",
    "binary" or "not UTF-8" (reads at most 8 KB)."""
    kind = file_kind(path.name)
    if kind.unsupported is not None:
        return f"unsupported {kind.unsupported}"
    return sniff_file(path) if kind.reader is None else None


def iter_files(paths: Iterable[Path], *, on_skip: SkipHandler | None = None) -> Iterator[Path]:
    """Yield files as given and readable files inside folders, recursively and sorted; files in
    folders that no reader takes go to `on_skip` (hidden files and folders are left out)."""
    for path in paths:
        if path.is_dir():
            yield from _walk(path, on_skip)
        elif path.is_file():
            kind = file_kind(path.name)
            if kind.unsupported is not None:
                raise FileParseError(path, unsupported_reason(kind.unsupported))
            label = sniff_file(path) if kind.reader is None else None
            if label is not None:
                raise FileParseError(path, NOT_TEXT_REASONS[label])
            yield path
        elif path.exists():
            raise FileParseError(path, "not a regular file or folder")
        else:
            raise FileParseError(path, "no such file or folder")


def _walk(folder: Path, on_skip: SkipHandler | None) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, onerror=_raise_walk_error):
        # Pruning and sorting in place makes os.walk skip hidden folders and go in order.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if name.startswith(".") or not path.is_file():
                continue
            reason = skip_reason(path)
            if reason is None:
                yield path
            elif on_skip is not None:
                on_skip(path, reason)


def _raise_walk_error(error: OSError) -> None:
    raise FileParseError(error.filename or "?", error.strerror or str(error))
