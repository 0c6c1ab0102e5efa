"""languages: chunks' tsv made at ingest by the document's analyzer; document, user languages

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Existing chunks keep their `tsv` (the English analysis), so their BM25 postings stay valid;
existing documents are recorded as English, and every user with chunks as using the English
analyzer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A chunk inserted without a tsv (a raw COPY, older code) gets today's English analysis. The
# WHEN clause is checked without calling the function: rows that have one pay nothing.
TSV_DEFAULT = """
CREATE FUNCTION chunks_tsv_english() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.tsv := to_tsvector('english', NEW.text);
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.Text(), nullable=True))
    op.add_column(
        "documents",
        sa.Column("language", sa.Text(), server_default="en", nullable=False),
    )
    op.create_table(
        "user_analyzers",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("analyzer", sa.Text(), nullable=False),
        sa.Column("config", postgresql.REGCONFIG(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_analyzers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "analyzer", name=op.f("pk_user_analyzers")),
    )
    op.execute(
        "INSERT INTO user_analyzers (user_id, analyzer, config)"
        " SELECT user_id, 'english', 'english' FROM bm25_stats"
    )
    # A plain column from now on, its values kept (no rewrite).
    op.execute("ALTER TABLE chunks ALTER COLUMN tsv DROP EXPRESSION")
    op.execute(TSV_DEFAULT)
    op.execute(
        "CREATE TRIGGER chunks_tsv_default BEFORE INSERT ON chunks FOR EACH ROW"
        " WHEN (NEW.tsv IS NULL) EXECUTE FUNCTION chunks_tsv_english()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER chunks_tsv_default ON chunks")
    op.execute("DROP FUNCTION chunks_tsv_english()")
    # Chunks analysed otherwise than `tsv` will be again: deleted and inserted anew once the
    # column is generated, so that the BM25 triggers re-make their postings.
    op.execute(
        "CREATE TEMPORARY TABLE chunks_reanalysed AS"
        " SELECT id, document_id, user_id, chunk_index, text, embedding FROM chunks"
        " WHERE tsv IS DISTINCT FROM to_tsvector('english', text)"
    )
    op.execute("DELETE FROM chunks WHERE id IN (SELECT id FROM chunks_reanalysed)")
    op.drop_column("chunks", "tsv")
    op.add_column(
        "chunks",
        sa.Column(
            "tsv",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english', text)", persisted=True),
            nullable=False,
        ),
    )
    op.execute(
        "INSERT INTO chunks (id, document_id, user_id, chunk_index, text, embedding)"
        " OVERRIDING SYSTEM VALUE"
        " SELECT id, document_id, user_id, chunk_index, text, embedding FROM chunks_reanalysed"
    )
    op.execute("DROP TABLE chunks_reanalysed")
    op.drop_table("user_analyzers")
    op.drop_column("documents", "language")
    op.drop_column("users", "language")
