"""Metadata filter cases over a fixed corpus, for database-backed tests of compile_filter.

Insert FILTER_CORPUS (key -> metadata) into a JSONB column, run each filter of FILTER_CASES
through compile_filter, and compare the matching keys with the expected set.

Semantics the expectations encode (see pgsearch.search.filters):
- A scalar equals a field equal to it or an array holding it; lists/objects match exactly.
- Numbers compare numerically (2021 == 2021.0); types never mix ("10" != 10, "true" != true).
- {"f": None} matches an explicit null (or an array holding null), not a missing field.
- $ne / $nin / $not are exact negations, so they match documents missing the field.
- Ranges only see values of the same JSON type; strings compare byte-wise ("EN" < "e").
- Dotted paths walk nested objects only, not arrays of objects ("items.sku").
"""

from __future__ import annotations

from typing import Any

FILTER_CORPUS: dict[str, dict[str, Any]] = {
    "d1": {
        "title": "Intro to Postgres",
        "lang": "en",
        "year": 2021,
        "price": 10,
        "rating": 4.5,
        "published": True,
        "tags": ["db", "sql"],
        "author": {"name": "Ann", "country": "US"},
        "date": "2021-03-15",
    },
    "d2": {
        "title": "Advanced SQL",
        "lang": "en",
        "year": 2023,
        "price": 25.5,
        "rating": 3.9,
        "published": False,
        "tags": ["sql"],
        "author": {"name": "Bob", "country": "UK"},
        "date": "2023-01-02",
    },
    "d3": {
        "lang": "de",
        "year": 2020,
        "price": 0,
        "published": True,
        "tags": [],
        "author": {"name": "Cäcilie", "country": "DE", "address": {"city": "Berlin"}},
        "date": "2020-12-31T23:59:00Z",
    },
    "d4": {
        "lang": "fr",
        "year": "2022",  # a string, not a number
        "price": None,
        "published": True,
        "tags": ["db", "search", "vector"],
        "author": {"name": "Dan"},
        "date": "2022-06-01",
    },
    "d5": {
        "title": "한국어 문서",
        "lang": "ko",
        "year": 2024,
        "price": 100,
        "rating": 5,
        "tags": "sql",  # a scalar, not an array
        "author": None,
        "date": "2024-02-29",
        "draft": None,
    },
    "d6": {
        "lang": "ja",
        "year": 2019,
        "price": -5,
        "rating": 1.0,
        "published": False,
        "tags": ["search"],
        "nested": {"a": {"b": {"c": 1}}},
        "date": "2019-07-04",
    },
    "d7": {},
    "d8": {
        "lang": "en",
        "it's": "quote",
        "a.b": "dotted key",
        "tags": ["db", 1, True, None],
        "score": 1000.0,
        "items": [{"sku": "x1", "qty": 2}],
        "flags": {"beta": True},
    },
    "d9": {
        "lang": "EN",
        "year": 2021.0,
        "price": 10.0,
        "published": "true",
        "tags": ["DB"],
        "author": {"name": "ann", "country": "us"},
        "date": "2021-03-15",
    },
    "d10": {
        "lang": None,
        "year": None,
        "price": "10",
        "tags": None,
        "author": {"name": "Eve", "country": "US"},
        "coords": [1, 2],
        "meta": {"x": 1, "y": [1, 2]},
    },
}

ALL = frozenset(FILTER_CORPUS)


def _all_but(*keys: str) -> set[str]:
    return set(ALL - set(keys))


FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, set(ALL)),
    # --- equality ---
    ({"lang": "en"}, {"d1", "d2", "d8"}),
    ({"lang": {"$eq": "en"}}, {"d1", "d2", "d8"}),
    ({"year": 2021}, {"d1", "d9"}),
    ({"price": 10}, {"d1", "d9"}),
    ({"price": "10"}, {"d10"}),
    ({"score": 1000}, {"d8"}),
    ({"published": True}, {"d1", "d3", "d4"}),
    ({"published": False}, {"d2", "d6"}),
    ({"price": None}, {"d4"}),
    ({"draft": None}, {"d5"}),
    ({"author": None}, {"d5"}),
    ({"tags": "db"}, {"d1", "d4", "d8"}),
    ({"tags": "sql"}, {"d1", "d2", "d5"}),
    ({"tags": None}, {"d8", "d10"}),
    ({"tags": 1}, {"d8"}),
    ({"tags": True}, {"d8"}),
    ({"author.country": "US"}, {"d1", "d10"}),
    ({"author.name": "Cäcilie"}, {"d3"}),
    ({"author.address.city": "Berlin"}, {"d3"}),
    ({"nested.a.b.c": 1}, {"d6"}),
    ({"flags.beta": True}, {"d8"}),
    ({"title": "한국어 문서"}, {"d5"}),
    ({"it's": "quote"}, {"d8"}),
    ({"a.b": "dotted key"}, set()),  # dots always mean nesting
    ({"items.sku": "x1"}, set()),  # arrays of objects are not traversed
    ({"author": {"name": "Dan"}}, {"d4"}),  # objects match exactly...
    ({"author": {"name": "Ann"}}, set()),  # ...so extra keys do not match
    ({"coords": [1, 2]}, {"d10"}),
    ({"coords": [2, 1]}, set()),
    ({"tags": {"$eq": ["db", "sql"]}}, {"d1"}),
    ({"tags": []}, {"d3"}),
    ({"meta": {"x": 1, "y": [1, 2]}}, {"d10"}),
    # --- $ne ---
    ({"lang": {"$ne": "en"}}, _all_but("d1", "d2", "d8")),
    ({"tags": {"$ne": "sql"}}, _all_but("d1", "d2", "d5")),
    ({"price": {"$ne": 10}}, _all_but("d1", "d9")),
    ({"price": {"$ne": None}}, _all_but("d4")),
    ({"author": {"$ne": None}}, _all_but("d5")),
    ({"author.country": {"$ne": "US"}}, _all_but("d1", "d10")),
    # --- ranges over numbers ---
    ({"year": {"$gt": 2021}}, {"d2", "d5"}),
    ({"year": {"$gte": 2021}}, {"d1", "d2", "d5", "d9"}),
    ({"year": {"$lt": 2021}}, {"d3", "d6"}),
    ({"year": {"$lte": 2020}}, {"d3", "d6"}),
    ({"year": {"$gte": 2020, "$lte": 2021}}, {"d1", "d3", "d9"}),
    ({"price": {"$gte": 0, "$lt": 20}}, {"d1", "d3", "d9"}),
    ({"price": {"$lt": 0}}, {"d6"}),
    ({"price": {"$gt": 1.5}}, {"d1", "d2", "d5", "d9"}),
    ({"rating": {"$gt": 4}}, {"d1", "d5"}),
    ({"rating": {"$lte": 1}}, {"d6"}),
    ({"score": {"$gte": 1000, "$lte": 1000}}, {"d8"}),
    # --- ranges over strings ---
    ({"date": {"$gte": "2021-01-01"}}, {"d1", "d2", "d4", "d5", "d9"}),
    ({"date": {"$gte": "2020-12-31", "$lt": "2021-12-31"}}, {"d1", "d3", "d9"}),
    ({"year": {"$gt": "2000"}}, {"d4"}),
    ({"lang": {"$lt": "e"}}, {"d3", "d9"}),
    ({"author.name": {"$gt": "B", "$lt": "D"}}, {"d2", "d3"}),
    # --- $in / $nin ---
    ({"lang": {"$in": ["de", "fr"]}}, {"d3", "d4"}),
    ({"tags": {"$in": ["vector", "sql"]}}, {"d1", "d2", "d4", "d5"}),
    ({"year": {"$in": [2019, 2020, "2022"]}}, {"d3", "d4", "d6"}),
    ({"lang": {"$in": [None]}}, {"d10"}),
    ({"published": {"$in": [True, "true"]}}, {"d1", "d3", "d4", "d9"}),
    ({"author.country": {"$in": ["UK", "DE"]}}, {"d2", "d3"}),
    ({"lang": {"$nin": ["en", "EN"]}}, _all_but("d1", "d2", "d8", "d9")),
    ({"tags": {"$nin": ["db", "search"]}}, _all_but("d1", "d4", "d6", "d8")),
    ({"year": {"$nin": [2021]}}, _all_but("d1", "d9")),
    # --- $exists ---
    ({"rating": {"$exists": True}}, {"d1", "d2", "d5", "d6"}),
    ({"rating": {"$exists": False}}, _all_but("d1", "d2", "d5", "d6")),
    ({"price": {"$exists": True}}, _all_but("d7", "d8")),  # a JSON null exists
    ({"author.address": {"$exists": True}}, {"d3"}),
    ({"author.name": {"$exists": False}}, {"d5", "d6", "d7", "d8"}),
    # --- logical ---
    ({"lang": "en", "published": True}, {"d1"}),
    ({"$and": [{"lang": "en"}, {"tags": "sql"}]}, {"d1", "d2"}),
    ({"$or": [{"lang": "de"}, {"price": {"$gt": 50}}]}, {"d3", "d5"}),
    ({"$not": {"lang": "en"}}, _all_but("d1", "d2", "d8")),
    ({"$not": {"year": {"$gt": 2020}}}, _all_but("d1", "d2", "d5", "d9")),
    ({"$not": {"$not": {"lang": "en"}}}, {"d1", "d2", "d8"}),
    ({"$not": {"$or": [{"tags": "db"}, {"tags": "search"}]}}, _all_but("d1", "d4", "d6", "d8")),
    ({"$or": [{"lang": "en"}], "year": {"$exists": False}}, {"d8"}),
    (
        {
            "$or": [
                {"$and": [{"lang": "en"}, {"year": {"$gte": 2022}}]},
                {"$not": {"tags": {"$exists": True}}},
            ]
        },
        {"d2", "d7"},
    ),
    (
        {
            "$and": [
                {"$or": [{"lang": "en"}, {"lang": "EN"}]},
                {"$not": {"author.country": "US"}},
            ]
        },
        {"d2", "d8", "d9"},
    ),
]
