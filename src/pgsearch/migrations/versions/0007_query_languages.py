"""queries read by the languages of the user's documents: count them by index; no user_analyzers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Which analyzers read a query now follows how many of the user's documents are in each language
(pgsearch/analysis/query.py), counted from an index on documents; `user_analyzers` (every
analyzer a user ever had a chunk made with) is no longer read.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from pgsearch.analysis.languages import ANALYZERS

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_documents_user_id_language", "documents", ["user_id", "language"])
    op.drop_table("user_analyzers")


def downgrade() -> None:
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
    # Every analyzer a user's documents were made with, from their languages.
    analyzers = [
        {"language": code, "analyzer": a.name, "config": a.config} for code, a in ANALYZERS.items()
    ]
    op.get_bind().execute(
        sa.text(
            "INSERT INTO user_analyzers (user_id, analyzer, config)"
            " SELECT DISTINCT d.user_id, a.analyzer, a.config::regconfig FROM documents d"
            " JOIN jsonb_to_recordset(CAST(:analyzers AS jsonb))"
            " AS a(language text, analyzer text, config text) ON a.language = d.language"
        ),
        {"analyzers": json.dumps(analyzers)},
    )
    op.drop_index("ix_documents_user_id_language", table_name="documents")
