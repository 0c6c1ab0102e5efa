"""Settings: the textbook `DB_*` names for the database, `PGSEARCH_*` for the product."""

from __future__ import annotations

import hashlib
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import URL

SSLMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
# The built-in embedding models (pgsearch.embedding registers one backend per name).
EmbeddingModel = Literal["minilm", "wordllama", "e5-multilingual"]

# Unix socket paths are limited to ~107 bytes, so the embedded server's socket lives in a short,
# private directory under the temp dir, named after the data dir it belongs to.
_SOCKET_PREFIX = "pgsearch-"


class DatabaseConfig(BaseSettings):
    """Database settings; `DB_HOST` unset or empty means an embedded PostgreSQL."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    DB_HOST: str = Field(default="", description="PostgreSQL host; empty = embedded server")
    DB_PORT: int = Field(default=5432, ge=1, le=65535)
    DB_USER: str = Field(default="postgres")
    DB_PASSWORD: SecretStr = Field(default=SecretStr(""))
    DB_NAME: str = Field(default="pgsearch")
    DEBUG: bool = Field(default=False, description="Echo SQL statements")

    DB_DATA_DIR: Path | None = Field(default=None, description="Embedded PostgreSQL data dir")
    DB_SSLMODE: SSLMode | None = Field(default=None)
    DB_POOL_SIZE: int = Field(default=20, ge=1, le=1000)
    DB_MAX_OVERFLOW: int = Field(default=10, ge=0, le=1000)
    DB_SEARCH_POOL_SIZE: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Connections of the search route's pool per process (default: twice the "
        "CPU cores, at least 4, at most DB_POOL_SIZE)",
    )
    DB_POOL_TIMEOUT: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a connection"
    )
    DB_CONNECT_TIMEOUT: int = Field(default=5, ge=1, le=600)
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=30_000, ge=0)
    DB_PREPARED_STATEMENTS: bool = Field(
        default=True,
        description="Server-side prepared statements (psycopg prepares a statement on its "
        "fifth run on a connection: PostgreSQL then skips parsing it). Turn off behind a pooler "
        "in transaction mode (PgBouncer), where a prepared statement may be on another "
        "server connection",
    )

    @property
    def embedded(self) -> bool:
        """True when pgsearch runs its own PostgreSQL (no `DB_HOST`)."""
        return not self.DB_HOST.strip()

    @property
    def data_dir(self) -> Path:
        """Where the embedded server keeps its files (the cluster is in `<data_dir>/postgres`)."""
        if self.DB_DATA_DIR is not None:
            return self.DB_DATA_DIR.expanduser().resolve()
        return Path(platformdirs.user_data_dir("pgsearch", appauthor=False)).resolve()

    @property
    def socket_dir(self) -> Path:
        """Private unix-socket directory of the embedded server (short path, one per data dir)."""
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"{_SOCKET_PREFIX}{digest}"

    def db_url(self, *, driver: str = "postgresql+psycopg") -> URL:
        """The connection URL as an object; the password is escaped by SQLAlchemy, not by us."""
        query: dict[str, str] = {"connect_timeout": str(self.DB_CONNECT_TIMEOUT)}
        if self.embedded:
            query["host"] = str(self.socket_dir)
            return URL.create(driver, username="postgres", database=self.DB_NAME, query=query)
        if self.DB_SSLMODE:
            query["sslmode"] = self.DB_SSLMODE
        return URL.create(
            driver,
            username=self.DB_USER or None,
            password=self.DB_PASSWORD.get_secret_value() or None,
            host=self.DB_HOST.strip(),
            port=self.DB_PORT,
            database=self.DB_NAME,
            query=query,
        )

    def sync_db_url(self) -> str:
        """The URL as a string for `create_engine` (password included and escaped)."""
        return self.db_url().render_as_string(hide_password=False)

    def safe_db_url(self) -> str:
        """The URL for people and logs: password masked."""
        return self.db_url().render_as_string(hide_password=True)

    def describe_target(self) -> str:
        """Short human description of where the database is."""
        if self.embedded:
            return f"embedded PostgreSQL (data in {self.data_dir})"
        return f"PostgreSQL at {self.DB_HOST.strip()}:{self.DB_PORT}"


class Settings(BaseSettings):
    """Product settings (`PGSEARCH_*`)."""

    model_config = SettingsConfigDict(
        env_prefix="PGSEARCH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    embedding_model: EmbeddingModel = Field(default="minilm", description="Built-in embedder")
    admin_key: SecretStr | None = Field(default=None, description="Enables API-key auth")
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    # Each ingested or uploaded file, as stored and unpacked (gzip content, DOCX members).
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    @field_validator("admin_key")
    @classmethod
    def _admin_key_ok(cls, v: SecretStr | None) -> SecretStr | None:
        # Empty means "auth off" (so `PGSEARCH_ADMIN_KEY=` in a .env file disables it).
        if v is None or not v.get_secret_value():
            return None
        if len(v.get_secret_value()) < 16:
            raise ValueError("PGSEARCH_ADMIN_KEY must be at least 16 characters")
        return v

    @property
    def auth_enabled(self) -> bool:
        """Whether requests need an API key."""
        return self.admin_key is not None

    hnsw_ef_search: int = Field(default=100, ge=1, le=1000)
    # Hybrid fusion's semantic share α, between these as the best keyword match stands out
    # (search/params.py). No fixed weighting held on both evaluation corpora (README, "Fusion").
    hybrid_alpha_max: float = Field(default=0.9, ge=0, le=1)
    hybrid_alpha_min: float = Field(default=0.2, ge=0, le=1)
    # Okapi BM25 of keyword search: term-frequency saturation and length normalisation.
    bm25_k1: float = Field(default=1.2, ge=0, le=10)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    # Keyword search: always the exact BM25 top k (True), or the top postings' best k when they
    # cannot certify it (faster on large corpora; see README, Benchmarks).
    bm25_exact: bool = Field(default=True)
    # ... made exact by scoring every match only when that reads at most this many postings
    # (the query terms' document frequencies summed); above, the top postings' best k.
    bm25_exhaustive_max: int = Field(default=20_000, ge=0)
    # Read the top postings with pgsearch's C extension where the database has it (False: the
    # SQL form, same results, slower; see pgsearch.native).
    bm25_native: bool = Field(default=True)


@lru_cache
def get_db_config() -> DatabaseConfig:
    """The database settings, read once on first use."""
    return DatabaseConfig()


@lru_cache
def get_settings() -> Settings:
    """The product settings, read once on first use."""
    return Settings()
