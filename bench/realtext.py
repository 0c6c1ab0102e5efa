"""Real text that ships offline, as documents of pgsearch-sized chunks, for `bench.keyword`.

`corpus(n)` gives documents of about `n` chunks in all: every man page first (bench/manpages.py;
their NAME lines are the bench's queries, so the pages that answer them are always in), then,
for more, text files under /usr/share/doc and /usr/share/info, then source files (Python: the
running interpreter's standard library and installed packages, and Debian's; C headers; Perl
modules; Node packages; Go's standard library), each in a fixed pseudo-random order by name.

- Text files: changelogs, Info manuals, READMEs, reStructuredText, Markdown and plain text,
  gzip unpacked; HTML, PostScript, PDF, images and licence files (`copyright`: the same few
  licences thousands of times) are left out. Only UTF-8 text without NUL is read
  (`decode_text`, as ingest does).
- Chunks are pgsearch's own (800 characters, 100 overlap). A chunk whose text already appeared
  is dropped, and a document left without chunks too, so the copies Debian ships (one changelog
  in several packages, Sphinx's `_sources` copy of a page) count once: the text is real, not
  repeated.
- A file of more than `PART_CHARS` characters becomes several documents (`#part2`, ...), so a
  document stays under the service's 5,000-chunk limit.

How much there is depends on the machine: `uv run python -m bench.realtext` prints the counts.
For 1M chunks (`bench.keyword --large`), a Debian machine with the development tools of this
repo (`uv sync --all-groups`) needs a few documentation packages more, e.g. `apt-get install
linux-doc-6.1 python3.11-doc perl-doc postgresql-doc-15 golang-1.19-src`.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from bench.manpages import CHUNK_CHARS, CHUNK_OVERLAP, ManPage, load_manpages
from pgsearch.ingest.chunking import chunk_text
from pgsearch.ingest.readers.base import ReadError, decode_text

DOC_ROOTS = (Path("/usr/share/doc"), Path("/usr/share/info"))
PART_CHARS = 500_000
MAX_FILE_BYTES = 50_000_000
# Debian's Python packages, C headers, Perl's modules, Node's global packages, Go's sources.
SOURCE_ROOTS = (
    *(Path(p) for p in ("/usr/lib/python3", "/usr/include", "/usr/share/perl", "/usr/share/perl5")),
    Path("/usr/lib/node_modules"),
    *Path("/usr/share").glob("go-*/src"),
)
SOURCE_SUFFIXES = frozenset({".py", ".h", ".hpp", ".pm", ".pod", ".js", ".go"})
_NOT_TEXT = frozenset(
    ".html .htm .xhtml .ps .pdf .eps .svg .png .gif .jpg .jpeg .ico .js .css .woff .woff2 .ttf"
    " .dot .xml .json .zip .bz2 .xz .tar .deb .pyc .so .a .mo .db .inv".split()
)


@dataclass(frozen=True, slots=True)
class TextDocument:
    """A document and its chunks; `meta` is stored as the document's metadata."""

    external_id: str
    text: str
    chunks: list[str]
    meta: dict[str, str] = field(default_factory=dict)


def manpage_documents(pages: Iterable[ManPage]) -> Iterator[TextDocument]:
    """One document per page; its metadata keeps the NAME line, which queries are made from."""
    for p in pages:
        yield TextDocument(
            external_id=f"{p.name}.{p.section}",
            text=p.text,
            chunks=chunk_text(p.text, max_chars=CHUNK_CHARS, overlap=CHUNK_OVERLAP),
            meta={"source": "man", "section": p.section, "name_line": p.synopsis_line},
        )


def doc_files(roots: Sequence[Path] = DOC_ROOTS) -> list[Path]:
    """Text files under the roots (by suffix; a `.gz` by the suffix inside), sorted."""
    found = []
    for path in (p for root in roots for p in root.rglob("*")):
        if path.is_symlink() or not path.is_file() or "copyright" in path.name.lower():
            continue
        inner = path.with_suffix("") if path.suffix == ".gz" else path
        if inner.suffix.lower() not in _NOT_TEXT:
            found.append(path)
    return sorted(found)


def source_files() -> list[Path]:
    """Python, C header and Perl module files: the running interpreter's standard library and
    installed packages, and SOURCE_ROOTS."""
    paths = sysconfig.get_paths()
    roots = {Path(paths[k]) for k in ("stdlib", "purelib", "platlib")} | set(SOURCE_ROOTS)
    return sorted(
        {
            p
            for root in roots
            for p in root.rglob("*")
            if p.suffix in SOURCE_SUFFIXES and not p.is_symlink() and p.is_file()
        }
    )


def read_text(path: Path) -> str | None:
    """A file's text (gzip unpacked), or None if it is not UTF-8 text or is too large."""
    if path.stat().st_size > MAX_FILE_BYTES:
        return None
    data = path.read_bytes()
    try:
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        return decode_text(data)
    except (OSError, EOFError, ReadError):
        return None


def file_documents(paths: Iterable[Path], *, source: str) -> Iterator[TextDocument]:
    """Documents of the files' text, split into parts of at most PART_CHARS characters."""
    for path in paths:
        text = read_text(path)
        if text is None:
            continue
        parts = split_parts(text)
        for i, part in enumerate(parts, start=1):
            suffix = f"#part{i}" if len(parts) > 1 else ""
            yield TextDocument(
                external_id=f"{source}:{path}{suffix}",
                text=part,
                chunks=chunk_text(part, max_chars=CHUNK_CHARS, overlap=CHUNK_OVERLAP),
                meta={"source": source},
            )


def split_parts(text: str) -> list[str]:
    """Text in pieces of at most PART_CHARS characters, cut at line breaks where there is one."""
    parts: list[str] = []
    while len(text) > PART_CHARS:
        cut = text.rfind("\n", PART_CHARS // 2, PART_CHARS)
        cut = cut + 1 if cut > 0 else PART_CHARS
        parts.append(text[:cut])
        text = text[cut:]
    if text.strip():
        parts.append(text)
    return parts


def by_name_hash(paths: Sequence[Path]) -> list[Path]:
    """A fixed pseudo-random order, so a prefix of the files samples every package alike."""
    return sorted(paths, key=lambda p: hashlib.sha256(str(p).encode()).digest())


def unique_chunks(docs: Iterable[TextDocument], seen: set[bytes]) -> Iterator[TextDocument]:
    """The documents with chunks already in `seen` dropped (and `seen` updated)."""
    for d in docs:
        fresh = []
        for c in d.chunks:
            key = hashlib.blake2b(c.encode(), digest_size=16).digest()
            if key not in seen:
                seen.add(key)
                fresh.append(c)
        if fresh:
            yield TextDocument(d.external_id, d.text, fresh, d.meta)


def first_chunks(docs: Iterable[TextDocument], n: int | None) -> list[TextDocument]:
    """The documents up to `n` chunks in all (all if None), the last one cut to fit."""
    out: list[TextDocument] = []
    total = 0
    for d in docs:
        if n is not None and total >= n:
            break
        if n is not None and total + len(d.chunks) > n:
            d = TextDocument(d.external_id, d.text, d.chunks[: n - total], d.meta)
        out.append(d)
        total += len(d.chunks)
    return out


def corpus(n: int | None) -> list[TextDocument]:
    """About `n` unique chunks (all there are if None): every man page, then other text."""
    sources = chain(
        manpage_documents(load_manpages()),
        file_documents(by_name_hash(doc_files()), source="doc"),
        file_documents(by_name_hash(source_files()), source="source"),
    )
    return first_chunks(unique_chunks(sources, set()), n)


def main(argv: Sequence[str] = ()) -> None:
    """Print how many documents and chunks each source gives on this machine."""
    del argv
    counts: dict[str, list[int]] = {}
    for d in corpus(None):
        c = counts.setdefault(d.meta["source"], [0, 0, 0])
        c[0] += 1
        c[1] += len(d.chunks)
        c[2] += sum(len(t) for t in d.chunks)
    for source, (docs, chunks, chars) in counts.items():
        print(f"{source}: {docs:,} documents, {chunks:,} unique chunks, {chars / 1e6:.0f} M chars")
    print(f"all: {sum(c[1] for c in counts.values()):,} chunks")


if __name__ == "__main__":
    main(sys.argv[1:])
