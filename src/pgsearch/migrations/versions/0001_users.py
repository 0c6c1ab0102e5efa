"""users table (adopts one made by the textbook's Base.metadata.create_all)

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table("users"):
        # Made by create_all (id SERIAL PRIMARY KEY, name VARCHAR(50)): same shape, keep its rows.
        columns = {c["name"] for c in sa.inspect(bind).get_columns("users")}
        missing = {"id", "name"} - columns
        if missing:
            raise RuntimeError(f"existing table 'users' lacks column(s) {sorted(missing)}")
        return
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )


def downgrade() -> None:
    op.drop_table("users")
