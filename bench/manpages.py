"""Real English text from the machine's man pages, rendered offline in Python, for benchmarks.

Reads `<root>/man1` .. `<root>/man8` (default root /usr/share/man; the language subfolders are not
read), every `*.gz` page that is a real file, not a symlink nor a `.so` alias. The roff markup of
man(7) pages is reduced to plain text here (fonts, escapes and requests dropped, filled paragraphs
joined, no-fill blocks kept line by line); that is close to `man`'s own text and needs no
renderer, so it is fast and gives the same text on any machine with the same pages.

A page's `text` is its body without the NAME section; the NAME line ("ls - list directory
contents") is `synopsis_line`, so it can serve as a query that the page answers without quoting.
Order is deterministic: by section, then name.

How much text there is depends on the machine: `uv run python -m bench.manpages` prints its counts.
One development machine with the Google Cloud SDK installed renders 19,615 pages (16,631 of them
`gcloud_*` reference pages) into 118,368 chunks of 800 characters; without the gcloud pages
(`exclude_prefixes=("gcloud",)`) 2,984 pages give 37,786 chunks. Loading all takes ~7 s of CPU.
A machine without the SDK has ~35k chunks; for more, bench/realtext.py adds other real text
rather than repeating pages.
"""

from __future__ import annotations

import gzip
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgsearch.ingest.chunking import chunk_text

MAN_ROOT = Path("/usr/share/man")
SECTIONS = tuple(str(s) for s in range(1, 9))
CHUNK_CHARS = 800
CHUNK_OVERLAP = 100


@dataclass(frozen=True, slots=True)
class ManPage:
    """One rendered page: `name` as in the file name ("ls"), `section` ("1", "3ssl", ...)."""

    name: str
    section: str
    synopsis_line: str  # the NAME section, one line: "ls - list directory contents"
    text: str  # the rest, plain text: paragraphs separated by blank lines


@dataclass(frozen=True, slots=True)
class ManChunk:
    """A piece of a page of at most CHUNK_CHARS characters; `index` counts within the page."""

    name: str
    section: str
    index: int
    text: str

    @property
    def id(self) -> str:
        """A stable id: "ls.1#0"."""
        return f"{self.name}.{self.section}#{self.index}"


def page_files(
    root: Path = MAN_ROOT, *, exclude_prefixes: Sequence[str] = ()
) -> list[tuple[str, str, Path]]:
    """(name, section, path) of every real English page under root, sorted by section, name."""
    found: list[tuple[str, str, Path]] = []
    for section_dir in SECTIONS:
        folder = root / f"man{section_dir}"
        if not folder.is_dir():
            continue
        for path in folder.glob("*.gz"):
            if path.is_symlink() or not path.is_file():
                continue
            name, _, section = path.name.removesuffix(".gz").rpartition(".")
            if name and not name.startswith(tuple(exclude_prefixes)):
                found.append((name, section, path))
    return sorted(found, key=lambda item: (item[1], item[0]))


def load_manpages(
    limit: int | None = None,
    *,
    root: Path = MAN_ROOT,
    exclude_prefixes: Sequence[str] = (),
) -> list[ManPage]:
    """The first `limit` pages (all if None) that render to some text, in section, name order."""
    pages: list[ManPage] = []
    for name, section, path in page_files(root, exclude_prefixes=exclude_prefixes):
        if limit is not None and len(pages) >= limit:
            break
        page = read_page(path, name=name, section=section)
        if page is not None:
            pages.append(page)
    return pages


def manpage_chunks(
    limit: int | None = None,
    *,
    pages: Sequence[ManPage] | None = None,
    root: Path = MAN_ROOT,
    exclude_prefixes: Sequence[str] = (),
    max_chars: int = CHUNK_CHARS,
    overlap: int = CHUNK_OVERLAP,
) -> list[ManChunk]:
    """Up to `limit` chunks of the pages (loaded if not given), split by pgsearch's own chunker."""
    chunks: list[ManChunk] = []
    source = pages if pages is not None else _iter_pages(root, exclude_prefixes)
    for page in source:
        for i, text in enumerate(chunk_text(page.text, max_chars=max_chars, overlap=overlap)):
            if limit is not None and len(chunks) >= limit:
                return chunks
            chunks.append(ManChunk(name=page.name, section=page.section, index=i, text=text))
    return chunks


def _iter_pages(root: Path, exclude_prefixes: Sequence[str]) -> Iterator[ManPage]:
    for name, section, path in page_files(root, exclude_prefixes=exclude_prefixes):
        page = read_page(path, name=name, section=section)
        if page is not None:
            yield page


def read_page(path: Path, *, name: str, section: str) -> ManPage | None:
    """Render one gzipped page; None for an alias (`.so`) or a page without text."""
    source = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    if source.lstrip().startswith(".so "):
        return None
    sections = roff_to_sections(source)
    synopsis = ""
    parts: list[str] = []
    for heading, body in sections:
        if heading.upper() == "NAME" and not synopsis:
            synopsis = " ".join(body.split())
        else:
            parts.append(f"{heading}\n\n{body}" if heading else body)
    text = "\n\n".join(p for p in parts if p.strip())
    if not text.strip():
        return None
    return ManPage(name=name, section=section, synopsis_line=synopsis, text=text)


# -- roff to text --------------------------------------------------------------------------------

# Named characters (\(xx, \[xx]) and strings (\*(xx, \*[xx]) that carry text; others are dropped.
_NAMED = {
    "em": "\u2014", "en": "\u2013", "hy": "-", "mi": "-", "aq": "'", "dq": '"', "lq": "\u201c",
    "rq": "\u201d", "oq": "\u2018", "cq": "\u2019", "bu": "\u2022", "co": "\u00a9", "rg": "\u00ae",
    "tm": "\u2122", "ti": "~", "ha": "^", "rs": "\\", "sl": "/", "pl": "+", "eq": "=", "<=": "<=",
    ">=": ">=", "!=": "!=", "->": "->", "<-": "<-", "mu": "\u00d7", "de": "\u00b0", "Fo": "\u00ab",
    "Fc": "\u00bb", "fo": "\u2039", "fc": "\u203a", "ga": "`", "aa": "\u00b4", "ba": "|",
    "R": "\u00ae", "Tm": "\u2122", "lh": "", "rh": "", "bv": "|", "or": "|", "ct": "\u00a2",
}  # fmt: skip
_ESCAPE = re.compile(
    r"""\\(?:
        [fFsn](?:\[[^\]]*\]|\([\w\W]{2}|[+-]?\d+|.)   # font, size, number register: drop
      | \*(?:\[(?P<s1>[^\]]*)\]|\((?P<s2>..)|(?P<s3>.))  # string
      | \((?P<c2>..)                                       # named char, 2 letters
      | \[(?P<cb>[^\]]*)\]                                 # named char, bracketed
      | [hvwlLNDbxoZAXBRS]'[^']*'                          # motions, widths, drawing: drop
      | (?P<lit>[-e\\.'`])                                 # literal characters
      | (?P<space>[ ~0_|^:])                                # spaces, word joins
      | [&%c)!/,{}dupratzk]                                 # joins, hyphenation, conditions: drop
      | .                                                   # anything else: drop
    )""",
    re.VERBOSE,
)
_LITERAL = {"-": "-", "e": "\\", "\\": "\\", ".": ".", "'": "'", "`": "`"}
_SPACE = {" ": " ", "~": " ", "0": " ", "_": "_", "|": "", "^": "", ":": ""}
# Font-alternating macros join their arguments without spaces.
_ALTERNATING = frozenset({"BR", "BI", "IB", "IR", "RB", "RI"})
_TEXT_MACROS = frozenset({"B", "I", "SM", "SB", "TQ"})
_BREAKS = frozenset({"PP", "LP", "P", "TP", "IP", "HP", "sp", "br", "RS", "RE", "in", "ti", "bp"})
_SKIP_BLOCKS = {"de": "..", "de1": "..", "am": "..", "ig": "..", "TS": "TE", "EQ": "EN", "PS": "PE"}
_ARGS = re.compile(r'"((?:[^"]|"")*)"|(\S+)')


def _unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if (lit := m.group("lit")) is not None:
            return _LITERAL[lit]
        if (space := m.group("space")) is not None:
            return _SPACE[space]
        named = m.group("c2") or m.group("cb") or m.group("s1") or m.group("s2") or m.group("s3")
        return _NAMED.get(named, "") if named is not None else ""

    text = text.split('\\"', 1)[0]  # a comment runs to the end of the line
    return _ESCAPE.sub(repl, text)


def _macro_args(rest: str) -> list[str]:
    return [quoted.replace('""', '"') if quoted else bare for quoted, bare in _ARGS.findall(rest)]


def roff_to_sections(source: str) -> list[tuple[str, str]]:
    """(heading, plain text) per `.SH` section of a man(7) page; text before the first is ''."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    paragraph: list[str] = []
    fill = True
    skip_until: str | None = None

    def flush() -> None:
        if paragraph:
            joined = ("\n" if not fill else " ").join(paragraph).strip()
            if joined:
                sections[-1][1].append(joined if not fill else " ".join(joined.split()))
            paragraph.clear()

    for line in source.replace("\\\n", "").splitlines():
        if skip_until is not None:
            if line.strip().lstrip(".'").split()[:1] == [skip_until.lstrip(".")] or (
                skip_until == ".." and line.strip() == ".."
            ):
                skip_until = None
            continue
        if not line.startswith((".", "'")):
            text = _unescape(line)
            if not text.strip() and fill:
                flush()  # a blank line breaks a paragraph
            else:
                paragraph.append(text.rstrip() if not fill else text)
            continue
        macro, _, rest = line[1:].strip().partition(" ")
        if macro in ("", '\\"') or macro.startswith('\\"'):
            continue
        if macro in _SKIP_BLOCKS:
            flush()
            skip_until = _SKIP_BLOCKS[macro]
        elif macro in ("SH", "SS"):
            flush()
            heading = _unescape(" ".join(_macro_args(rest))).strip()
            if macro == "SH":
                sections.append((heading, []))
            elif heading:
                sections[-1][1].append(heading)
        elif macro in _ALTERNATING:
            paragraph.append("".join(_unescape(a) for a in _macro_args(rest)))
        elif macro in _TEXT_MACROS:
            paragraph.append(" ".join(_unescape(a) for a in _macro_args(rest)))
        elif macro in _BREAKS:
            flush()
            if macro == "IP" and (args := _macro_args(rest)):
                paragraph.append(_unescape(args[0]))  # the tag of an indented paragraph
        elif macro in ("nf", "EX"):
            flush()
            fill = False
        elif macro in ("fi", "EE"):
            flush()
            fill = True
        elif macro in ("UR", "MT"):
            paragraph.append(_unescape(rest))
        # Any other request (.TH, .ne, .ft, .if, .ds, ...) sets up formatting and carries no text.
    flush()
    return [(heading, "\n\n".join(body)) for heading, body in sections]


def main(argv: Sequence[str] = ()) -> None:
    """Print how many pages and chunks this machine's man pages give."""
    del argv
    for label, exclude in (("all pages", ()), ("without gcloud_*", ("gcloud",))):
        pages = load_manpages(exclude_prefixes=exclude)
        chunks = manpage_chunks(pages=pages)
        chars = sum(len(p.text) for p in pages)
        print(f"{label}: {len(pages):,} pages, {chars / 1e6:.1f} M chars, {len(chunks):,} chunks")


if __name__ == "__main__":
    main(sys.argv[1:])
