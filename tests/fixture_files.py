"""Small files of every supported format, made in memory for tests (no binary fixtures)."""

from __future__ import annotations

import gzip
import io
import zipfile

import docx
from pypdf import PdfReader, PdfWriter


def make_pdf(pages: list[str], *, title: str | None = None, password: str | None = None) -> bytes:
    """A PDF with one line of Helvetica text per page (hand-made objects, real xref)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    font = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for i, line in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    data = out.getvalue()
    if title is None and password is None:
        return data
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    if title is not None:
        writer.add_metadata({"/Title": title})
    if password is not None:
        writer.encrypt(
            user_password=password, owner_password=password + "-owner", algorithm="AES-128"
        )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx(
    *, title: str | None = None, paragraphs: list[str], table: list[list[str]] | None = None
) -> bytes:
    """A Word document: an optional Title paragraph, paragraphs, then an optional table."""
    document = docx.Document()
    if title is not None:
        document.add_heading(title, level=0)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip_bomb(unpacked_bytes: int) -> bytes:
    """A .docx-shaped zip whose one member unpacks to `unpacked_bytes` of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            block = b"\x00" * (1024 * 1024)
            for _ in range(unpacked_bytes // len(block)):
                member.write(block)
    return buffer.getvalue()


def gz(data: bytes | str) -> bytes:
    """`data` gzip-compressed."""
    return gzip.compress(data.encode() if isinstance(data, str) else data)
