"""What the search page needs from the API: `GET /me`, highlighted results, the page itself."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pgsearch.search.highlight import START, STOP
from tests.helpers import ADMIN_KEY, bearer, make_user, unit, vec_doc


def test_me_with_auth_off(client: TestClient) -> None:
    assert client.get("/me").json() == {"auth": False, "admin": True, "user_id": None}
    # A key sent anyway changes nothing: there are no keys.
    assert client.get("/me", headers=bearer("whatever")).json()["admin"] is True


def test_me_tells_whose_key_it_is(secured: TestClient) -> None:
    admin = bearer(ADMIN_KEY)
    assert secured.get("/me", headers=admin).json() == {
        "auth": True,
        "admin": True,
        "user_id": None,
    }
    uid = secured.post("/users", json={"name": "alice"}, headers=admin).json()["id"]
    key = secured.post(f"/users/{uid}/keys", headers=admin).json()["key"]
    assert secured.get("/me", headers=bearer(key)).json() == {
        "auth": True,
        "admin": False,
        "user_id": uid,
    }
    missing = secured.get("/me")
    assert missing.status_code == 401 and "Authorization" in missing.json()["detail"]
    wrong = secured.get("/me", headers=bearer("pgs_nope"))
    assert wrong.status_code == 401 and wrong.json() == {"detail": "invalid or revoked API key"}
    assert wrong.headers["www-authenticate"].startswith("Bearer")


TEXTS = {
    "pg": "PostgreSQL is a relational database. Databases store rows in tables.",
    "cake": "Bake the cake for forty minutes, then let it cool",
    # Marker characters in a document must not pass for markers.
    "tricky": f"A {START}fake{STOP} marker beside the database word.",
}


@pytest.fixture
def corpus(client: TestClient) -> int:
    uid = make_user(client)
    docs = [vec_doc(t, unit(i), external_id=k) for i, (k, t) in enumerate(TEXTS.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    return uid


def search(client: TestClient, uid: int, **body: object) -> list[dict[str, object]]:
    r = client.post(f"/users/{uid}/search", json=body)
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def test_highlight_marks_the_matched_words(client: TestClient, corpus: int) -> None:
    hits = search(client, corpus, query="databases", mode="keyword", highlight=True)
    by_id = {h["external_id"]: h["highlight"] for h in hits}
    assert set(by_id) == {"pg", "tricky"}
    # Stemmed like keyword search: "databases" finds "database" and "Databases".
    assert by_id["pg"] == (
        f"PostgreSQL is a relational {START}database{STOP}. {START}Databases{STOP} store rows "
        "in tables"
    )
    # Short words stay (`ShortWord=0`); fragments end at a word.
    assert by_id["tricky"] == f"A fake marker beside the {START}database{STOP} word"


def test_highlight_in_every_mode_and_only_when_asked(client: TestClient, corpus: int) -> None:
    for mode in ("hybrid", "semantic"):
        hits = search(client, corpus, query="cake", mode=mode, k=3, highlight=True)
        cake = next(h for h in hits if h["external_id"] == "cake")
        assert cake["highlight"] == (
            f"Bake the {START}cake{STOP} for forty minutes, then let it cool"
        )
        # A semantic hit without the word: an excerpt, nothing marked.
        other = next(h for h in hits if h["external_id"] == "pg")
        assert START not in str(other["highlight"]) and "PostgreSQL" in str(other["highlight"])
    plain = search(client, corpus, query="cake", mode="keyword")
    assert plain[0]["highlight"] is None
    # A vector has no words to mark.
    assert search(client, corpus, vector=unit(1), highlight=True)[0]["highlight"] is None


def test_highlight_with_stop_words_and_quotes(client: TestClient, corpus: int) -> None:
    # Stop words only: nothing to mark, the excerpt still comes back.
    hits = search(client, corpus, query="the it", mode="semantic", k=1, highlight=True)
    assert START not in str(hits[0]["highlight"]) and hits[0]["highlight"]
    # Quotes and backslashes in the query are words, not tsquery syntax.
    hits = search(client, corpus, query="'cake' \\ | & ! (", mode="keyword", highlight=True)
    assert f"{START}cake{STOP}" in str(hits[0]["highlight"])


def test_highlight_excerpts_long_chunks(client: TestClient) -> None:
    uid = make_user(client)
    text = " ".join(["filler"] * 300 + ["needle"] + ["filler"] * 300)
    client.post(f"/users/{uid}/documents", json=vec_doc(text, unit(0)))
    # The excerpt is around the word the chunk holds, though it lacks the query's other word.
    (hit,) = search(client, uid, query="needle cake", mode="keyword", highlight=True)
    highlight = str(hit["highlight"])
    assert f"{START}needle{STOP}" in highlight and len(highlight) < 400


def test_the_page_is_served_with_its_policy(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "ui/"
    assert client.get("/?from=bookmark", follow_redirects=False).status_code == 307
    assert client.get("/ui", follow_redirects=False).headers["location"].endswith("/ui/")
    page = client.get("/ui/")
    assert page.status_code == 200 and "<title>pgsearch</title>" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    script = client.get("/ui/app.js")
    assert "javascript" in script.headers["content-type"]
    assert script.headers["x-content-type-options"] == "nosniff"
    assert client.get("/ui/nothing.js").status_code == 404
    # The page is not an API operation.
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith("/ui") or p == "/" for p in paths)


def test_the_page_needs_no_key_but_the_api_does(secured: TestClient) -> None:
    assert secured.get("/ui/").status_code == 200
    assert secured.get("/me").status_code == 401


def test_highlight_marks_any_of_the_words(client: TestClient, corpus: int) -> None:
    # Keyword search matches any query word, so the excerpt marks whichever a chunk holds.
    hits = search(client, corpus, query="cake databases", mode="keyword", highlight=True)
    by_id = {h["external_id"]: str(h["highlight"]) for h in hits}
    assert f"{START}cake{STOP}" in by_id["cake"]
    assert f"{START}database{STOP}" in by_id["pg"]
