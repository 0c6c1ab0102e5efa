"""The `pgsearch` CLI in process: commands that need no database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pgsearch.cli import app

HOSTILE = "p@ss:w/rd#%?&="


def test_db_url_hides_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "db.example.org")
    monkeypatch.setenv("DB_PASSWORD", HOSTILE)
    from pgsearch.config import get_db_config

    get_db_config.cache_clear()
    try:
        hidden = CliRunner().invoke(app, ["db-url"])
        assert hidden.exit_code == 0
        assert hidden.output.count("\n") == 1  # one line, even when long and piped
        assert "p@ss" not in hidden.output and "***" in hidden.output
        shown = CliRunner().invoke(app, ["db-url", "--show-password"])
        assert "p%40ss%3Aw%2Frd%23%25%3F%26%3D" in shown.output
    finally:
        get_db_config.cache_clear()


def test_reanalyze_refuses_an_unknown_language() -> None:
    result = CliRunner().invoke(app, ["reanalyze", "--language", "xx"])
    assert result.exit_code == 1
    assert "unknown language 'xx'" in result.output and "Traceback" not in result.output
