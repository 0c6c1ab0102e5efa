"""Search statements are reused across filters of one shape: each reuse binds its own values."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.filter_cases import FILTER_CASES
from tests.helpers import filter_corpus_user, unit


def _search(client: TestClient, uid: int, spec: dict[str, Any]) -> set[str]:
    body = {"vector": unit(0), "mode": "semantic", "k": 100, "filter": spec}
    r = client.post(f"/users/{uid}/search", json=body)
    assert r.status_code == 200, r.text[:300]
    return {hit["external_id"] for hit in r.json()["results"]}


def test_every_filter_case_through_search_in_both_orders(client: TestClient) -> None:
    uid = filter_corpus_user(client)
    # The second pass finds each shape's statement built for other values.
    for cases in (FILTER_CASES, list(reversed(FILTER_CASES))):
        for spec, expected in cases:
            assert _search(client, uid, spec) == expected, spec
