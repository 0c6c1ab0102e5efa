"""Search statements are reused across filters of one shape: each reuse binds its own values."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from pgsearch.models import Document
from pgsearch.search.filters import compile_filter_params, shape
from tests.filter_cases import FILTER_CASES, FILTER_CORPUS
from tests.helpers import make_user, unit, vec_doc


def _search(client: TestClient, uid: int, spec: dict[str, Any]) -> set[str]:
    body = {"vector": unit(0), "mode": "semantic", "k": 100, "filter": spec}
    r = client.post(f"/users/{uid}/search", json=body)
    assert r.status_code == 200, r.text[:300]
    return {hit["external_id"] for hit in r.json()["results"]}


def test_every_filter_case_through_search_in_both_orders(client: TestClient) -> None:
    uid = make_user(client)
    docs = [
        vec_doc(key, unit(i), external_id=key, metadata=meta)
        for i, (key, meta) in enumerate(FILTER_CORPUS.items())
    ]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    # The second pass finds each shape's statement built for other values.
    for cases in (FILTER_CASES, list(reversed(FILTER_CASES))):
        for spec, expected in cases:
            assert _search(client, uid, spec) == expected, spec


def test_values_that_change_the_sql_change_the_shape() -> None:
    assert shape({"a": {"$exists": True}}) != shape({"a": {"$exists": False}})
    assert shape({"a": {"$gt": "2020"}}) != shape({"a": {"$gt": 2020}})
    assert shape({"a": {"x": 1}}) != shape({"a": 1})
    assert shape({"a": 1, "b": 2}) != shape({"b": 2, "a": 1})
    assert shape({"a": "x", "n": {"$lt": 3}}) == shape({"a": "y", "n": {"$lt": 9}})


def test_same_shape_same_parameter_names() -> None:
    one = compile_filter_params({"a": "x", "n": {"$lt": 3}}, Document.meta.expression)
    two = compile_filter_params({"a": "y", "n": {"$lt": 9}}, Document.meta.expression)
    assert one.params.keys() == two.params.keys()
    assert one.params != two.params
