"""Build the multilingual evaluation sets that ship in `pgsearch/evaluation/data/`.

    uv run python -m bench.multilingual_sets --lists <apt lists> --man-root <dir>

Each set has one relevant document per query and is written as `multilingual_<lang>.jsonl.gz`
(rows {"id", "text"} plus "query" on documents that answer one):
- **ko, ja, zh**: Debian 12 translated package descriptions. Query = the translated synopsis,
  document = the translated long description, id = the package name.
- **de, fr, es**: Debian 12's translated man pages (manpages-de, -fr, -es). Query = the NAME
  line's description ("Verzeichnisinhalte auflisten"), document = the rest of the page, id =
  "<name>.<section>". Translated package descriptions of the same language fill the corpus up
  to N_DOCS as distractors (id "deb:<package>"), since manpages-es has only ~300 pages.
- **en** (the reference): the English originals of the same man pages, as installed under
  `--english-man-root`, filled with English package descriptions the same way.

Kept: documents of at least 120 characters (cut to MAX_DOC_CHARS at a paragraph break, so one
page is a few chunks, not a hundred), whose text no other document shares, answering a query
that no other document has, that is not found verbatim in the document (case-folded), and has at
least three words (ja, zh: eight characters); ko/ja/zh descriptions must be written mostly in
their script (untranslated English ones are dropped). A hash of the id picks the sample, so the
same inputs give a byte-identical file.

Inputs (Debian 12 "bookworm"; Docker images switch translations off in apt.conf.d, so a private
apt configuration is used):

    mkdir -p build/apt/lists/partial build/apt/cache/archives/partial
    cat > build/apt/apt.conf <<EOF
    Dir::Etc::Parts "/nonexistent"; Dir::State::Lists "$PWD/build/apt/lists";
    Dir::Cache "$PWD/build/apt/cache";
    Acquire::Languages { "ko"; "ja"; "zh_CN"; "de"; "fr"; "es"; "en"; };
    EOF
    APT_CONFIG=build/apt/apt.conf apt-get update
    (cd build && APT_CONFIG=apt/apt.conf apt-get download manpages-de manpages-fr manpages-es \
        && for f in manpages-*.deb; do dpkg-deb -x "$f" root; done)
    uv run python -m bench.multilingual_sets --lists build/apt/lists --man-root build/root

`--man-root` is the folder holding `usr/share/man/<lang>/`; `apt-get install manpages-de
manpages-fr manpages-es` and `--man-root /` work too (but then other packages' pages join in).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from bench.manpages import page_files, roff_to_sections
from pgsearch.evaluation import multilingual

N_DOCS = multilingual.N_DOCS
N_QUERIES = multilingual.N_QUERIES
MAX_MAN_PAGES = 700  # the rest of a de/fr/es/en corpus is package descriptions
MAX_DOC_CHARS = 3000
MIN_DOC_CHARS = 120
MIN_CJK_DOC_CHARS = 50  # Chinese and Japanese say in 50 characters what English says in 150
_CJK_SCRIPT = {"ko": ("HANGUL",), "ja": ("HIRAGANA", "KATAKANA", "CJK"), "zh": ("CJK",)}
_APT_LANG = {"ko": "ko", "ja": "ja", "zh": "zh_CN", "de": "de", "fr": "fr", "es": "es", "en": "en"}
_NAME_SPLIT = re.compile(r"\s[-\u2013\u2014]\s")


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK", "HANGUL", "HIRAGANA", "KATAKANA"))


def script_share(text: str, lang: str) -> float:
    """The share of `text`'s letters written in `lang`'s own script (ko, ja, zh)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    own = sum(unicodedata.name(ch, "").startswith(_CJK_SCRIPT[lang]) for ch in letters)
    return own / len(letters)


def unwrap(lines: list[str]) -> str:
    """Join a paragraph's wrapped lines: CJK text is wrapped mid-word, so no space there."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if out and not (_is_cjk(out[-1]) and _is_cjk(line[0])):
            out += " "
        out += line
    return out


def parse_translations(text: str, field: str) -> Iterator[tuple[str, str, str]]:
    """(package, synopsis, long description) of each deb822 stanza with `field`."""
    for stanza in text.split("\n\n"):
        package = synopsis = None
        paragraphs: list[list[str]] = [[]]
        in_description = False
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")):
                if in_description:
                    if line.strip() == ".":  # " ." stands for an empty line
                        paragraphs.append([])
                    else:
                        paragraphs[-1].append(line[1:])
                continue
            key, _, value = line.partition(":")
            in_description = key == field
            if key == "Package":
                package = value.strip()
            elif in_description:
                synopsis = value.strip()
        if package and synopsis:
            long = "\n\n".join(p for p in (unwrap(lines) for lines in paragraphs) if p)
            yield package, synopsis, long


def read_descriptions(lists: Path, lang: str) -> dict[str, tuple[str, str]]:
    """package -> (synopsis, long description) from the Translation files of `lang` in `lists`."""
    apt_lang = _APT_LANG[lang]
    suffix = "Translation-" + apt_lang.replace("_", "%5f")
    out: dict[str, tuple[str, str]] = {}
    # bookworm first, then -updates and -security: the first file wins.
    files = sorted(p for p in lists.iterdir() if p.name.endswith(suffix))
    files.sort(key=lambda p: ("-security" in p.name, "-updates" in p.name))
    for path in files:
        for package, synopsis, long in parse_translations(
            path.read_text(encoding="utf-8"), f"Description-{apt_lang}"
        ):
            out.setdefault(package, (synopsis, long))
    return out


def cut(text: str, limit: int = MAX_DOC_CHARS) -> str:
    """`text` up to the last paragraph break before `limit` (a hard cut if there is none)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    brk = head.rfind("\n\n")
    return head[:brk].rstrip() if brk > limit // 3 else head.rstrip()


def read_man_pages(man_dir: Path) -> dict[str, tuple[str, str]]:
    """ "name.section" -> (NAME line's description, rest of the page) for pages under man_dir."""
    out: dict[str, tuple[str, str]] = {}
    for name, section, path in page_files(man_dir):
        source = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        if source.lstrip().startswith(".so "):
            continue  # an alias
        # The first section is NAME, whatever its translated heading (BEZEICHNUNG, NOM, NOMBRE).
        sections = [(h, body) for h, body in roff_to_sections(source) if h]
        if not sections:
            continue
        parts = _NAME_SPLIT.split(" ".join(sections[0][1].split()), maxsplit=1)
        query = parts[1].strip() if len(parts) == 2 else ""
        text = "\n\n".join(f"{h}\n\n{body}" for h, body in sections[1:] if body.strip())
        out[f"{name}.{section}"] = (query, cut(text))
    return out


def _long_enough(query: str, lang: str) -> bool:
    return len(query) >= 8 if lang in ("ja", "zh") else len(query.split()) >= 3


def _order(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def select(
    lang: str,
    answered: dict[str, tuple[str, str]],
    fill: dict[str, tuple[str, str]] | None = None,
    *,
    max_answered: int = N_DOCS,
) -> list[dict[str, str]]:
    """The deterministic set: documents that answer a query, then distractors up to N_DOCS."""
    texts = Counter(long for _, long in [*answered.values(), *(fill or {}).values()])
    queries = Counter(q.casefold() for q, _ in answered.values())
    eligible = [
        key
        for key, (query, long) in answered.items()
        if len(long) >= (MIN_CJK_DOC_CHARS if lang in ("ja", "zh") else MIN_DOC_CHARS)
        and texts[long] == 1
        and queries[query.casefold()] == 1
        and _long_enough(query, lang)
        and query.casefold() not in long.casefold()
        and (
            lang not in _CJK_SCRIPT
            or min(script_share(query, lang), script_share(long, lang)) > 0.5
        )
    ]
    eligible.sort(key=_order)
    chosen = eligible[:max_answered]
    query_ids = set(chosen[:N_QUERIES])
    rows = [
        {"id": k, "text": answered[k][1]} | ({"query": answered[k][0]} if k in query_ids else {})
        for k in chosen
    ]
    if fill is not None:
        distractors = sorted(
            (k for k, (_, long) in fill.items() if len(long) >= MIN_DOC_CHARS and texts[long] == 1),
            key=_order,
        )
        rows += [
            {"id": f"deb:{k}", "text": cut(fill[k][1])} for k in distractors[: N_DOCS - len(rows)]
        ]
    return sorted(rows, key=lambda r: r["id"])


def write(target: Path, rows: Iterable[dict[str, str]]) -> None:
    """Write JSON lines; mtime=0 keeps the gzip bytes identical across rebuilds."""
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=Path, required=True, help="apt lists with Translation-*")
    parser.add_argument("--man-root", type=Path, required=True, help="holds usr/share/man/<lang>/")
    parser.add_argument("--english-man-root", type=Path, default=Path("/"))
    parser.add_argument("--lang", choices=multilingual.LANGUAGES, action="append")
    args = parser.parse_args()
    data_dir = Path(multilingual.__file__).with_name("data")
    translated_pages: set[str] = set()
    for lang in args.lang or multilingual.LANGUAGES:
        if lang in _CJK_SCRIPT:
            rows = select(lang, read_descriptions(args.lists, lang))
        else:
            root = args.english_man_root if lang == "en" else args.man_root
            man_dir = root / "usr/share/man" / ("" if lang == "en" else lang)
            pages = read_man_pages(man_dir)
            if lang == "en":  # the originals of the translated pages only
                for other in ("de", "fr", "es"):
                    translated_pages |= set(read_man_pages(args.man_root / "usr/share/man" / other))
                pages = {k: v for k, v in pages.items() if k in translated_pages}
            fill = read_descriptions(args.lists, lang)
            rows = select(lang, pages, fill, max_answered=MAX_MAN_PAGES)
        target = data_dir / multilingual.data_file(lang)
        write(target, rows)
        n_queries = sum("query" in r for r in rows)
        print(f"{lang}: {len(rows)} documents, {n_queries} queries -> {target.name}")  # noqa: T201


if __name__ == "__main__":
    main()
