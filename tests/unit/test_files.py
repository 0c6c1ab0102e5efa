"""iter_files and parse_file on files made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgsearch.ingest.discovery import iter_files
from pgsearch.ingest.files import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_SUFFIXES,
    FileParseError,
    parse_bytes,
    parse_file,
)
from pgsearch.ingest.readers.base import ParsedDocument


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def parse_error(
    path: Path, *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> FileParseError:
    with pytest.raises(FileParseError) as info:
        parse_file(path, root=root, max_bytes=max_bytes)
    return info.value


# --- iter_files --------------------------------------------------------------------------


def test_supported_suffixes() -> None:
    assert {".txt", ".md", ".markdown", ".rst", ".html", ".htm"} <= SUPPORTED_SUFFIXES
    assert {".json", ".jsonl", ".ndjson"} <= SUPPORTED_SUFFIXES


def test_iter_files_walks_folders_sorted_and_skips_hidden(tmp_path: Path) -> None:
    for name in [
        "b.md", "a.txt", "sub/z.html", "sub/a.JSON", "sub/deeper/x.rst", "c.pdf", ".hidden.md",
        ".git/config.txt", "sub/.cache/y.md", "notes.jsonl", "README",
    ]:  # fmt: skip
        write(tmp_path / name, "x")
    write(tmp_path / "logo.png", "x")
    write(tmp_path / "sub/blob", b"\x00\x01")
    write(tmp_path / "sub/latin1", "Café".encode("latin-1"))
    skipped: list[tuple[str, str]] = []
    found = [
        p.relative_to(tmp_path).as_posix()
        for p in iter_files(
            [tmp_path], on_skip=lambda p, r: skipped.append((p.relative_to(tmp_path).as_posix(), r))
        )
    ]
    assert found == [
        "README", "a.txt", "b.md", "c.pdf", "notes.jsonl", "sub/a.JSON", "sub/z.html",
        "sub/deeper/x.rst",
    ]  # fmt: skip
    assert skipped == [
        ("logo.png", "unsupported .png"),
        ("sub/blob", "binary"),
        ("sub/latin1", "not UTF-8"),
    ]


def test_iter_files_yields_named_files_as_given(tmp_path: Path) -> None:
    a = write(tmp_path / "a.md", "x")
    hidden = write(tmp_path / ".b.txt", "x")
    folder = tmp_path / "docs"
    write(folder / "c.txt", "x")
    assert list(iter_files([hidden, a, folder])) == [hidden, a, folder / "c.txt"]


def test_iter_files_rejects_unsupported_named_file(tmp_path: Path) -> None:
    png = write(tmp_path / "logo.png", "x")
    with pytest.raises(FileParseError, match=r"logo\.png: unsupported file type '\.png'") as info:
        list(iter_files([png]))
    assert info.value.path == png
    blob = write(tmp_path / "blob", b"\x7fELF\x00")
    with pytest.raises(FileParseError, match=r"blob: binary file"):
        list(iter_files([blob]))


def test_iter_files_rejects_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileParseError, match="no such file or folder"):
        list(iter_files([tmp_path / "missing"]))


def test_empty_folder_yields_nothing(tmp_path: Path) -> None:
    assert list(iter_files([tmp_path])) == []


# --- text formats ------------------------------------------------------------------------


def test_markdown(tmp_path: Path) -> None:
    path = write(tmp_path / "docs" / "guide.md", "Intro line\n\n# The  Guide #\n\nBody text.\n")
    [doc] = parse_file(path, root=tmp_path)
    assert doc == ParsedDocument(
        text="Intro line\n\n# The  Guide #\n\nBody text.\n",
        metadata={"source": "docs/guide.md", "format": "md", "title": "The Guide"},
        external_id="docs/guide.md",
    )


def test_markdown_title_skips_code_and_front_matter(tmp_path: Path) -> None:
    text = "---\ntitle: 'From front matter'\n---\n# Heading\n"
    assert parse_file(write(tmp_path / "a.md", text))[0].metadata["title"] == "From front matter"
    text = "```\n# not a heading\n```\nSetext Title\n============\nbody"
    assert parse_file(write(tmp_path / "b.markdown", text))[0].metadata["title"] == "Setext Title"


def test_external_id_without_root_is_path_as_given(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "hello")
    [doc] = parse_file(path)
    assert doc.external_id == path.as_posix() == doc.metadata["source"]


def test_text_title_is_a_short_first_line(tmp_path: Path) -> None:
    [doc] = parse_file(write(tmp_path / "a.txt", "\n\n  Release notes  \nmore"), root=tmp_path)
    assert doc.metadata == {"source": "a.txt", "format": "txt", "title": "Release notes"}
    [doc] = parse_file(write(tmp_path / "b.txt", "word " * 100), root=tmp_path)
    assert "title" not in doc.metadata


def test_rst_title(tmp_path: Path) -> None:
    text = ".. comment\n\n=========\nUser Guide\n==========\n\nSection\n-------\n"
    [doc] = parse_file(write(tmp_path / "a.rst", text))
    assert doc.metadata["title"] == "User Guide"
    assert doc.metadata["format"] == "rst"


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    content = "\ufeff# Título\r\n\r\ncafé ☕ 한국어\r\n".encode()
    [doc] = parse_file(write(tmp_path / "a.md", content))
    assert doc.text == "# Título\r\n\r\ncafé ☕ 한국어\r\n"
    assert doc.metadata["title"] == "Título"


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "a.txt", content)
    assert str(parse_error(path)) == f"{path.as_posix()}: empty file"


def test_invalid_utf8(tmp_path: Path) -> None:
    error = parse_error(write(tmp_path / "a.md", b"ok \xff rest"))
    assert error.reason == "not valid UTF-8 (byte 0xff at offset 3)"


def test_nul_bytes(tmp_path: Path) -> None:
    assert "NUL" in parse_error(write(tmp_path / "a.txt", b"abc\x00def")).reason


def test_size_cap(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 2048)
    assert parse_error(path, max_bytes=1024).reason == "file is 2 KB, larger than the 1 KB limit"
    assert parse_file(path, max_bytes=2048)[0].text == "x" * 2048


def test_unsupported_suffix(tmp_path: Path) -> None:
    assert "unsupported file type '.csv'" in parse_error(write(tmp_path / "a.csv", "x")).reason


def test_unreadable_path(tmp_path: Path) -> None:
    error = parse_error(tmp_path / "missing.txt")
    assert error.path == tmp_path / "missing.txt"
    assert "No such file" in error.reason


def test_parse_bytes_needs_no_file() -> None:
    # Content that never was on disk (an upload): the name picks the reader and names errors.
    [doc] = parse_bytes(b"# Notes\nbody", name="inbox/notes.md", source="notes.md")
    assert doc == ParsedDocument(
        text="# Notes\nbody",
        metadata={"source": "notes.md", "format": "md", "title": "Notes"},
        external_id="notes.md",
    )
    with pytest.raises(FileParseError) as error:
        parse_bytes(b'[{"text": "a"}, {}]', name="inbox/a.json", source="a.json")
    assert str(error.value) == "inbox/a.json item 1: 'text' must be a non-empty string"
    with pytest.raises(FileParseError, match=r"^a\.csv: unsupported file type '\.csv'"):
        parse_bytes(b"x", name="a.csv", source="a.csv")


# --- HTML --------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>  Caf&eacute; &amp; Bar </title>
<meta charset="utf-8"><style>p { color: red }</style>
<script>var s = "<p>not text</p>";</script></head>
<body>
  <nav>Home</nav>
  <h1>Menu</h1>
  <p>Coffee   &amp;
     tea&nbsp;served <b>all</b> day &lt;8am&ndash;6pm&gt;.</p>
  <ul><li>Espresso</li><li>Latte</li></ul>
  <table><tr><th>Item</th><th>Price</th></tr><tr><td>Cake</td><td>3</td></tr></table>
  <pre>line 1
  line 2</pre>
  <div hidden>secret</div><!-- a comment -->
  Footer<br>text
  <script>alert(1)</script>
</body></html>"""


def test_html_visible_text(tmp_path: Path) -> None:
    [doc] = parse_file(write(tmp_path / "site" / "menu.html", PAGE), root=tmp_path)
    assert doc.text == (
        "Home\n\nMenu\n\nCoffee & tea\xa0served all day <8am\u20136pm>.\n\n"
        "Espresso\nLatte\n\nItem Price\nCake 3\n\nline 1\n  line 2\n\nFooter\ntext"
    )
    assert doc.metadata == {"source": "site/menu.html", "format": "html", "title": "Café & Bar"}
    assert doc.external_id == "site/menu.html"


def test_html_without_head_or_title(tmp_path: Path) -> None:
    html = "<html><head><meta charset=utf-8><body><h1>Only  <i>H1</i></h1><p>Text</p>"
    [doc] = parse_file(write(tmp_path / "a.htm", html))
    assert doc.text == "Only H1\n\nText"
    assert doc.metadata["title"] == "Only H1"


def test_html_without_visible_text(tmp_path: Path) -> None:
    path = write(tmp_path / "a.html", "<html><head><title>T</title></head><script>x</script>")
    assert parse_error(path).reason == "no visible text"


# --- JSON and JSON Lines -----------------------------------------------------------------


def test_json_object(tmp_path: Path) -> None:
    obj = {"text": "Hello", "id": 7, "metadata": {"lang": "en"}, "title": "Greeting"}
    [doc] = parse_file(write(tmp_path / "d" / "one.json", json.dumps(obj)), root=tmp_path)
    assert doc == ParsedDocument(
        text="Hello",
        metadata={"source": "d/one.json", "format": "json", "title": "Greeting", "lang": "en"},
        external_id="7",
    )


def test_json_list_ids(tmp_path: Path) -> None:
    data = [{"text": "a"}, {"text": "b", "external_id": "x-1"}, {"text": "c", "id": None}]
    docs = parse_file(write(tmp_path / "list.json", json.dumps(data)), root=tmp_path)
    assert [d.external_id for d in docs] == ["list.json#0", "x-1", "list.json#2"]
    assert [d.text for d in docs] == ["a", "b", "c"]


def test_user_metadata_overrides_defaults(tmp_path: Path) -> None:
    obj = {"text": "a", "metadata": {"source": "wikipedia", "nested": {"k": [1, None]}}}
    [doc] = parse_file(write(tmp_path / "a.json", json.dumps(obj)), root=tmp_path)
    assert doc.metadata == {"source": "wikipedia", "format": "json", "nested": {"k": [1, None]}}


def test_jsonl(tmp_path: Path) -> None:
    lines = ['{"text": "one", "id": "a"}', "", "  ", '{"text": "two"}\r', '{"text": "x\\u2028y"}']
    docs = parse_file(write(tmp_path / "data.ndjson", "\n".join(lines) + "\n"), root=tmp_path)
    assert [(d.external_id, d.text) for d in docs] == [
        ("a", "one"),
        ("data.ndjson#1", "two"),
        ("data.ndjson#2", "x\u2028y"),
    ]
    assert docs[0].metadata == {"source": "data.ndjson", "format": "jsonl"}


@pytest.mark.parametrize(
    ("content", "suffix"),
    [
        ('{"text": "a"}\n\n{"text": ""}\n', " line 3: 'text' must be a non-empty string"),
        ('{"text": "a"}\n{"txt": "b"}\n', " line 2: 'text' must be a non-empty string"),
        ('{"text": 5}\n', " line 1: 'text' must be a non-empty string"),
        ('{"text": "  "}\n', " line 1: 'text' must be a non-empty string"),
        (
            '{"text": "a"}\n{"text": "b",}\n',
            " line 2: invalid JSON: Expecting property name enclosed in double quotes (column 14)",
        ),
        ('{"text": NaN}\n', " line 1: invalid JSON: NaN is not valid JSON"),
        ('["text"]\n', " line 1: expected an object, got a list"),
        ('{"text": "a", "metadata": [1]}\n', " line 1: 'metadata' must be an object, got a list"),
        ('{"text": "a", "metadata": "m"}\n', " line 1: 'metadata' must be an object, got a string"),
        (
            '{"text": "a", "id": 1.5}\n',
            " line 1: 'id' must be a string or an integer, got a number",
        ),
        (
            '{"text": "a", "id": true}\n',
            " line 1: 'id' must be a string or an integer, got a boolean",
        ),
        ('{"text": "a", "id": ""}\n', " line 1: 'id' must not be empty"),
        (
            '{"text": "a", "id": 1, "external_id": "2"}\n',
            " line 1: 'id' and 'external_id' differ; give only one",
        ),
        (
            '{"text": "a", "id": 1}\n{"text": "b", "id": "1"}\n',
            " line 2: duplicate id '1' (first at line 1)",
        ),
        (
            '{"text": "a\\u0000"}\n',
            " line 1: 'text' contains a NUL character (\\u0000) (PostgreSQL cannot store it)",
        ),
        (
            '{"text": "a\\ud800"}\n',
            " line 1: 'text' contains an unpaired surrogate (\\ud800) (PostgreSQL cannot store it)",
        ),
        (
            '{"text": "a", "id": "x\\udfff"}\n',
            " line 1: 'id' contains an unpaired surrogate (\\udfff) (PostgreSQL cannot store it)",
        ),
        (
            '{"text": "a", "metadata": {"k\\u0000": 1}}\n',
            " line 1: metadata contains a NUL character (\\u0000) (PostgreSQL cannot store it)",
        ),
        (
            '{"text": "a", "title": ["\\udc00"]}\n',
            " line 1: metadata contains an unpaired surrogate (\\udc00)"
            " (PostgreSQL cannot store it)",
        ),
        ("\n\n", ": empty file"),
    ],
)
def test_jsonl_errors(tmp_path: Path, content: str, suffix: str) -> None:
    path = write(tmp_path / "docs" / "a.jsonl", content)
    error = parse_error(path, root=tmp_path)
    assert str(error) == path.as_posix() + suffix
    assert error.path == path


def test_jsonl_error_attributes(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", '{"text": "ok"}\n\n{"text": ""}\n')
    error = parse_error(path)
    assert (error.path, error.line, error.reason) == (
        path,
        3,
        "'text' must be a non-empty string",
    )


@pytest.mark.parametrize(
    ("content", "suffix"),
    [
        ('{"text": "a",\n "id": }', " line 2: invalid JSON: Expecting value (column 8)"),
        ('"just a string"', ": expected an object with a 'text' field or a list of such objects"),
        ("[]", ": empty list: no documents"),
        ('[{"text": "a"}, {"text": ""}]', " item 1: 'text' must be a non-empty string"),
        ('[{"text": "a"}, 3]', " item 1: expected an object, got a number"),
        ('{"metadata": {}}', ": 'text' must be a non-empty string"),
        (
            '[{"text": "a", "id": "x"}, {"text": "b", "id": "x"}]',
            " item 1: duplicate id 'x' (first at item 0)",
        ),
        ('{"text": "a", "n": Infinity}', ": invalid JSON: Infinity is not valid JSON"),
    ],
)
def test_json_errors(tmp_path: Path, content: str, suffix: str) -> None:
    path = write(tmp_path / "a.json", content)
    assert str(parse_error(path)) == path.as_posix() + suffix
