"""each chunk's BM25 impacts as one sparse vector, to score keyword candidates in one read

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Keyword search chooses a few hundred candidate chunks from the top postings of each query term.
Scoring them exactly from their `tsv` cost most of a query; scoring them from stored impacts
is one inner product per chunk (`terms <#> query`), after which only the best few are scored
exactly (search/bm25.py). The vectors are written by the same triggers, in the same
transaction, as the postings they repeat.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import SPARSEVEC

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A term's coordinate: 29 bits of its hash (sparsevec allows 10^9 dimensions). Two terms of
# one chunk sharing a coordinate add up, which only raises a score used as an upper bound.
BM25_DIM = """
CREATE FUNCTION bm25_dim(term bigint) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT (term & 536870911)::integer + 1 $$
"""

# The one place where (term, weight) pairs become a sparse vector: chunks' impacts (triggers,
# backfill, refresh) and a query's IDF weights.
BM25_SPARSEVEC = """
CREATE FUNCTION bm25_sparsevec(terms bigint[], weights real[]) RETURNS sparsevec
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT ('{' || coalesce(string_agg(dim || ':' || weight, ',' ORDER BY dim), '')
            || '}/536870912')::sparsevec
    FROM (
        SELECT bm25_dim(t.term) AS dim, sum(t.weight)::real AS weight
        FROM unnest(terms, weights) AS t(term, weight)
        GROUP BY 1
    ) coordinates
$$
"""

# Each new chunk's vector, from the impacts its postings get.
VECTORS = """\
    ), vectors AS (
        INSERT INTO bm25_vectors (user_id, chunk_id, document_id, terms)
        SELECT user_id, chunk_id, document_id, bm25_sparsevec(array_agg(term), array_agg(impact))
        FROM weighted GROUP BY user_id, chunk_id, document_id
"""

# 0004's insert trigger, with VECTORS in place of the marker.
ON_INSERT_TEMPLATE = """
CREATE OR REPLACE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
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
        SELECT n.id AS chunk_id, n.user_id, n.document_id, t.term, t.tf,
               sum(t.tf) OVER (PARTITION BY n.id) AS length
        FROM new_chunks n CROSS JOIN LATERAL bm25_terms(n.tsv) t
    ), weighted AS (
        SELECT t.*,
               (t.tf * (s.k1 + 1) / (t.tf + s.k1 * (1 - s.b + s.b * t.length / s.impact_avgdl)))
                   ::real AS impact
        FROM terms t JOIN bm25_stats s ON s.user_id = t.user_id
--vectors
    ), added AS (
        INSERT INTO bm25_postings (term, chunk_id, user_id, impact, length, tf)
        SELECT term, chunk_id, user_id, impact, length, tf FROM weighted
        RETURNING user_id, term
    )
    INSERT INTO bm25_df AS d (user_id, term, df)
    SELECT user_id, term, count(*) FROM added GROUP BY user_id, term ORDER BY user_id, term
    ON CONFLICT (user_id, term) DO UPDATE SET df = d.df + excluded.df;
    RETURN NULL;
END $$
"""
ON_INSERT = ON_INSERT_TEMPLATE.replace("--vectors\n", VECTORS)

# A trigger of its own beside 0004's; writers of one user already take turns on its
# bm25_stats row, locked first by both.
ON_DELETE = """
CREATE FUNCTION bm25_vectors_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bm25_vectors v USING old_chunks o
    WHERE v.user_id = o.user_id AND v.chunk_id = o.id;
    RETURN NULL;
END $$
"""

BACKFILL = """
INSERT INTO bm25_vectors (user_id, chunk_id, document_id, terms)
SELECT p.user_id, p.chunk_id, c.document_id,
       bm25_sparsevec(array_agg(p.term), array_agg(p.impact))
FROM bm25_postings p JOIN chunks c ON c.id = p.chunk_id
GROUP BY p.user_id, p.chunk_id, c.document_id
"""


def upgrade() -> None:
    # PostgreSQL inlines a SQL set-returning function into the calling query only when it is
    # not STRICT; else every call runs through the function executor (keyword search calls
    # bm25_terms once per chunk it scores). unnest(NULL) returns no rows all the same.
    op.execute("ALTER FUNCTION bm25_terms(tsvector) CALLED ON NULL INPUT")
    op.execute(BM25_DIM)
    op.execute(BM25_SPARSEVEC)
    op.create_table(
        "bm25_vectors",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("terms", SPARSEVEC(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "chunk_id", name=op.f("pk_bm25_vectors")),
    )
    # Read a few hundred at a time by key: kept in the row, like chunks.tsv (0008).
    op.execute("ALTER TABLE bm25_vectors ALTER COLUMN terms SET STORAGE MAIN")
    op.execute(BACKFILL)
    op.execute(ON_INSERT)
    op.execute(ON_DELETE)
    op.execute(
        "CREATE TRIGGER bm25_chunks_deleted_0 AFTER DELETE ON chunks"
        " REFERENCING OLD TABLE AS old_chunks"
        " FOR EACH STATEMENT EXECUTE FUNCTION bm25_vectors_deleted()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER bm25_chunks_deleted_0 ON chunks")
    op.execute("DROP FUNCTION bm25_vectors_deleted()")
    op.execute(ON_INSERT_TEMPLATE.replace("--vectors\n", ""))  # 0004's
    op.drop_table("bm25_vectors")
    op.execute("DROP FUNCTION bm25_sparsevec(bigint[], real[])")
    op.execute("DROP FUNCTION bm25_dim(bigint)")
    op.execute("ALTER FUNCTION bm25_terms(tsvector) STRICT")
