"""`POST /users/{user_id}/files`: multipart uploads through the ingest readers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig
from tests.fixture_files import gz, make_docx, make_pdf
from tests.helpers import make_user

FileParts = list[tuple[str, tuple[str, bytes, str]]]


def parts(**files: bytes) -> FileParts:
    return [("files", (name, data, "application/octet-stream")) for name, data in files.items()]


def named(*pairs: tuple[str, bytes]) -> FileParts:
    return [("files", (name, data, "application/octet-stream")) for name, data in pairs]


def upload(
    client: TestClient, uid: int, files: FileParts, metadata: Any = None, **kwargs: Any
) -> dict[str, Any]:
    data = {} if metadata is None else {"metadata": json.dumps(metadata)}
    r = client.post(f"/users/{uid}/files", files=files, data=data, **kwargs)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def stored(client: TestClient, uid: int) -> dict[str, dict[str, Any]]:
    """external_id → document detail (with text)."""
    docs = client.get(f"/users/{uid}/documents").json()["documents"]
    return {d["external_id"]: client.get(f"/users/{uid}/documents/{d['id']}").json() for d in docs}


def test_upload_several_files_one_bad(client: TestClient) -> None:
    uid = make_user(client)
    files = named(
        ("report.pdf", make_pdf(["Revenue grew in the north"], title="Report")),
        ("locked.pdf", make_pdf(["secret"], password="pw")),
        ("notes.docx", make_docx(title="Notes", paragraphs=["Meeting on Monday."])),
        ("README", b"Plain readme without a suffix.\n"),
        ("changelog.Debian.gz", gz("pkg (1.0) unstable; urgency=low\n\n  * Initial release.\n")),
        ("logo.png", b"\x89PNG\r\n"),
        ("blob", b"\x00\x01\x02"),
    )
    body = upload(client, uid, files, metadata={"team": "docs", "year": 2024})
    assert [(d["filename"], d["status"]) for d in body["documents"]] == [
        ("report.pdf", "created"),
        ("notes.docx", "created"),
        ("README", "created"),
        ("changelog.Debian.gz", "created"),
    ]
    assert all(d["chunks"] >= 1 and d["id"] >= 1 for d in body["documents"])
    assert body["errors"] == [
        {"filename": "locked.pdf", "error": "encrypted PDF: a password is needed to read it"},
        {
            "filename": "logo.png",
            "error": "unsupported file type '.png' (supported: .docx, .htm, .html, .json, .jsonl, "
            ".markdown, .md, .ndjson, .pdf, .rst, .txt, their .gz, and text files without a "
            "known suffix)",
        },
        {"filename": "blob", "error": "binary file (NUL bytes), and no reader for its name"},
    ]
    docs = stored(client, uid)
    assert set(docs) == {"report.pdf", "notes.docx", "README", "changelog.Debian.gz"}
    assert docs["report.pdf"]["text"] == "Revenue grew in the north"
    assert docs["report.pdf"]["metadata"] == {
        "source": "report.pdf",
        "format": "pdf",
        "title": "Report",
        "pages": 1,
        "team": "docs",
        "year": 2024,
    }
    assert docs["notes.docx"]["metadata"]["format"] == "docx"
    assert docs["README"]["metadata"]["format"] == "txt"
    assert docs["changelog.Debian.gz"]["text"].startswith("pkg (1.0) unstable")
    # Uploaded documents are found like any other.
    hits = client.post(
        f"/users/{uid}/search", json={"query": "revenue north", "mode": "keyword"}
    ).json()["results"]
    assert hits[0]["external_id"] == "report.pdf"


def test_reupload_replaces_by_filename(client: TestClient) -> None:
    uid = make_user(client)
    first = upload(client, uid, parts(**{"a.md": b"# A\n\nfirst version"}))["documents"][0]
    same = upload(client, uid, parts(**{"a.md": b"# A\n\nfirst version"}))["documents"][0]
    changed = upload(client, uid, parts(**{"a.md": b"# A\n\nsecond version"}))["documents"][0]
    assert (first["status"], same["status"], changed["status"]) == (
        "created",
        "unchanged",
        "replaced",
    )
    assert first["id"] == same["id"] == changed["id"]
    retagged = upload(client, uid, parts(**{"a.md": b"# A\n\nsecond version"}), {"v": 2})
    assert retagged["documents"][0]["status"] == "replaced"
    doc = stored(client, uid)["a.md"]
    assert doc["text"] == "# A\n\nsecond version" and doc["metadata"]["v"] == 2


def test_json_records_and_store_errors(client: TestClient) -> None:
    uid = make_user(client)
    records = "\n".join(json.dumps({"id": f"r{i}", "text": f"record {i}"}) for i in range(3))
    huge = ("word " * 50 + "\n\n") * 20_000  # more chunks than a document may have
    body = upload(
        client,
        uid,
        named(
            ("r.jsonl", records.encode()),
            ("bad.json", b"{not json"),
            ("huge.txt", huge.encode()),
            ("ok.txt", b"fine"),
            ("ok.txt", b"again"),
        ),
    )
    assert [(d["filename"], d["status"]) for d in body["documents"]] == [
        ("r.jsonl", "created"),
        ("r.jsonl", "created"),
        ("r.jsonl", "created"),
        ("ok.txt", "created"),
    ]
    errors = {e["filename"]: e["error"] for e in body["errors"]}
    assert errors["bad.json"].startswith("line 1: invalid JSON")
    assert errors["huge.txt"] == "document: text: String should have at most 1000000 characters"
    assert body["errors"][-1] == {
        "filename": "ok.txt",
        "error": "the same file name appears twice in the upload",
    }
    assert set(stored(client, uid)) == {"r0", "r1", "r2", "ok.txt"}

    # The same id in two files fails the batch; stored file by file, the second replaces.
    twice = upload(
        client,
        uid,
        named(
            ("x.json", b'{"id": "r1", "text": "from x"}'), ("y.json", b'{"id": "r1", "text": "y"}')
        ),
    )
    assert [(d["filename"], d["status"]) for d in twice["documents"]] == [
        ("x.json", "replaced"),
        ("y.json", "replaced"),
    ]
    assert twice["errors"] == []
    assert stored(client, uid)["r1"]["text"] == "y"


@pytest.fixture
def limited(pg_config: DatabaseConfig, settings_env: Callable[..., None]) -> Iterator[TestClient]:
    settings_env(PGSEARCH_MAX_BODY_BYTES="65536", PGSEARCH_MAX_FILE_BYTES="4096")
    with TestClient(create_app()) as c:
        yield c


def test_file_and_body_limits(limited: TestClient) -> None:
    uid = make_user(limited)
    body = upload(
        limited,
        uid,
        named(("big.txt", b"x" * 5000), ("bomb.txt.gz", gz(b"y" * 50_000)), ("ok.txt", b"ok")),
    )
    assert [d["filename"] for d in body["documents"]] == ["ok.txt"]
    assert body["errors"] == [
        {"filename": "big.txt", "error": "file is 4.9 KB, larger than the 4 KB limit"},
        {"filename": "bomb.txt.gz", "error": "unpacks to more than the 4 KB limit (gzip bomb?)"},
    ]
    r = limited.post(f"/users/{uid}/files", files=parts(**{"huge.txt": b"z" * 70_000}))
    assert r.status_code == 413 and "PGSEARCH_MAX_BODY_BYTES" in r.json()["detail"]
    assert set(stored(limited, uid)) == {"ok.txt"}


def test_malformed_requests_are_422(client: TestClient) -> None:
    uid = make_user(client)
    url = f"/users/{uid}/files"
    one = parts(**{"a.txt": b"text"})
    # No files at all, or a `files` field that is not a file.
    assert client.post(url, data={"metadata": "{}"}).status_code == 422
    assert client.post(url, data={"files": "just a string"}).status_code == 422
    assert client.post(url, json={"files": []}).status_code == 422
    for bad, message in [
        ("{not json", "metadata is not valid JSON"),
        ("[1, 2]", "metadata must be a JSON object"),
        ('{"x": NaN}', "metadata is not valid JSON"),
        (json.dumps({"big": "x" * 70_000}), "metadata is larger than 64 KiB"),
    ]:
        r = client.post(url, files=one, data={"metadata": bad})
        assert r.status_code == 422 and r.json()["detail"].startswith(message), (bad, r.text)
    assert client.post(f"/users/{uid + 1}/files", files=one).status_code == 404
    assert client.post(f"/users/{uid}/files?x=1", files=one).status_code == 422
    assert client.get(f"/users/{uid}/documents").json()["documents"] == []


def test_upload_needs_the_users_key(
    pg_config: DatabaseConfig, settings_env: Callable[..., None]
) -> None:
    admin_key = "admin-key-0123456789-abcdef"
    settings_env(PGSEARCH_ADMIN_KEY=admin_key)
    with TestClient(create_app()) as c:
        admin = {"Authorization": f"Bearer {admin_key}"}
        alice = c.post("/users", json={"name": "alice"}, headers=admin).json()["id"]
        bob = c.post("/users", json={"name": "bob"}, headers=admin).json()["id"]
        key = c.post(f"/users/{alice}/keys", json={"name": "k"}, headers=admin).json()["key"]
        alice_h = {"Authorization": f"Bearer {key}"}
        one = parts(**{"a.txt": b"text"})
        assert c.post(f"/users/{alice}/files", files=one).status_code == 401
        assert c.post(f"/users/{bob}/files", files=one, headers=alice_h).status_code == 404
        r = c.post(f"/users/{alice}/files", files=one, headers=alice_h)
        assert r.status_code == 200 and r.json()["documents"][0]["status"] == "created"
        assert c.post(f"/users/{bob}/files", files=one, headers=admin).status_code == 200
