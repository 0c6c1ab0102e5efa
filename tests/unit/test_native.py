"""Building pgsearch_bm25: into the folders pg_config names, once per source, with errors that
say what is missing (no database: a stand-in pg_config points at temp folders)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pgsearch import native
from pgsearch.embedded import bin_path
from pgsearch.errors import NativeBuildError


def fake_pg_config(tmp_path: Path, includedir: Path) -> Path:
    """A pg_config that names temp folders for libraries and extensions."""
    (tmp_path / "lib").mkdir(parents=True)
    (tmp_path / "share" / "extension").mkdir(parents=True)
    script = tmp_path / "pg_config"
    script.write_text(
        f"#!/bin/sh\necho {tmp_path / 'lib'}\necho {tmp_path / 'share'}\necho {includedir}\n"
    )
    script.chmod(0o755)
    return script


def real_includedir() -> Path:
    out = subprocess.run(
        [str(bin_path() / "pg_config"), "--includedir-server"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def test_build_installs_the_library_and_the_extension_files_once(tmp_path: Path) -> None:
    pg_config = fake_pg_config(tmp_path, real_includedir())
    library = native.build(pg_config)
    assert library == tmp_path / "lib" / "pgsearch_bm25.so"
    assert b"bm25_top_docs" in library.read_bytes()
    extension = tmp_path / "share" / "extension"
    assert {p.name for p in extension.iterdir()} == {
        "pgsearch_bm25.control",
        "pgsearch_bm25--1.0.sql",
        "pgsearch_bm25--1.0--1.1.sql",
        "pgsearch_bm25--1.1--1.2.sql",
        "pgsearch_bm25.sha256",
    }
    built = library.stat().st_mtime_ns
    assert native.build(pg_config) == library
    assert library.stat().st_mtime_ns == built  # the same source is not built again


def test_build_errors_say_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NativeBuildError, match="cannot run"):
        native.build(tmp_path / "no-such-pg_config")
    without_headers = fake_pg_config(tmp_path / "a", tmp_path / "nowhere")
    with pytest.raises(NativeBuildError, match="no PostgreSQL server headers"):
        native.build(without_headers)
    pg_config = fake_pg_config(tmp_path / "b", real_includedir())
    monkeypatch.setenv("CC", "false")
    with pytest.raises(NativeBuildError, match="false failed"):
        native.build(pg_config)
    assert not list((tmp_path / "b" / "lib").iterdir())  # nothing half-installed
    assert not native.try_build(pg_config)  # the server starts anyway, with the SQL form


def test_a_compiler_that_cannot_run_is_a_build_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CC naming no program is a NativeBuildError (the server then starts with the SQL form),
    not an OSError out of the embedded server's start."""
    pg_config = fake_pg_config(tmp_path, real_includedir())
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(NativeBuildError, match="no-such-cc"):
        native.build(pg_config)
    assert not native.try_build(pg_config)


def test_cc_may_hold_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in make, CC may be a command with arguments ("ccache gcc", "gcc -m64")."""
    pg_config = fake_pg_config(tmp_path, real_includedir())
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc is not None
    monkeypatch.setenv("CC", f"{cc} -g")
    assert native.build(pg_config).exists()


def test_a_missing_extension_file_is_installed_again(tmp_path: Path) -> None:
    """The stamp alone does not vouch for the install: a control file lost since is put back."""
    pg_config = fake_pg_config(tmp_path, real_includedir())
    native.build(pg_config)
    control = tmp_path / "share" / "extension" / "pgsearch_bm25.control"
    control.unlink()
    native.build(pg_config)
    assert control.exists()


def test_missing_extension_files_are_a_build_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install that lost one of the extension's files starts with the SQL form, instead of
    an OSError out of the embedded server's start."""
    pg_config = fake_pg_config(tmp_path, real_includedir())
    monkeypatch.setattr(native, "_SHARED", (*native._SHARED, tmp_path / "gone.sql"))
    with pytest.raises(NativeBuildError, match="gone.sql"):
        native.build(pg_config)
    assert not native.try_build(pg_config)
