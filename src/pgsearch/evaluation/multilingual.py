"""Evaluation sets in six languages besides English, and an English reference built the same way.

- `ko`, `ja`, `zh`: Debian 12 translated package descriptions (query = the translated one-line
  synopsis, document = the translated long description).
- `de`, `fr`, `es`: Debian 12 translated man pages (query = the NAME line's description,
  document = the rest of the page), among translated package descriptions as distractors.
- `en`: the English originals of those man pages, among English package descriptions.

Each set ships as `data/multilingual_<lang>.jsonl.gz` (see `data/NOTICE`);
`bench/multilingual_sets.py` documents how to rebuild them from apt.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Literal

from pgsearch.evaluation import Corpus, CorpusDoc, CorpusQuery

Language = Literal["ko", "ja", "zh", "de", "fr", "es", "en"]
LANGUAGES: tuple[Language, ...] = ("ko", "ja", "zh", "de", "fr", "es", "en")
N_DOCS = 1200
N_QUERIES = 300


def data_file(lang: str) -> str:
    """The shipped file name of `lang`'s set."""
    return f"multilingual_{lang}.jsonl.gz"


@functools.cache
def load(lang: Language) -> Corpus:
    """`lang`'s set: documents sorted by id, one query per document that has one."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    docs: list[CorpusDoc] = []
    queries: list[CorpusQuery] = []
    data = resources.files("pgsearch.evaluation").joinpath("data", data_file(lang))
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            kind = (
                "package"
                if row["id"].startswith("deb:") or lang in ("ko", "ja", "zh")
                else "manpage"
            )
            docs.append(CorpusDoc(row["id"], row["text"], {"kind": kind, "lang": lang}))
            if "query" in row:
                queries.append(CorpusQuery(row["query"], row["id"]))
    return Corpus(lang, tuple(docs), tuple(queries))
