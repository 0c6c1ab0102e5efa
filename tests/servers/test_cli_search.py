"""`pgsearch ingest`, `search` and `reembed` as real subprocesses on the test database."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pgsearch.config import DatabaseConfig
from tests.helpers import make_user, run_pgsearch


def cli(config: DatabaseConfig, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "DB_HOST": "",
        "DB_DATA_DIR": str(config.data_dir),
        "DB_NAME": config.DB_NAME,
        "COLUMNS": "200",
        **env,
    }
    return run_pgsearch(*args, env=full_env)


def result_rows(table: str) -> list[list[str]]:
    """The cells of each numbered row of the search results table (wrapped lines left out)."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in table.splitlines()]
    return [row for row in rows if row and row[0].isdigit()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    (root / "sub").mkdir(parents=True)
    (root / "cats.md").write_text("# Cats\n\nCats are small furry animals that purr.\n")
    (root / "sub" / "db.txt").write_text("PostgreSQL is a relational database system.\n")
    lines = [
        {
            "id": "ocean",
            "text": "The ocean is salty and full of whales.",
            "metadata": {"lang": "en"},
        },
        {"id": "bread", "text": "Bread is baked from flour, water and yeast."},
    ]
    (root / "more.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    (root / "broken.json").write_text("{not json")
    (root / "empty.txt").write_text("")
    return root


def test_create_user(pg_config: DatabaseConfig, client: TestClient) -> None:
    r = cli(pg_config, "create-user", "김철수")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "created user 1 (김철수)"
    assert client.get("/users").json() == [{"id": 1, "name": "김철수", "language": None}]
    bad = cli(pg_config, "create-user", "x" * 51)
    assert bad.returncode == 2 and "invalid name" in bad.stderr


def test_ingest_search_and_rerun(
    client: TestClient, pg_config: DatabaseConfig, corpus: Path
) -> None:
    uid = make_user(client)
    r = cli(pg_config, "ingest", str(corpus), "--user", str(uid), "-m", "team=core", "-m", "v=2")
    assert r.returncode == 1, r.stderr  # two bad files, reported, the rest stored
    assert "broken.json" in r.stderr and "empty.txt" in r.stderr
    assert "Traceback" not in r.stderr
    assert "Initializing database" not in r.stdout  # stdout is the command's own output
    assert "4 documents inserted" in r.stdout
    assert "2 files failed" in r.stdout

    docs = client.get(f"/users/{uid}/documents").json()["documents"]
    assert {d["external_id"] for d in docs} == {"cats.md", "sub/db.txt", "ocean", "bread"}
    assert all(d["metadata"]["team"] == "core" and d["metadata"]["v"] == 2 for d in docs)

    again = cli(
        pg_config, "ingest", str(corpus), "--user", str(uid), "-m", "team=core", "-m", "v=2"
    )
    assert "0 documents inserted, 0 updated, 4 unchanged" in again.stdout

    found = cli(pg_config, "search", "kitten", "--user", str(uid), "-k", "2")
    assert found.returncode == 0, found.stderr
    rows = result_rows(found.stdout)
    assert [row[0] for row in rows] == ["1", "2"], found.stdout
    assert rows[0][2] == "cats.md #0", found.stdout
    filtered = cli(pg_config, "search", "water", "--user", str(uid), "--filter", '{"lang": "en"}')
    assert "ocean" in filtered.stdout and "bread" not in filtered.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["search", "x", "--user", "1", "--filter", "{bad"], 2, "filter is not valid JSON"),
        (["search", "x", "--user", "1", "--filter", "[1]"], 2, "filter must be a JSON object"),
        (["search", "x", "--user", "1", "--mode", "fuzzy"], 2, "invalid search"),
        (["search", "x", "--user", "1", "--filter", '{"a": {"$bad": 1}}'], 2, "unknown operator"),
        (["search", "x", "--user", "999"], 1, "user 999 not found"),
        (["ingest", ".", "--user", "1", "-m", "novalue"], 2, "key=value"),
    ],
)
def test_cli_errors(pg_config: DatabaseConfig, args: list[str], code: int, message: str) -> None:
    r = cli(pg_config, *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_ingest_names_a_missing_path_and_stores_the_rest(
    client: TestClient, pg_config: DatabaseConfig, corpus: Path
) -> None:
    uid = make_user(client)
    r = cli(pg_config, "ingest", "/no/such/path", str(corpus / "cats.md"), "--user", str(uid))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "/no/such/path: no such file or folder" in r.stderr
    assert "Traceback" not in r.stderr
    assert "1 document inserted" in r.stdout and "1 file failed" in r.stdout
    docs = client.get(f"/users/{uid}/documents").json()["documents"]
    assert [d["external_id"] for d in docs] == ["cats.md"]


def test_ingest_for_an_unknown_user(pg_config: DatabaseConfig, corpus: Path) -> None:
    r = cli(pg_config, "ingest", str(corpus / "cats.md"), "--user", "999")
    assert r.returncode == 1
    assert "user 999 not found" in r.stderr and "Traceback" not in r.stderr


def test_model_change_needs_reembed(
    client: TestClient, pg_config: DatabaseConfig, corpus: Path
) -> None:
    uid = make_user(client)
    cli(pg_config, "ingest", str(corpus / "cats.md"), "--user", str(uid))
    try:
        r = cli(
            pg_config, "search", "kitten", "--user", str(uid), PGSEARCH_EMBEDDING_MODEL="wordllama"
        )
        assert r.returncode == 1
        assert "pgsearch reembed" in r.stderr and "all-MiniLM-L6-v2-int8" in r.stderr
        r = cli(pg_config, "reembed", PGSEARCH_EMBEDDING_MODEL="wordllama")
        assert r.returncode == 0, r.stderr
        assert "re-embedded 1 chunks" in r.stdout
        r = cli(
            pg_config, "search", "kitten", "--user", str(uid), PGSEARCH_EMBEDDING_MODEL="wordllama"
        )
        assert r.returncode == 0 and "cats.md" in r.stdout
    finally:
        # Back to the model the rest of the suite expects (384 dims).
        assert cli(pg_config, "reembed").returncode == 0
    assert "cats.md" in cli(pg_config, "search", "kitten", "--user", str(uid)).stdout
