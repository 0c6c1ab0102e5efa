"""`pgsearch ingest` over a folder like a real one: READMEs without a suffix, gzipped docs,
PDF and DOCX, binaries and unsupported types (reported by reason, listed with --verbose)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pgsearch.config import DatabaseConfig
from tests.fixture_files import gz, make_docx, make_pdf
from tests.helpers import make_user
from tests.servers.test_cli_search import cli

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))


@pytest.fixture
def docs_folder(tmp_path: Path) -> Path:
    root = tmp_path / "doc"
    files: dict[str, bytes] = {
        "bash/README": b"Bash is the GNU shell.\n",
        "bash/README.Debian": b"Debian notes: bash is built with readline.\n",
        "bash/changelog.Debian.gz": gz("bash (5.2) unstable; urgency=low\n\n  * New upstream.\n"),
        "bash/copyright": b"Copyright: Free Software Foundation\n",
        "bash/bashbug": ELF,
        "curl/README.md.gz": gz("# curl\n\nTransfers data with URLs.\n"),
        "curl/NEWS.gz": gz("curl 8.0 released with HTTP/3.\n"),
        "curl/manual.pdf": make_pdf(["curl manual: options and protocols"]),
        "curl/guide.docx": make_docx(paragraphs=["A guide to curl for beginners."]),
        "curl/libcurl.so.4": ELF,
        "curl/core.gz": gz(ELF),
        "curl/logo.png": b"\x89PNG\r\n\x1a\n",
        "curl/icon.png": b"\x89PNG\r\n\x1a\n",
        "curl/examples.tar.gz": gz(b"ustar"),
        ".hidden/notes": b"never read",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_ingest_folder_reports_skipped_by_reason(
    client: TestClient, pg_config: DatabaseConfig, docs_folder: Path
) -> None:
    uid = make_user(client)
    r = cli(pg_config, "ingest", str(docs_folder), "--user", str(uid))
    assert r.returncode == 0, r.stderr
    assert "8 files in" in r.stdout and "8 documents inserted" in r.stdout
    assert "0 files failed" in r.stdout
    assert (
        "6 skipped: 3 binary, 2 unsupported .png, 1 unsupported .tar.gz (--verbose lists them)"
        in r.stdout
    )
    assert "bashbug" not in r.stderr  # listed only with --verbose
    docs = client.get(f"/users/{uid}/documents").json()["documents"]
    assert {d["external_id"]: d["metadata"]["format"] for d in docs} == {
        "bash/README": "txt",
        "bash/README.Debian": "txt",
        "bash/changelog.Debian.gz": "txt",
        "bash/copyright": "txt",
        "curl/README.md.gz": "md",
        "curl/NEWS.gz": "txt",
        "curl/manual.pdf": "pdf",
        "curl/guide.docx": "docx",
    }
    assert all(d["metadata"]["source"] == d["external_id"] for d in docs)

    # Again, verbose, with a file that cannot be read: listed as failed, the exit code says so.
    (docs_folder / "curl" / "locked.pdf").write_bytes(make_pdf(["secret"], password="pw"))
    r = cli(pg_config, "ingest", str(docs_folder), "--user", str(uid), "--verbose")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "0 documents inserted, 0 updated, 8 unchanged, 1 file failed" in r.stdout
    assert "6 skipped: 3 binary, 2 unsupported .png, 1 unsupported .tar.gz\n" in r.stdout
    failed = [line for line in r.stderr.splitlines() if line.startswith("failed:")]
    assert failed == [
        f"failed: {docs_folder}/curl/locked.pdf: encrypted PDF: a password is needed to read it"
    ]
    skipped = sorted(line for line in r.stderr.splitlines() if line.startswith("skipped:"))
    assert skipped == sorted(
        f"skipped: {docs_folder}/{name} ({reason})"
        for name, reason in [
            ("bash/bashbug", "binary"),
            ("curl/libcurl.so.4", "binary"),
            ("curl/core.gz", "binary"),
            ("curl/logo.png", "unsupported .png"),
            ("curl/icon.png", "unsupported .png"),
            ("curl/examples.tar.gz", "unsupported .tar.gz"),
        ]
    )


def test_ingest_named_files_and_size_limit(
    client: TestClient, pg_config: DatabaseConfig, docs_folder: Path
) -> None:
    uid = make_user(client)
    big = docs_folder / "big.txt"
    big.write_bytes(b"x" * 5000)
    r = cli(
        pg_config,
        "ingest",
        str(docs_folder / "bash" / "README"),
        str(docs_folder / "bash" / "bashbug"),
        str(big),
        "--user",
        str(uid),
        "--max-file-bytes",
        "4096",
    )
    assert r.returncode == 1
    assert "1 document inserted" in r.stdout and "2 files failed" in r.stdout
    assert "bashbug: binary file (NUL bytes)" in r.stderr
    assert "big.txt: file is 4.9 KB, larger than the 4 KB limit" in r.stderr
