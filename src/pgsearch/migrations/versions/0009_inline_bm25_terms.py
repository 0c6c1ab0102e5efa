"""bm25_terms inlined into the statements that call it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

PostgreSQL inlines a SQL set-returning function into the calling query only when it is not
STRICT; otherwise every call runs through the function executor. Keyword search calls
`bm25_terms` once per chunk it scores exactly, so that overhead was paid hundreds of times
per query. `unnest(NULL)` returns no rows, so a NULL argument still gives no terms.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER FUNCTION bm25_terms(tsvector) CALLED ON NULL INPUT")


def downgrade() -> None:
    op.execute("ALTER FUNCTION bm25_terms(tsvector) STRICT")
