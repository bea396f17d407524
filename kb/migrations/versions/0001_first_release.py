"""the first release's schema

Revision 0001: records, their regions and revisions, and accounts, as the first release made
them (it kept no revision; such a database is stamped 0001 before it is upgraded).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("id", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
    )
    op.create_index("ix_records_id", "records", ["id"], unique=True)
    op.create_index("ix_records_kind", "records", ["kind"])
    op.create_index("ix_records_state", "records", ["state"])
    op.create_table(
        "record_regions",
        sa.Column("record_pk", sa.Integer(), sa.ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(13), primary_key=True),
    )
    op.create_index("ix_record_regions_code", "record_regions", ["code"])
    op.create_table(
        "revisions",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("record_pk", sa.Integer(), sa.ForeignKey("records.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.UniqueConstraint("record_pk", "version"),
    )
    op.create_index("ix_revisions_record_pk", "revisions", ["record_pk"])
    op.create_table(
        "users",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_users_token_hash", "users", ["token_hash"])


def downgrade() -> None:
    for table in ("users", "revisions", "record_regions", "records"):
        op.drop_table(table)
