"""An evaluation corpus from Debian package descriptions, where exact words matter.

Query: a package's one-line synopsis ("Open Free Fiasco Firmware Flasher"). Document: its long
description, stored under the package name. Package names, acronyms and terms carry much of the
signal, unlike the CPython corpus. The sample ships as `data/debian_packages.jsonl.gz` (see
`data/NOTICE`), so nothing needs apt at run time. To rebuild it from apt's lists:

    apt-get update -o Acquire::Languages::=en   # long descriptions live in Translation-en
    uv run python -m pgsearch.evaluation.debian --rebuild

Docker images switch translations off (`Acquire::Languages "none"` in apt.conf.d, which `-o`
cannot undo). There, point `APT_CONFIG` at a file that skips apt.conf.d and keeps the lists in a
folder of their own (`Dir::Etc::Parts "/nonexistent"; Dir::State::Lists "<dir>/lists";
Dir::Cache "<dir>/cache"; Acquire::Languages { "en"; };`) for both commands. The rebuild reads
whatever `apt-get indextargets` lists; the same lists give a byte-identical file.

Kept: packages with a unique synopsis of at least three words and a long description of at least
120 characters that does not contain the synopsis verbatim and that no other package shares. A
hash of the package name picks the sample.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from pgsearch.evaluation import Corpus, CorpusDoc, CorpusQuery

DATA_FILE = "debian_packages.jsonl.gz"
N_DOCS = 2500
N_QUERIES = 400
_MIN_DOC_CHARS = 120
_MIN_QUERY_WORDS = 3


@functools.cache
def load() -> Corpus:
    """Documents sorted by package name; one query per package that has `query` in the file."""
    docs: list[CorpusDoc] = []
    queries: list[CorpusQuery] = []
    data = resources.files("pgsearch.evaluation").joinpath("data", DATA_FILE)
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(CorpusDoc(row["id"], row["text"], {"kind": "package"}))
            if "query" in row:
                queries.append(CorpusQuery(row["query"], row["id"]))
    return Corpus("debian", tuple(docs), tuple(queries))


def translation_files() -> list[Path]:
    """The English Translation files apt has downloaded (they hold the long descriptions)."""
    out = subprocess.run(
        ["apt-get", "indextargets", "--format", "$(FILENAME)", "Created-By: Translations"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [Path(p) for p in out.split() if p.endswith("Translation-en")]


def parse_translations(text: str) -> Iterator[tuple[str, str, str]]:
    """(package, synopsis, long description) of each deb822 stanza with a `Description-en`."""
    for stanza in text.split("\n\n"):
        package = synopsis = None
        body: list[str] = []
        in_description = False
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")):
                if in_description:
                    # Continuation lines start with a space; " ." stands for an empty line.
                    body.append("" if line.strip() == "." else line[1:])
                continue
            key, _, value = line.partition(":")
            in_description = key == "Description-en"
            if key == "Package":
                package = value.strip()
            elif in_description:
                synopsis = value.strip()
        if package and synopsis:
            yield package, synopsis, "\n".join(body).strip()


def select_sample(
    records: Iterable[tuple[str, str, str]], *, n_docs: int = N_DOCS, n_queries: int = N_QUERIES
) -> list[dict[str, str]]:
    """The deterministic sample as JSON rows: {"id", "text"} plus "query" for query packages."""
    by_name: dict[str, tuple[str, str]] = {}
    for package, synopsis, long in records:
        by_name.setdefault(package, (synopsis, long))  # the first file wins (main, then updates)
    synopses = Counter(s.casefold() for s, _ in by_name.values())
    longs = Counter(long for _, long in by_name.values())
    eligible = [
        name
        for name, (synopsis, long) in by_name.items()
        if len(long) >= _MIN_DOC_CHARS
        and len(synopsis.split()) >= _MIN_QUERY_WORDS
        and synopsis.casefold() not in long.casefold()
        and synopses[synopsis.casefold()] == 1
        and longs[long] == 1
    ]
    eligible.sort(key=lambda name: hashlib.sha256(name.encode()).hexdigest())
    sample = eligible[:n_docs]
    query_names = set(sample[:n_queries])
    rows = []
    for name in sorted(sample):
        synopsis, long = by_name[name]
        row = {"id": name, "text": long}
        if name in query_names:
            row["query"] = synopsis
        rows.append(row)
    return rows


def rebuild(target: Path, files: list[Path]) -> int:
    """Write the sample from apt's Translation files to `target`; returns the document count."""
    records: list[tuple[str, str, str]] = []
    for path in files:
        records.extend(parse_translations(path.read_text(encoding="utf-8")))
    rows = select_sample(records)
    # mtime=0 keeps the gzip bytes identical across rebuilds of the same lists.
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate the shipped data file")
    parser.add_argument("files", nargs="*", type=Path, help="Translation-en files (default: apt's)")
    args = parser.parse_args()
    if not args.rebuild:
        corpus = load()
        print(f"{len(corpus.docs)} documents, {len(corpus.queries)} queries")  # noqa: T201
        return
    files = args.files or translation_files()
    if not files:
        parser.exit(1, "no Translation-en files: run apt-get update with English translations\n")
    target = Path(__file__).with_name("data") / DATA_FILE
    n = rebuild(target, files)
    print(f"wrote {n} documents to {target}")  # noqa: T201
    load.cache_clear()


if __name__ == "__main__":
    main()
