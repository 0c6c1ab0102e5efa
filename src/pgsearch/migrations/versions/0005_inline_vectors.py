"""keep vectors inline in chunk rows; analyze chunks sooner

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A vector beside ~800 characters of text and its tsvector pushed rows over PostgreSQL's
    # 2 kB toast threshold, and the vector went out of line: an exact scan (a small user, a
    # selective filter) then fetched every vector from the toast table. MAIN keeps it in the row
    # unless the row cannot fit a page at all. Rows written from now on are stored this way.
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN")
    # Plans depend on how many chunks each user has; after a bulk load the default (re-analyze
    # after 10 % of the table changed) left a new user planned as if it had a few rows.
    op.execute("ALTER TABLE chunks SET (autovacuum_analyze_scale_factor = 0.02)")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks RESET (autovacuum_analyze_scale_factor)")
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL")
