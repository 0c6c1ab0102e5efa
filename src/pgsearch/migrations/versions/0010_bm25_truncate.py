"""BM25 statistics emptied with the chunks by TRUNCATE

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

The row triggers of 0004 keep postings and statistics exact for every INSERT, COPY and DELETE,
but TRUNCATE fires no row trigger: `TRUNCATE chunks` (or `documents ... CASCADE`) left every
user's postings, document frequencies and lengths behind, so keyword search read postings of
chunks that no longer existed and scored new chunks with a stale IDF. A statement trigger on
TRUNCATE empties them in the same transaction.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ON_TRUNCATE = """
CREATE FUNCTION bm25_chunks_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A TRUNCATE that named these tables too (as one of every table does) emptied them already.
    IF EXISTS (SELECT FROM bm25_stats) OR EXISTS (SELECT FROM bm25_postings) THEN
        TRUNCATE bm25_postings, bm25_df, bm25_stats;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(ON_TRUNCATE)
    op.execute(
        "CREATE TRIGGER bm25_chunks_truncated AFTER TRUNCATE ON chunks"
        " FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_truncated()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER bm25_chunks_truncated ON chunks")
    op.execute("DROP FUNCTION bm25_chunks_truncated()")
