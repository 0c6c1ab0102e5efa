"""Unpacking under limits: gzip streams and zip containers (DOCX) from untrusted input.

A small compressed file can unpack to gigabytes (a "bomb"); every limit here is checked before
the unpacked bytes exist in memory.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from typing import BinaryIO

from pgsearch.ingest.readers.base import ReadError

# A zip with more members than this is not a document.
MAX_ZIP_MEMBERS = 10_000
# Unpacked/packed above this ratio is a bomb: XML in a DOCX packs about 5-20:1.
MAX_ZIP_RATIO = 100
# Below this many unpacked bytes the ratio is not checked (tiny files of blanks pack very well).
ZIP_RATIO_FLOOR = 1024 * 1024

# Password-protected Office files (and legacy .doc) are OLE compound files, not zips.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def size_label(n: int) -> str:
    """A byte count for people: "50 MB", "8 KB", "12 bytes"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{round(n / scale, 1):g} {unit}"
    return f"{n} bytes"


def read_gzip(stream: BinaryIO, *, max_bytes: int) -> bytes:
    """The content of a gzip stream, refused once it passes `max_bytes` unpacked."""
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as f:
            # GzipFile.read(n) unpacks at most n bytes: memory stays bounded whatever the ratio.
            data = f.read(max_bytes + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ReadError(f"not a valid gzip file ({e or 'truncated'})") from e
    if len(data) > max_bytes:
        raise ReadError(f"unpacks to more than the {size_label(max_bytes)} limit (gzip bomb?)")
    return data


def gunzip(data: bytes, *, max_bytes: int) -> bytes:
    """`read_gzip` on bytes held in memory."""
    return read_gzip(io.BytesIO(data), max_bytes=max_bytes)


def check_zip(data: bytes, *, max_bytes: int) -> None:
    """Refuse a zip container that is not one, or would unpack to too much (ReadError).

    zipfile never unpacks more than a member's declared size, so checking the declared sizes
    bounds what a reader can unpack.
    """
    if data.startswith(OLE_MAGIC):
        raise ReadError("encrypted (password-protected) Office file or legacy format, not a zip")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise ReadError(f"not a valid zip container ({e})") from e
    if len(members) > MAX_ZIP_MEMBERS:
        raise ReadError(f"zip has {len(members)} members, more than {MAX_ZIP_MEMBERS} (zip bomb?)")
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if unpacked > max_bytes:
        raise ReadError(
            f"unpacks to {size_label(unpacked)}, more than the {size_label(max_bytes)} limit "
            "(zip bomb?)"
        )
    if unpacked > ZIP_RATIO_FLOOR and unpacked > MAX_ZIP_RATIO * max(packed, 1):
        raise ReadError(
            f"compression ratio {unpacked // max(packed, 1)}:1 is above {MAX_ZIP_RATIO}:1 "
            "(zip bomb?)"
        )
