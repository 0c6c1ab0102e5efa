"""BM25 keyword search: per-user statistics, impact-ordered postings, triggers that keep them exact

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Static on purpose: the stored impacts are made with the default k1 and b here; the service
re-computes a user's impacts when the configured ones differ (search/bm25.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The one place where text analysis becomes BM25 terms: a chunk's `tsv` (or a query's
# to_tsvector) as (hashed lexeme, term frequency). Ingest (the triggers) and queries both use it.
BM25_TERMS = """
CREATE FUNCTION bm25_terms(doc tsvector) RETURNS TABLE (term bigint, tf integer)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT hashtextextended(lexeme, 0), greatest(cardinality(positions), 1) FROM unnest(doc) $$
"""

# Statement-level triggers with transition tables: one set-based pass per statement (COPY,
# INSERT, DELETE and the cascades from documents and users). Lock order, the same for every
# writer: the users' bm25_stats rows (by user_id), then postings, then bm25_df rows (by term).
ON_INSERT = """
CREATE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bm25_stats AS s (user_id, chunks, length, k1, b, impact_avgdl)
    SELECT n.user_id, count(*), sum(l.length), 1.2, 0.75, sum(l.length)::float8 / count(*)
    FROM new_chunks n
    CROSS JOIN LATERAL (SELECT coalesce(sum(t.tf), 0) AS length FROM bm25_terms(n.tsv) t) l
    GROUP BY n.user_id
    ORDER BY n.user_id
    ON CONFLICT (user_id) DO UPDATE SET
        chunks = s.chunks + excluded.chunks,
        length = s.length + excluded.length,
        impact_avgdl = CASE WHEN s.impact_avgdl > 0 THEN s.impact_avgdl
                            ELSE excluded.impact_avgdl END;

    WITH terms AS (
        SELECT n.id AS chunk_id, n.user_id, t.term, t.tf,
               sum(t.tf) OVER (PARTITION BY n.id) AS length
        FROM new_chunks n CROSS JOIN LATERAL bm25_terms(n.tsv) t
    ), added AS (
        INSERT INTO bm25_postings (term, chunk_id, user_id, impact, length, tf)
        SELECT t.term, t.chunk_id, t.user_id,
               t.tf * (s.k1 + 1) / (t.tf + s.k1 * (1 - s.b + s.b * t.length / s.impact_avgdl)),
               t.length, t.tf
        FROM terms t JOIN bm25_stats s ON s.user_id = t.user_id
        RETURNING user_id, term
    )
    INSERT INTO bm25_df AS d (user_id, term, df)
    SELECT user_id, term, count(*) FROM added GROUP BY user_id, term ORDER BY user_id, term
    ON CONFLICT (user_id, term) DO UPDATE SET df = d.df + excluded.df;
    RETURN NULL;
END $$
"""

ON_DELETE = """
CREATE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zero_users integer[];
    zero_terms bigint[];
    empty_users integer[];
BEGIN
    PERFORM 1 FROM bm25_stats
    WHERE user_id IN (SELECT DISTINCT user_id FROM old_chunks)
    ORDER BY user_id FOR UPDATE;

    WITH gone AS (
        DELETE FROM bm25_postings p USING old_chunks o
        WHERE p.chunk_id = o.id
        RETURNING p.user_id, p.term, p.tf
    ), df AS (
        UPDATE bm25_df d SET df = d.df - g.n
        FROM (SELECT user_id, term, count(*) AS n FROM gone GROUP BY user_id, term) g
        WHERE d.user_id = g.user_id AND d.term = g.term
        RETURNING d.user_id, d.term, d.df
    ), stats AS (
        UPDATE bm25_stats s SET chunks = s.chunks - c.n, length = s.length - coalesce(l.length, 0)
        FROM (SELECT user_id, count(*) AS n FROM old_chunks GROUP BY user_id) c
        LEFT JOIN (SELECT user_id, sum(tf) AS length FROM gone GROUP BY user_id) l
            USING (user_id)
        WHERE s.user_id = c.user_id
        RETURNING s.user_id, s.chunks
    )
    SELECT (SELECT array_agg(user_id) FROM df WHERE df.df <= 0),
           (SELECT array_agg(term) FROM df WHERE df.df <= 0),
           (SELECT array_agg(user_id) FROM stats WHERE stats.chunks <= 0)
    INTO zero_users, zero_terms, empty_users;

    DELETE FROM bm25_df d USING unnest(zero_users, zero_terms) z(user_id, term)
    WHERE d.user_id = z.user_id AND d.term = z.term;
    DELETE FROM bm25_stats WHERE user_id = ANY(empty_users);
    RETURN NULL;
END $$
"""

# Existing chunks, with each user's own average length; indexes are built after the rows.
BACKFILL = [
    """
    INSERT INTO bm25_stats (user_id, chunks, length, k1, b, impact_avgdl)
    SELECT c.user_id, count(*), sum(l.length), 1.2, 0.75, sum(l.length)::float8 / count(*)
    FROM chunks c
    CROSS JOIN LATERAL (SELECT coalesce(sum(t.tf), 0) AS length FROM bm25_terms(c.tsv) t) l
    GROUP BY c.user_id
    """,
    """
    INSERT INTO bm25_postings (term, chunk_id, user_id, impact, length, tf)
    SELECT t.term, t.chunk_id, t.user_id,
           t.tf * (s.k1 + 1) / (t.tf + s.k1 * (1 - s.b + s.b * t.length / s.impact_avgdl)),
           t.length, t.tf
    FROM (
        SELECT c.id AS chunk_id, c.user_id, t.term, t.tf,
               sum(t.tf) OVER (PARTITION BY c.id) AS length
        FROM chunks c CROSS JOIN LATERAL bm25_terms(c.tsv) t
    ) t
    JOIN bm25_stats s ON s.user_id = t.user_id
    """,
    """
    INSERT INTO bm25_df (user_id, term, df)
    SELECT user_id, term, count(*) FROM bm25_postings GROUP BY user_id, term
    """,
]


def upgrade() -> None:
    op.create_table(
        "bm25_stats",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chunks", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("k1", sa.Double(), nullable=False),
        sa.Column("b", sa.Double(), nullable=False),
        sa.Column("impact_avgdl", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_bm25_stats")),
    )
    op.create_table(
        "bm25_df",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.BigInteger(), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "term", name=op.f("pk_bm25_df")),
    )
    op.create_table(
        "bm25_postings",
        sa.Column("term", sa.BigInteger(), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("impact", sa.REAL(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("tf", sa.SmallInteger(), nullable=False),
    )
    op.execute(BM25_TERMS)
    for statement in BACKFILL:
        op.execute(statement)
    op.create_index(
        "ix_bm25_postings_impact",
        "bm25_postings",
        ["user_id", "term", sa.text("impact DESC")],
        postgresql_include=["chunk_id", "tf", "length"],
    )
    op.create_index("ix_bm25_postings_chunk_id", "bm25_postings", ["chunk_id"])
    op.execute(ON_INSERT)
    op.execute(ON_DELETE)
    op.execute(
        "CREATE TRIGGER bm25_chunks_inserted AFTER INSERT ON chunks"
        " REFERENCING NEW TABLE AS new_chunks"
        " FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_inserted()"
    )
    op.execute(
        "CREATE TRIGGER bm25_chunks_deleted AFTER DELETE ON chunks"
        " REFERENCING OLD TABLE AS old_chunks"
        " FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_deleted()"
    )
    # Keyword search reads postings now; the full-text GIN index only cost writes.
    op.drop_index("ix_chunks_tsv", table_name="chunks")


def downgrade() -> None:
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], postgresql_using="gin")
    op.execute("DROP TRIGGER bm25_chunks_deleted ON chunks")
    op.execute("DROP TRIGGER bm25_chunks_inserted ON chunks")
    op.execute("DROP FUNCTION bm25_chunks_deleted()")
    op.execute("DROP FUNCTION bm25_chunks_inserted()")
    op.drop_table("bm25_postings")
    op.drop_table("bm25_df")
    op.drop_table("bm25_stats")
    op.execute("DROP FUNCTION bm25_terms(tsvector)")
