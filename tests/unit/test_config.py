"""Settings and URL building: hostile passwords, no secrets in repr."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url

from pgsearch.config import DatabaseConfig, Settings

HOSTILE = "p@ss:w/rd#%?&= 'x\"y\\z"


def external(**kw: object) -> DatabaseConfig:
    base: dict[str, object] = {
        "DB_HOST": "db.example.org",
        "DB_PORT": 6543,
        "DB_USER": "app",
        "DB_PASSWORD": HOSTILE,
        "DB_NAME": "search",
    }
    base.update(kw)
    return DatabaseConfig(_env_file=None, **base)  # type: ignore[arg-type]


def test_url_round_trips_hostile_password() -> None:
    url = make_url(external().sync_db_url())
    assert url.password == HOSTILE
    assert (url.host, url.port, url.username, url.database) == (
        "db.example.org",
        6543,
        "app",
        "search",
    )


def test_password_never_in_repr_or_safe_url() -> None:
    cfg = external()
    assert HOSTILE not in repr(cfg)
    assert HOSTILE not in str(cfg)
    assert "p@ss" not in cfg.safe_db_url()
    assert "***" in cfg.safe_db_url()
    assert "p@ss" not in repr(cfg.db_url())


def test_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "DB_HOST=envhost\nDB_PASSWORD=from-file\nSOMETHING_UNKNOWN=1\nDEBUG=true\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("DB_HOST", raising=False)
    monkeypatch.setenv("DB_PORT", "5555")
    cfg = DatabaseConfig(_env_file=env)
    assert cfg.DB_HOST == "envhost"
    assert cfg.DB_PORT == 5555
    assert cfg.DEBUG is True
    assert cfg.DB_PASSWORD.get_secret_value() == "from-file"


def test_empty_host_means_embedded(tmp_path: Path) -> None:
    cfg = DatabaseConfig(_env_file=None, DB_HOST="  ", DB_DATA_DIR=tmp_path)
    assert cfg.embedded
    url = cfg.db_url()
    assert url.host is None
    assert url.query["host"] == str(cfg.socket_dir)
    assert len(str(cfg.socket_dir)) < 90  # unix socket paths are limited to ~107 bytes
    assert cfg.data_dir == tmp_path.resolve()


def test_sslmode_passed_through() -> None:
    assert make_url(external(DB_SSLMODE="require").sync_db_url()).query["sslmode"] == "require"


def test_bad_values_rejected() -> None:
    with pytest.raises(ValueError, match="DB_PORT"):
        external(DB_PORT=70000)
    with pytest.raises(ValueError, match="DB_SEARCH_POOL_SIZE"):
        external(DB_SEARCH_POOL_SIZE=0)


def test_short_admin_key_rejected() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(_env_file=None, admin_key="short")
    assert Settings(_env_file=None, admin_key="").admin_key is None
