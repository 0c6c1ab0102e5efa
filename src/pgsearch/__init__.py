"""pgsearch: self-hosted semantic + keyword search on PostgreSQL and pgvector."""

__version__ = "0.1.0"
