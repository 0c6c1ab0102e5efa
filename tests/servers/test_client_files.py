"""`Client.upload_files` / `AsyncClient.upload_files` against a real serve's
`POST /users/{id}/files`."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pgsearch.client import AsyncClient, Client, UnprocessableEntity
from tests.conftest import Serve


def test_upload_files(pg: Client, tmp_path: Path) -> None:
    uid = pg.create_user("uploader").id
    try:
        notes = tmp_path / "notes.md"
        notes.write_text("# Notes\n\nPostgreSQL keeps the aubergine recipes.\n")
        result = pg.upload_files(
            uid,
            [
                notes,
                ("README", b"A plain text file without a suffix about turnips.\n"),
                ("zipped.txt.gz", gzip.compress(b"Compressed text about parsnips.\n")),
                ("broken.pdf", b"%PDF-1.7 not really a pdf"),
            ],
            metadata={"team": "docs"},
        )
        assert sorted((d.filename, d.status) for d in result.documents) == [
            ("README", "created"),
            ("notes.md", "created"),
            ("zipped.txt.gz", "created"),
        ]
        assert [e.filename for e in result.errors] == ["broken.pdf"]
        assert result.errors[0].error
        hit = pg.search(uid, "parsnips", mode="keyword", k=1).results[0]
        assert hit.metadata["team"] == "docs" and hit.metadata["source"] == "zipped.txt.gz"
        again = pg.upload_files(uid, [notes], metadata={"team": "docs"})
        assert [d.status for d in again.documents] == ["unchanged"]
        with pytest.raises(UnprocessableEntity) as raised:
            pg.upload_files(uid, [notes], metadata=["not", "an", "object"])  # type: ignore[arg-type]
        assert "metadata" in raised.value.message
    finally:
        pg.delete_user(uid)


async def test_async_upload(pgsearch_serve: Serve) -> None:
    async with AsyncClient(pgsearch_serve.url, pgsearch_serve.admin_key) as pg:
        uid = (await pg.create_user("async-uploader")).id
        try:
            result = await pg.upload_files(uid, [("a.txt", b"Swedes and mangelwurzels.")])
            assert [(d.filename, d.status) for d in result.documents] == [("a.txt", "created")]
        finally:
            await pg.delete_user(uid)
