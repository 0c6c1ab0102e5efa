"""An evaluation corpus from real text that ships with CPython, so it works offline.

Documents:
- every pydoc topic (`pydoc_data.topics`, the language reference sections `help()` shows),
  minus its title and lead paragraph;
- the docstring of every public pure-Python stdlib module, minus its summary paragraph.
Queries, each with exactly one relevant document:
- a topic's title ("The "try" statement") and the first sentence of its lead paragraph;
- a module's summary paragraph ("Support for regular expressions (RE).").
What a query quotes is cut from its document, so no query is a verbatim piece of its target.
The set is deterministic for a given Python version (it reads that interpreter's stdlib).
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import re
import sysconfig
import tokenize
from pathlib import Path

from pgsearch.evaluation import Corpus, CorpusDoc, CorpusQuery

# Test suites, IDLE and demos are not library documentation; "encodings" holds ~100
# near-identical generated codec docstrings that would make queries ambiguous.
_SKIP_DIRS = frozenset(
    {"test", "tests", "idle_test", "idlelib", "turtledemo", "ensurepip", "encodings"}
)
_MIN_QUERY_WORDS = 4
_MIN_DOC_CHARS = 100
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# A heading underline ("=====") marks a section title, not a sentence.
_UNDERLINE = re.compile(r"^[=*\-~^]{3,}$", re.MULTILINE)
_VERSION_NOTE = re.compile(r"(New|Changed|Deprecated) in version")
# Author and copyright paragraphs say nothing about what a module does.
_CREDITS = re.compile(r"^[^\n]*(Copyright|Written by|All Rights Reserved)(.+\n)*.*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.:!?](?=\s|$)")


@functools.cache
def load() -> Corpus:
    """Documents sorted by id ("topic:<pydoc key>" or "module:<dotted name>"); queries follow."""
    docs: list[CorpusDoc] = []
    queries: list[CorpusQuery] = []
    for doc, doc_queries in sorted([*_topic_docs(), *_module_docs()], key=lambda item: item[0].id):
        docs.append(doc)
        queries.extend(CorpusQuery(text=q, relevant_id=doc.id) for q in doc_queries)
    return Corpus("cpython", tuple(docs), tuple(queries))


def _topic_docs() -> list[tuple[CorpusDoc, list[str]]]:
    from pydoc_data.topics import topics

    out: list[tuple[CorpusDoc, list[str]]] = []
    seen: set[str] = set()
    for key in sorted(topics):
        raw: str = topics[key]
        if raw in seen:  # e.g. "if" and "elif" share one text
            continue
        seen.add(raw)
        title, _, rest = raw.partition("\n")
        body = rest.lstrip("*\n")  # the title's "*****" underline
        lead, after = _split_first_paragraph(body)
        queries = [_squash(title)]
        # Keep the lead when cutting it would leave almost nothing ("It is written as "None".").
        if _is_prose(lead) and len(after.strip()) >= _MIN_DOC_CHARS:
            queries.append(_first_sentence(_squash(lead)))
            body = after
        out.append(
            (CorpusDoc(f"topic:{key}", body.strip(), {"kind": "topic", "title": title}), queries)
        )
    return out


def _module_docs() -> list[tuple[CorpusDoc, list[str]]]:
    out: list[tuple[CorpusDoc, list[str]]] = []
    seen: set[str] = set()
    for module, docstring in _module_docstrings():
        summary, rest = _split_first_paragraph(docstring)
        rest = _CREDITS.sub("", rest).strip()
        query = _squash(summary)
        if not _is_prose(summary) or len(rest) < _MIN_DOC_CHARS or query in seen:
            continue
        seen.add(query)
        doc = CorpusDoc(f"module:{module}", rest, {"kind": "module", "module": module})
        out.append((doc, [query]))
    return out


def _module_docstrings() -> list[tuple[str, str]]:
    """(dotted name, docstring) of public pure-Python stdlib modules, without importing them."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        # Prune in place so site-packages, tests and private packages are never walked.
        dirnames[:] = [d for d in dirnames if _is_public(d) and d not in _SKIP_DIRS]
        for filename in filenames:
            path = Path(dirpath, filename)
            parts = path.relative_to(root).with_suffix("").parts
            if path.suffix != ".py" or not all(_is_public(p) for p in parts[:-1]):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            elif not _is_public(parts[-1]):
                continue
            docstring = _leading_docstring(path)
            if parts and docstring:
                found.append((".".join(parts), docstring))
    return sorted(found)


def _is_public(name: str) -> bool:
    # Excludes private modules, __pycache__, site-packages and config-3.x-<platform>.
    return not name.startswith(("_", ".")) and "-" not in name


def _leading_docstring(path: Path) -> str | None:
    # Tokenizing only up to the first statement is ~100x cheaper than ast.parse on the whole file.
    with tokenize.open(path) as f:
        for tok in tokenize.generate_tokens(f.readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
                continue
            if tok.type == tokenize.STRING:
                value = ast.literal_eval(tok.string)
                return inspect.cleandoc(value) if isinstance(value, str) else None
            return None
    return None


def _split_first_paragraph(text: str) -> tuple[str, str]:
    first, _, rest = _PARAGRAPH_BREAK.sub("\n\n", text.strip("\n"), count=1).partition("\n\n")
    return first, rest


def _is_prose(paragraph: str) -> bool:
    # Grammar rules ("   assert_stmt ::= ...") are indented; headings are underlined.
    return (
        not paragraph[:1].isspace()
        and len(paragraph.split()) >= _MIN_QUERY_WORDS
        and "::=" not in paragraph
        and not _UNDERLINE.search(paragraph)
        and not _VERSION_NOTE.match(paragraph)
    )


def _first_sentence(text: str) -> str:
    for match in _SENTENCE_END.finditer(text):
        sentence = text[: match.end()]
        if len(sentence.split()) >= _MIN_QUERY_WORDS:
            return sentence
    return text


def _squash(text: str) -> str:
    return " ".join(text.split())
