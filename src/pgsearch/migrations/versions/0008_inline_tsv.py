"""keep each chunk's tsvector in its row

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Keyword search re-scores a few hundred chunks per query from their `tsv`. With the vector kept in
the row (0005), a chunk of ~800 characters no longer fit PostgreSQL's 2 kB row target, and the
toaster moved `tsv` out of line first: on 100k chunks of man pages, 76 % of them, so each
re-scored chunk cost a TOAST look-up. MAIN keeps `tsv` in the row (compressed if need be) and
lets the text, read only for the k results, go out of line instead. Rows written from now on are
stored this way; `VACUUM FULL chunks` rewrites the others.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STORAGE MAIN")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STORAGE EXTENDED")
